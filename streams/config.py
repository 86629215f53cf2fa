"""Every knob of the detection core, in one frozen dataclass.

``DetectorConfig`` is embedded in the service settings (env prefix
``DISTILLWATCH_DETECTOR__``), so fields are plain ints, floats, bools, strings
and tuples.  Defaults are tuned so that low-and-slow coordinated campaigns are
named within minutes of event time while single heavy developers, SDK power
users and same-organisation fleets stay quiet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from streams.errors import ConfigError

DEFAULT_MAX_PROMPT_BYTES = 64 * 1024
DEFAULT_MAX_RECORD_BYTES = 256 * 1024
"""Default bounds of a request's prompt and of any record read (``streams.wire.codecs``)."""

WRAPPER_PREFIX = "w-"
"""Template ids of prompts with a detected instruction wrapper around a payload."""


@dataclass(frozen=True, slots=True)
class TemplateConfig:
    """Knobs of template extraction (``streams.templates``); embedded in ``DetectorConfig``.

    Changing ``num_perm``, ``seed``, ``shingle_size``, ``id_tokens`` or the slot
    rules changes every id: a deployment must keep gateway fingerprints and the
    detector on the same values.
    """

    num_perm: int = 64
    seed: int = 1
    shingle_size: int = 2
    lsh_bands: int = 16
    lsh_rows: int = 4
    id_tokens: int = 4
    plain_id_tokens: int = 16
    min_wrapper_tokens: int = 5
    wrapper_cue_share: float = 0.5
    label_max_tokens: int = 4
    max_prompt_chars: int = 16_000
    length_buckets: tuple[int, ...] = (100, 300, 1000, 3000)
    slot_quotes: bool = True
    slot_named_entities: bool = True
    slot_list_markers: bool = True
    cache_size: int = 1024
    """Prompts whose match is memoised (0: none).  Retries and fixed prompts repeat
    verbatim; memory is at most ``cache_size`` prompts of ``max_prompt_chars``."""

    def __post_init__(self) -> None:
        if self.lsh_bands * self.lsh_rows > self.num_perm:
            raise ConfigError("lsh_bands * lsh_rows must not exceed num_perm")
        if self.id_tokens < 1 or self.plain_id_tokens < 1 or self.shingle_size < 1:
            raise ConfigError("id_tokens, plain_id_tokens and shingle_size must be >= 1")
        if not 0.0 < self.wrapper_cue_share <= 1.0:
            raise ConfigError("wrapper_cue_share must be in (0, 1]")
        if list(self.length_buckets) != sorted(self.length_buckets):
            raise ConfigError("length_buckets must be ascending")
        if self.cache_size < 0:
            raise ConfigError("cache_size must be >= 0")


@dataclass(frozen=True, slots=True)
class TemplateStatsConfig:
    """Knobs of template frequency statistics (``streams.stages.template_stats``)."""

    window_seconds: float = 300.0
    allowed_lateness: float = 600.0
    """Event time a window stays open after it ends; at least the detector's admission
    lateness (``DetectorConfig.max_lateness_s``), so admitted late events still count."""
    idle_ttl_seconds: float = 6 * 3600.0
    tracked_prefixes: tuple[str, ...] = (WRAPPER_PREFIX,)
    hll_lg_k: int = 10
    digest_k: int = 50
    sample_accounts: int = 8
    min_accounts: int = 10
    min_orgs: int = 5
    score_threshold: float = 2.0
    baseline_half_life_seconds: float = 7 * 86400.0
    baseline_prior_weight: float = 1.0
    anomaly_learn_weight: float = 0.05
    ratio_quantile: float = 0.99
    min_bucket_samples: int = 50
    reemit_growth: float = 2.0
    max_templates: int = 50_000
    """Templates tracked at once (about 5.6 KiB of memory each, bench/abuse.py).  Beyond it
    the least active (fewest events in open windows plus closed windows, then longest idle)
    are forgotten first: a flood of one-off templates evicts itself while a campaign's
    template, seen again and again, stays."""
    evict_share: float = 0.1
    """Share of ``max_templates`` freed at once when it is exceeded."""

    def __post_init__(self) -> None:
        if self.window_seconds <= 0 or self.allowed_lateness < 0 or self.idle_ttl_seconds <= 0:
            raise ConfigError("window, lateness and TTL must be positive")
        if not 0.0 < self.ratio_quantile < 1.0:
            raise ConfigError("ratio_quantile must be in (0, 1)")
        if self.reemit_growth <= 1.0 or self.score_threshold <= 0:
            raise ConfigError("reemit_growth must exceed 1 and score_threshold be positive")
        if self.max_templates < 1 or not 0.0 < self.evict_share < 1.0:
            raise ConfigError("max_templates must be positive and evict_share within (0, 1)")


