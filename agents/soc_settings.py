"""Settings of the SOC integration (alerts tail, signature exchange, forensic reports).

Nested in ``Settings.soc``; env prefix ``DISTILLWATCH_SOC__`` (e.g.
``DISTILLWATCH_SOC__IMPORT_MAX_BYTES=1048576``).
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class SocSettings(BaseModel):
    """Bounds on what partners may send, and what this lab says about itself when sharing."""

    lab_name: str = Field("distillwatch", min_length=1, max_length=256)
    """``source`` of the signatures this lab learns: the provenance partners see."""
    import_max_bytes: int = Field(4 * 1024 * 1024, gt=0)
    """Largest STIX bundle ``signatures import`` reads; larger files are refused unread."""
    import_max_objects: int = Field(10_000, gt=0)
    """Most STIX objects one imported bundle may hold."""
    import_allow_regex: bool = False
    """Accept prompt regular expressions from imported bundles (they run on every prompt)."""
    learn_min_pair_share: float = Field(0.5, gt=0, le=1)
    """A learned signature keeps indicators shared by at least this share of the top one's pairs."""
    learned_validity_days: float = Field(90.0, gt=0)
    """A learned signature is valid this long after the finding's last activity."""
