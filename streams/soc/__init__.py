"""Formats for security operations: OCSF findings, STIX signature exchange, signature learning."""
