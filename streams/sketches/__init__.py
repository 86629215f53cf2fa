"""Bounded-memory sketches of the detection core: MinHash signatures and LSH band keys."""
