"""DistillWatch's test suite; its folders mirror the source tree (streams/, agents/, infra/)."""
