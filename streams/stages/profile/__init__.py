"""Per-account behaviour profiles: native (``streams._native``), with their Python face."""
