"""Generators of labelled traffic shared by the tests and the benchmarks."""
