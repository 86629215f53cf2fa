"""The stalled-partition watch: records to apply and no progress for ``after_s``."""

from __future__ import annotations

from agents.service.stall import StallWatch


def test_a_partition_with_records_and_no_progress_stalls_after_the_delay_and_recovers():
    watch = StallWatch(after_s=10.0)
    assert watch.observe(0, applied=5, end=9, now=0.0) is None
    assert watch.observe(0, applied=5, end=9, now=9.9) is None
    assert watch.stalled == frozenset()
    assert watch.observe(0, applied=5, end=12, now=10.0) is True  # more records, still 5
    assert watch.stalled == {0}
    assert watch.idle_for(0, 12.0) == 12.0
    assert watch.observe(0, applied=5, end=12, now=30.0) is None  # reported once
    assert watch.observe(0, applied=6, end=12, now=31.0) is False  # it moved
    assert watch.stalled == frozenset()


def test_a_caught_up_partition_never_stalls_however_long_it_is_quiet():
    watch = StallWatch(after_s=1.0)
    for t in range(100):
        assert watch.observe(3, applied=40, end=40, now=float(t)) is None
    # records arrive: the clock runs from the last report with nothing to apply (t=99),
    # not from the last progress (t=0)
    assert watch.observe(3, applied=40, end=41, now=99.5) is None
    assert watch.observe(3, applied=40, end=41, now=100.0) is True


def test_catching_up_clears_a_stall_and_partitions_are_watched_apart():
    watch = StallWatch(after_s=1.0)
    watch.observe(0, applied=0, end=5, now=0.0)
    watch.observe(1, applied=0, end=5, now=0.0)
    assert watch.observe(0, applied=0, end=5, now=2.0) is True
    assert watch.observe(1, applied=5, end=5, now=2.0) is None
    assert watch.stalled == {0}
    assert watch.observe(0, applied=0, end=0, now=3.0) is False  # e.g. the topic was truncated


def test_a_revoked_partition_is_forgotten():
    watch = StallWatch(after_s=1.0)
    watch.observe(2, applied=0, end=5, now=0.0)
    watch.observe(2, applied=0, end=5, now=5.0)
    assert watch.stalled == {2}
    watch.forget(2)
    assert watch.stalled == frozenset()
    assert watch.observe(2, applied=0, end=5, now=6.0) is None  # a new owner's clock
