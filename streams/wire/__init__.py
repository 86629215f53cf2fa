"""Bytes in and out: record codecs, JSON schemas and prompt fingerprints."""
