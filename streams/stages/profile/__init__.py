"""Per-account behaviour profiles: bounded state, its checkpoint bytes and the profiler."""
