"""Template frequency statistics: campaign flagging, benign look-alikes, windows, state."""

from __future__ import annotations

import itertools
import random
import struct

import pytest

from streams.config import TemplateStatsConfig
from streams.stages.template_stats import TemplateFinding, TemplateState, TemplateStats

T0 = 1_700_000_000.0
CFG = TemplateStatsConfig()


def _campaign(n_accounts: int, n_orgs: int, events: int, start: float, span: float, seed=1):
    rng = random.Random(seed)
    out = []
    for _ in range(events):
        acct = rng.randrange(n_accounts)
        out.append((start + rng.random() * span, f"acct{acct}", f"org{acct % n_orgs}"))
    return sorted(out)


def _run(stats: TemplateStats, template_id: str, events) -> list[TemplateFinding]:
    found = []
    for ts, acct, org in events:
        f = stats.observe(template_id, acct, org, ts)
        if f is not None:
            found.append(f)
    return found


def test_many_accounts_in_many_orgs_sharing_a_wrapper_are_flagged():
    stats = TemplateStats()
    found = _run(stats, "w-campaign", _campaign(400, 350, 3000, T0, 250))
    assert found
    first = found[0]
    assert first.template_id == "w-campaign"
    assert first.distinct_accounts >= 2 * CFG.min_accounts
    assert first.distinct_orgs >= CFG.min_orgs
    assert first.score >= CFG.score_threshold
    assert len(first.accounts) == CFG.sample_accounts
    assert len(set(first.accounts)) == len(first.accounts)
    # Revisions only as the campaign doubles within a window, not one finding per request.
    by_window: dict[float, list[int]] = {}
    for f in found:
        by_window.setdefault(f.window_start, []).append(f.distinct_accounts)
    for counts in by_window.values():
        assert len(counts) <= 6
        assert all(b >= 2 * a for a, b in itertools.pairwise(counts))


def test_single_account_high_volume_template_is_not_flagged():
    stats = TemplateStats()
    events = [(T0 + i * 0.05, "saas", "saas-org") for i in range(20_000)]
    assert _run(stats, "w-saas", events) == []


def test_benchmark_run_by_three_research_accounts_is_not_flagged():
    stats = TemplateStats()
    events = [(T0 + i * 0.1, f"lab{i % 3}", f"org-lab{i % 3}") for i in range(3000)]
    assert _run(stats, "w-bench", events) == []


def test_one_organisation_with_many_accounts_is_not_flagged():
    stats = TemplateStats()
    assert _run(stats, "w-enterprise", _campaign(300, 1, 3000, T0, 250)) == []


def test_plain_prompt_templates_are_not_tracked():
    stats = TemplateStats()
    assert _run(stats, "p-popular-question", _campaign(400, 350, 2000, T0, 250)) == []
    assert "p-popular-question" not in stats.templates
    assert stats.untracked_events == 2000


def test_spread_is_judged_against_the_templates_own_baseline():
    """25 accounts would flag a new template, not one that always has about 18."""
    cfg = TemplateStatsConfig(window_seconds=300, allowed_lateness=0)
    established, fresh = TemplateStats(cfg), TemplateStats(cfg)
    for w in range(40):
        start = T0 + w * 300
        events = _campaign(18, 18, 60, start, 290, seed=w)
        assert _run(established, "w-popular", events) == []
    burst = _campaign(25, 25, 200, T0 + 40 * 300, 290, seed=99)
    assert _run(established, "w-popular", burst) == []
    assert _run(fresh, "w-popular", [(ts + 0.0, a, o) for ts, a, o in burst])


def test_spread_is_judged_against_templates_of_the_same_volume():
    """Where wide spread is normal for templates of this volume, it is not anomalous."""
    cfg = TemplateStatsConfig(window_seconds=60, allowed_lateness=0, min_bucket_samples=20)
    stats = TemplateStats(cfg)
    for w in range(3):
        for t in range(30):
            start = T0 + w * 60
            _run(stats, f"w-tool{t}", _campaign(40, 40, 100, start, 50, seed=w * 100 + t))
    stats.advance_watermark(T0 + 4 * 60)
    newcomer = _campaign(40, 40, 100, T0 + 5 * 60, 50, seed=7)
    assert _run(stats, "w-newcomer", newcomer) == []
    assert _run(TemplateStats(cfg), "w-newcomer", newcomer)


def test_windows_close_on_event_time_and_feed_history():
    cfg = TemplateStatsConfig(window_seconds=60, allowed_lateness=10)
    stats = TemplateStats(cfg)
    for w in range(5):
        for i in range(w + 1):
            stats.observe("w-t", f"a{i}", "o", T0 + w * 60 + i)
    stats.advance_watermark(T0 + 10 * 60)
    assert stats.volume_quantiles("w-t", (0.0, 1.0)) == (1.0, 5.0)


