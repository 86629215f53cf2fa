"""Benchmarks: each module prints one JSON object per line, each with a ``name``; see Makefile."""