@dataclass(frozen=True, slots=True)
class TokenFamily:
    """One family of coordination tokens (``"<family>:<value>"``) and every knob it has."""

    name: str
    cap: int
    """Tokens of the family kept per account (bottom-k by hash)."""
    weight: float
    """Multiplier of a token's surprise (nats) in pair evidence."""
    evidence_cap: float
    """Most evidence (nats) the family adds to a pair: many shared templates are one clue."""
    keyed: bool = False
    """Uncommon tokens of the family are also candidate keys of their own."""
    identity: bool = False
    """The family ties identities (a card), not products or sign-up days: a pair needs no
    corroboration beyond it, and clusters tied by it need less mean risk."""
    infra: str | None = None
    """Name of the family in cluster alert evidence (``shared_infrastructure``); None for a
    family reported elsewhere (templates)."""


TOKEN_FAMILIES: tuple[TokenFamily, ...] = (
    # payment fingerprint: a card shared by accounts of different orgs is strong evidence
    TokenFamily("pay", 2, 1.5, 12.0, keyed=True, identity=True, infra="payment_fingerprint"),
    # exact user-agent string (an SDK build)
    TokenFamily("ua", 2, 0.8, 6.0, keyed=True, infra="user_agent"),
    # autonomous system of the client IP
    TokenFamily("asn", 4, 0.25, 4.0, infra="asn"),
    # IPv4 /24 (or IPv6 /48) prefix of the client IP
    TokenFamily("ip24", 6, 0.5, 10.0, keyed=True, infra="ip_prefix"),
    # hash of the system prompt
    TokenFamily("sys", 2, 0.8, 6.0, keyed=True, infra="system_prompt_hash"),
    # wrapper template id (a plain prompt is content, not structure)
    TokenFamily("tpl", 4, 0.6, 6.0),
    # account creation hour: creation bursts
    TokenFamily("created", 1, 1.0, 6.0, keyed=True, infra="created_hour"),
    # account creation day: a burst straddling an hour boundary
    TokenFamily("created_day", 1, 0.4, 2.0, infra="created_day"),
    # model | temperature bucket | n | response format
    TokenFamily("params", 2, 0.5, 3.0, infra="request_params"),
)
"""The token families of the coordination profile, in checkpoint order."""

TOKEN_FAMILY_NAMES: tuple[str, ...] = tuple(f.name for f in TOKEN_FAMILIES)