def test_late_events_are_counted_not_applied():
    cfg = TemplateStatsConfig(window_seconds=60, allowed_lateness=5)
    stats = TemplateStats(cfg)
    stats.observe("w-t", "a", "o", T0 + 600)
    assert stats.observe("w-t", "b", "o", T0) is None
    assert stats.late_events == 1


def test_idle_templates_are_evicted_after_the_ttl():
    cfg = TemplateStatsConfig(window_seconds=60, allowed_lateness=0, idle_ttl_seconds=3600)
    stats = TemplateStats(cfg)
    stats.observe("w-old", "a", "o", T0)
    stats.observe("w-new", "a", "o", T0 + 1800)
    assert set(stats) == {"w-old", "w-new"}
    stats.observe("w-new", "a", "o", T0 + 3600 + 120)
    assert set(stats) == {"w-new"}
    assert len(stats) == 1


def test_non_finite_time_is_refused():
    with pytest.raises(ValueError, match="finite"):
        TemplateStats().observe("w-t", "a", "o", float("nan"))


def test_same_events_give_same_findings():
    events = _campaign(200, 150, 1500, T0, 900)
    assert _run(TemplateStats(), "w-c", events) == _run(TemplateStats(), "w-c", events)


def _summary(state: TemplateState) -> tuple:
    """What a template's state means; sketch bytes may legitimately reorder internals."""
    windows = tuple(
        (w.index, w.volume, w.accounts.get_estimate(), w.orgs.get_estimate(), tuple(w.sample))
        for w in state.windows.values()
    )
    volumes = None if state.volumes.is_empty() else state.volumes.get_quantile(0.5)
    return (windows, volumes, state.baseline_accounts, state.baseline_weight, state.last_ts)


def test_template_state_round_trips_through_bytes():
    stats = TemplateStats()
    _run(stats, "w-c", _campaign(50, 40, 400, T0, 900))
    blob = stats.state_bytes("w-c")
    assert blob is not None
    restored = TemplateState.from_bytes(blob, stats.config)
    assert _summary(restored) == _summary(stats.templates["w-c"])
    assert stats.state_bytes("w-unknown") is None


def test_restoring_a_snapshot_mid_stream_gives_the_same_findings():
    events = _campaign(300, 250, 4000, T0, 3600, seed=3)
    live = TemplateStats()
    _run(live, "w-c", events[:1500])
    restored = TemplateStats.from_bytes(live.to_bytes())
    assert _run(restored, "w-c", events[1500:]) == _run(live, "w-c", events[1500:])
    assert restored.watermark == live.watermark


def test_per_key_restore_into_a_fresh_instance():
    stats = TemplateStats()
    _run(stats, "w-c", _campaign(30, 30, 200, T0, 100))
    other = TemplateStats()
    other.load_state("w-c", stats.state_bytes("w-c"))
    other.load_global(stats.global_bytes())
    assert _summary(other.templates["w-c"]) == _summary(stats.templates["w-c"])
    assert other.watermark == stats.watermark
    assert other.global_bytes() == stats.global_bytes()


def test_a_version_1_global_blob_still_loads():
    """Version 1 also held a heavy-hitters sketch per open window; its sections are skipped."""
    stats = TemplateStats()
    _run(stats, "w-c", _campaign(30, 30, 200, T0, 100))
    v2 = stats.global_bytes()
    head = struct.calcsize("<BdqQQH")
    sketch = b"sketch bytes"
    v1 = (
        b"\x01"
        + v2[1:head]
        + struct.pack("<H", 1)
        + v2[head:]
        + struct.pack("<qI", 7, len(sketch))
        + sketch
        + struct.pack("<qHQI", 7, 1, 3, 3)
        + b"w-c"
    )
    other = TemplateStats()
    other.load_global(v1)
    assert other.global_bytes() == v2


@pytest.mark.parametrize("blob", [b"", b"\x07garbage", b"\x01" + b"\x00" * 10])
def test_corrupt_state_is_a_clear_error(blob):
    with pytest.raises(ValueError, match=r"template state|unsupported"):
        TemplateState.from_bytes(blob, CFG)
    with pytest.raises(ValueError, match=r"template stats|unsupported"):
        TemplateStats().load_global(blob)


def test_invalid_config_is_refused():
    with pytest.raises(ValueError):
        TemplateStatsConfig(window_seconds=0)
    with pytest.raises(ValueError):
        TemplateStatsConfig(reemit_growth=1.0)
