"""The imperative shell of DistillWatch: Faust app, agents, CLI and Kafka I/O."""
