"""Prompt template extraction: normalise a prompt, keep its instruction skeleton, hash it."""
