"""The DistillWatch detection core: plain, deterministic Python with no I/O.

All time comes from event timestamps, so live agents, forensic replay and the
evaluation command produce the same results from the same events.
"""
