"""Bytes in and out: record codecs, JSON schemas, timestamps and prompt fingerprints."""
