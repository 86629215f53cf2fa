"""Messages passed between the keyed stages of the detection core.

Each stage is keyed (account, token/band key, template, signature or the one
cluster key), so the in-process ``Detector`` and a partitioned stream topology
run the same stage code over the same messages.  All messages are frozen and
carry event time only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class TemplateHit:
    """An account used a template (to the template stage, keyed by ``template_id``).

    ``risk`` is the account's risk at its latest snapshot: a template spreading
    over low-risk accounts is a popular tool, not a campaign.
    """

    template_id: str
    account_id: str
    org_id: str
    ts: float
    risk: float


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """An account's coordination tokens and risk at a point in event time.

    ``new_tokens`` are the tokens not in the account's previous snapshot, so the
    token-frequency stage counts each (account, token) once per window;
    ``recount`` says the account is counted as a document again (first
    snapshot, or a frequency window has passed and all its tokens are re-sent).
    ``features`` are the few metrics that alerts cite as evidence.
    """

    account_id: str
    org_id: str
    ts: float
    first_ts: float
    n_events: int
    tokens: tuple[str, ...]
    new_tokens: tuple[str, ...]
    recount: bool
    behaviour: np.ndarray
    risk: float
    features: tuple[tuple[str, float], ...]


@dataclass(frozen=True, slots=True)
class WeightedSnapshot:
    """A snapshot with per-token surprise (nats) and its candidate keys."""

    snapshot: AccountSnapshot
    weights: dict[str, float]
    signature: np.ndarray
    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CandidatePair:
    """Two accounts of different orgs whose profiles agree beyond chance.

    ``a < b``; both sides' risk and behaviour travel along so the cluster stage
    never has to look an account up.
    """

    a: str
    b: str
    org_a: str
    org_b: str
    ts: float
    similarity: float
    evidence: float
    jaccard: float
    behaviour_similarity: float
    shared: tuple[str, ...]
    risk_a: float
    risk_b: float
    first_a: float
    first_b: float
    features_a: tuple[tuple[str, float], ...]
    features_b: tuple[tuple[str, float], ...]


@dataclass(frozen=True, slots=True)
class SignatureHit:
    """An account matched a shared signature (to the signature stage, keyed by signature)."""

    signature_id: str
    account_id: str
    org_id: str
    ts: float
    matched: tuple[str, ...]
    confidence: float