@dataclass(frozen=True)
class DetectorConfig:
    """Knobs of the detector core.  Times are seconds of event time."""

    templates: TemplateConfig = field(default_factory=TemplateConfig)
    """Template extraction settings (shared with ``streams.templates.extractor``)."""
    template_stats: TemplateStatsConfig = field(default_factory=TemplateStatsConfig)
    """Per-template frequency statistics (``streams.stages.template_stats``).  Its windows wait at
    least as long as admission lets events be late (``max_lateness_s``), so an admitted event
    always counts in its own window."""

    # --- input limits ----------------------------------------------------------------------
    max_prompt_bytes: int = DEFAULT_MAX_PROMPT_BYTES
    """Longest prompt (UTF-8 bytes) a request event may carry; longer ones are dead-lettered."""
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES
    """Largest record read from a topic; a bigger one is dead-lettered before it is parsed."""

    # --- admission (streams.stages.admission): event time and identity ----------------------------
    max_lateness_s: float = 600.0
    """An event older than its partition's event-time watermark by more than this is
    dead-lettered as ``late_event``; within it, it is processed at its own event time."""
    max_future_s: float = 300.0
    """An event more than this after its record's broker timestamp is dead-lettered as
    ``future_event``: one far-future timestamp would otherwise make every later event late."""
    dedup_max_ids: int = 20_000
    """(account, event id) pairs remembered per requests partition; a repeat among them is
    dead-lettered as ``duplicate_event``.  8 bytes each in memory and in checkpoints."""

    # --- memory caps: eviction under floods -------------------------------------------------
    max_accounts: int = 50_000
    """Accounts kept per account profiler (per requests partition in the service; under
    1 KiB of memory each beyond ``hot_accounts``, bench/memory.py).  Beyond it the accounts
    with the fewest events (then the longest idle) are forgotten first, so a flood of
    one-request fresh accounts evicts itself, not a campaign's busy accounts."""
    cap_evict_share: float = 0.1
    """Share of a cap freed at once when it is exceeded: eviction cost amortised over inserts."""
    hot_accounts: int = 4096
    """Accounts kept decoded per account profiler, most recently active first (about 6 KiB
    each); the others wait as their checkpoint bytes (about 0.5 KiB) and are decoded again on
    their next event (tens of us, bench/memory.py).  Memory and time only: results never
    depend on it."""

    # --- account profile -------------------------------------------------------------------
    account_ttl_s: float = 6 * 3600.0
    """An account idle this long is forgotten; it starts afresh if it comes back."""
    gap_ewma_alpha: float = 0.1
    """Smoothing of the inter-arrival gap mean/variance (regularity, rate)."""
    gap_cap_s: float = 3600.0
    """Gaps longer than this count as this long: a night off must not erase the rate history."""
    snapshot_first_after: int = 3
    """Events before an account's first snapshot: coordination tokens exist from event one."""
    snapshot_every: int = 24
    """Steady-state snapshot period in events (earlier snapshots double: 3, 6, 12, 24, 48...)."""
    snapshot_on_new_tokens: int = 2
    """Snapshot early when this many coordination tokens appeared since the last one."""
    snapshot_min_events_between: int = 2
    """No two snapshots of one account closer than this many events."""
    snapshot_max_interval_s: float = 900.0
    """Snapshot after this long since the last one if the account had any new event."""
    kmv_k: int = 12
    """Size of the bottom-k (KMV) distinct counters of IPs, ASNs, templates, API keys."""
    token_families: tuple[TokenFamily, ...] = TOKEN_FAMILIES
    """Per token family: tokens kept per account, evidence weight and cap, whether its tokens
    are candidate keys or tie identities, and its name in alerts.  Tunable, but the families
    and their order are fixed (checkpoints store them in this order)."""
    max_categories: int = 16
    """Distinct categories counted per account; beyond that they share an overflow bucket."""
    created_bucket_s: float = 3600.0
    """Width of the account-creation bucket token: bursts of sign-ups share a bucket."""
    created_wide_bucket_s: float = 86400.0
    """Width of the second, coarser creation bucket token."""
    temperature_bucket: float = 0.25
    """Temperature is bucketed to this step inside the params token."""

    # --- account risk ----------------------------------------------------------------------
    risk_min_events: int = 3
    """Risk below this many events is reported as 0: too little to judge."""
    young_account_days: float = 3.0
    """Accounts younger than this at first sight get full 'young' suspicion..."""
    old_account_days: float = 60.0
    """...fading linearly to none at this age."""
    asn_rotation_low: float = 2.0
    asn_rotation_high: float = 5.0
    """Distinct ASNs per account mapped to suspicion 0..1 (proxy rotation)."""
    rotation_share_events: float = 4.0
    """Events after which the share of requests on a new network counts fully as rotation."""
    ip_rotation_low: float = 3.0
    ip_rotation_high: float = 8.0
    """Distinct IP /24 prefixes per account mapped to suspicion 0..1."""
    diurnal_low_hours: float = 16.0
    diurnal_high_hours: float = 22.0
    """Active hours within the last day mapped to suspicion (24/7 automation)."""
    volume_low_per_hour: float = 60.0
    volume_high_per_hour: float = 240.0
    """Sustained request rate mapped to suspicion."""
    breadth_low: float = 2.0
    breadth_high: float = 5.0
    """Distinct prompt categories mapped to suspicion (topic sweeping)."""
    diversity_low: float = 0.5
    diversity_high: float = 0.9
    """Distinct-template ratio mapped to suspicion (every prompt new)."""
    structured_low: float = 0.5
    structured_high: float = 0.95
    cot_low: float = 0.5
    cot_high: float = 0.95
    ratio_low: float = 2.0
    ratio_high: float = 8.0
    """Completion/prompt token ratio mapped to suspicion (long answers harvested)."""
    throttle_low: float = 0.02
    throttle_high: float = 0.15
    """Share of 429 responses mapped to suspicion (rate-limit hugging)."""
    regularity_cv_high: float = 1.0
    regularity_cv_low: float = 0.25
    """Inter-arrival CV mapped to suspicion (lower CV = more machine-like)."""
    risk_weights: tuple[tuple[str, float], ...] = (
        ("young", 1.0),
        ("asn_rotation", 2.0),
        ("ip_rotation", 1.5),
        ("diurnal", 1.5),
        ("volume", 1.0),
        ("breadth", 1.0),
        ("diversity", 1.0),
        ("structured", 0.5),
        ("cot", 0.5),
        ("ratio", 0.5),
        ("throttle", 1.0),
        ("regularity", 0.5),
    )
    """Weights of the risk features in the account risk (a weighted mean)."""

    # --- account_extraction ----------------------------------------------------------------
    extraction_min_events: int = 60
    """A single account is judged alone only after this many events."""
    extraction_threshold: float = 0.6
    """Account risk at which a single account is extraction-like by itself..."""
    extraction_min_automation: float = 0.7
    """...provided automation/infrastructure evidence (young, rotation, 24/7) reaches this..."""
    extraction_min_harvest: float = 0.7
    """...and harvesting evidence (breadth and template diversity) reaches this."""

    # --- token frequency (down-weighting common tokens) ------------------------------------
    df_window_s: float = 6 * 3600.0
    """Document frequencies age out over two windows of this length."""
    df_sketch_width: int = 32768
    df_sketch_depth: int = 3
    df_common_fraction: float = 0.2
    """Tokens held by more than this share of accounts are not candidate keys (a bucket of
    them is a random sample of everyone).  Big campaigns' tokens stay below it."""

    # --- similarity (LSH) ------------------------------------------------------------------
    num_perm: int = 16
    lsh_bands: int = 4
    lsh_rows: int = 4
    minhash_seed: int = 7
    bucket_cap: int = 8
    """Most recent distinct accounts kept per candidate key."""
    bucket_ttl_s: float = 6 * 3600.0
    evidence_scale: float = 8.0
    """Pair evidence (nats) mapped to token similarity 1 - exp(-evidence/scale)."""
    behaviour_weight: float = 0.25
    """Share of behaviour-vector cosine in the combined pair similarity."""
    pair_threshold: float = 0.55
    """Combined similarity a cross-org pair needs to become an edge."""
    pair_min_evidence: float = 8.0
    """Shared-token evidence (nats) a pair needs whatever its behaviour similarity."""
    pair_min_corroboration: float = 2.0
    """Evidence (nats) a pair needs beyond its strongest clue, unless that clue is identity."""

    # --- clustering ------------------------------------------------------------------------
    edge_ttl_s: float = 6 * 3600.0
    max_edges_per_account: int = 12
    cluster_min_size: int = 3
    cluster_min_orgs: int = 3
    cluster_member_min_risk: float = 0.3
    """A member is named in a cluster alert if its own risk reaches this..."""
    cluster_member_min_risk_linked: float = 0.2
    """...or this, when it is tied to the cluster by at least two edges."""
    cluster_min_mean_risk: float = 0.35
    """Mean risk of the named members a cluster needs before it is first alerted: coordination
    alone (users of one IDE plugin share its system prompt and templates) is not abuse."""
    cluster_min_mean_risk_identity: float = 0.25
    """Lower bar for the mean risk when most members are tied by identity tokens (families
    with ``identity`` in ``token_families``)..."""
    identity_share: float = 0.6
    """...and the share of named members with such an edge."""
    cluster_alert_threshold: float = 0.55
    cluster_weight_coordination: float = 0.4
    cluster_weight_risk: float = 0.45
    cluster_weight_size: float = 0.15
    cluster_size_full: int = 12
    """Members at which the size term of the cluster score saturates."""
    revision_growth: float = 0.25
    """A revision is emitted when membership grew by this share, or the severity changed
    (for clusters and template campaigns: rose)..."""
    revision_interval_s: float = 60.0
    """...or this long after the last revision if anything changed..."""
    alert_min_interval_s: float = 600.0
    """...but a cluster or template campaign is revised at most once per this much event time
    (``DISTILLWATCH_DETECTOR__ALERT_MIN_INTERVAL_S``): its first alert goes out at once, every
    member is named within this long of joining, and a 6-hour finding has at most 36
    revisions.  Signature matches are exempt: their actions may block at once."""
    max_alert_pairs: int = 20
    """Similar pairs listed in alert evidence."""

    # --- signatures ------------------------------------------------------------------------
    signature_min_events: int = 5
    """Behaviour thresholds of a signature are judged after this many events."""

    # --- template campaigns ----------------------------------------------------------------
    campaign_min_risk: float = 0.35
    """Mean risk of a template's accounts needed to raise a template_campaign alert..."""
    campaign_wide_orgs: int = 50
    """...or, for a flagged template that this many distinct orgs send, ..."""
    campaign_wide_min_risk: float = 0.2
    """...this lower mean risk.  Accounts too quiet to judge alone (a handful of paced,
    perturbed requests each, organic sign-ups, one address each) still add up: a wrapper
    template flagged for its spread and used by dozens of unrelated orgs is evidence in
    itself, so their modest individual risk suffices.  Popular products' shared templates
    (an IDE plugin's system prompt) stay below it: their users' risk is near zero."""
    campaign_max_accounts: int = 5000
    """Accounts remembered per flagged template (alert revisions list them)."""

    # --- scoring and actions ---------------------------------------------------------------
    severity_bands: tuple[tuple[str, float], ...] = (
        ("critical", 0.85),
        ("high", 0.72),
        ("medium", 0.6),
        ("low", 0.0),
    )
    """Score lower bounds of each severity, highest first."""
    action_for_severity: tuple[tuple[str, str], ...] = (
        ("critical", "degrade"),
        ("high", "throttle"),
        ("medium", "watch"),
        ("low", "watch"),
    )
    """Quiet responses first: a critical cluster is degraded; blocking is left to signatures."""
    block_signature_confidence: float = 0.95
    """A signature at least this confident blocks matching accounts."""
    action_ttl_s: float = 24 * 3600.0
    sweep_interval_s: float = 60.0
    """How often (event time) the detector expires edges and flushes due revisions."""
    evict_interval_s: float = 900.0
    """How often (event time) idle accounts and bucket members are dropped from memory."""

    def __post_init__(self) -> None:
        if tuple(f.name for f in self.token_families) != TOKEN_FAMILY_NAMES:
            raise ConfigError(
                f"token_families must declare {', '.join(TOKEN_FAMILY_NAMES)} in this order"
            )
        if self.template_stats.allowed_lateness < self.max_lateness_s:
            raise ConfigError(
                f"template_stats.allowed_lateness ({self.template_stats.allowed_lateness:g} s) "
                f"must be at least max_lateness_s ({self.max_lateness_s:g} s): an admitted "
                "late event must still count in its template window"
            )
        if (
            min(self.max_accounts, self.dedup_max_ids, self.hot_accounts) < 1
            or not 0 < self.cap_evict_share < 1
        ):
            raise ConfigError(
                "max_accounts, dedup_max_ids and hot_accounts must be positive, "
                "cap_evict_share within (0, 1)"
            )

    @cached_property
    def identity_families(self) -> frozenset[str]:
        """Names of the token families that tie identities (``TokenFamily.identity``)."""
        return frozenset(f.name for f in self.token_families if f.identity)
