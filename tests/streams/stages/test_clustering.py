"""Incremental clustering: union with decay, id stability, order independence, lifecycle."""

from __future__ import annotations

import dataclasses
import itertools
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.config import DetectorConfig
from streams.messages import CandidatePair
from streams.records import Action, Alert
from streams.stages.clustering import ClusterStage
from streams.stages.profile.profiler import feature_baselines

CONFIG = DetectorConfig()
# a member of an alerted cluster is named in a revision at the latest this long after joining
NAMED_WITHIN = max(CONFIG.revision_interval_s, CONFIG.alert_min_interval_s)
T0 = 1_767_225_600.0


def pair(
    a: str, b: str, ts: float = T0, similarity: float = 0.9, risk: float = 0.8
) -> CandidatePair:
    a, b = sorted((a, b))
    return CandidatePair(
        a=a,
        b=b,
        org_a=f"org-{a}",
        org_b=f"org-{b}",
        ts=ts,
        similarity=similarity,
        evidence=12.0,
        jaccard=0.4,
        behaviour_similarity=0.9,
        shared=("pay:card-1", "created:491000", "tpl:w-abc"),
        risk_a=risk,
        risk_b=risk,
        first_a=ts - 100.0,
        first_b=ts - 50.0,
        features_a=(("asn_distinct", 5.0),),
        features_b=(("asn_distinct", 7.0),),
    )


def stage(config: DetectorConfig = CONFIG) -> ClusterStage:
    return ClusterStage(config, feature_baselines(config))


def partition(s: ClusterStage) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for account in s.parent:
        groups.setdefault(s._find(account), set()).add(account)
    return {frozenset(g) for g in groups.values() if len(g) > 1}


def alerts(out: list[Alert | Action]) -> list[Alert]:
    return [o for o in out if isinstance(o, Alert)]


def test_a_chain_of_pairs_becomes_one_alerted_cluster_with_actions():
    s = stage()
    out = []
    for i in range(5):
        out += s.process(pair(f"a{i}", f"a{i + 1}", ts=T0 + i))
    out += s.advance_to(T0 + NAMED_WITHIN + 10)
    found = alerts(out)
    assert found, "a five-edge chain of risky accounts across orgs must be alerted"
    last = found[-1]
    assert last.kind == "coordinated_cluster"
    assert set(last.accounts) == {f"a{i}" for i in range(6)}
    assert [a.revision for a in found] == list(range(1, len(found) + 1))
    assert len({a.alert_id for a in found}) == 1
    assert last.evidence["similar_pairs"] and last.evidence["time_span"]["first"] <= T0
    assert last.evidence["infrastructure"]["payment_fingerprint"][0]["value"] == "card-1"
    actions = [o for o in out if isinstance(o, Action)]
    assert {a.account_id for a in actions} == set(last.accounts)
    assert all(a.expires_at > a.ts and a.alert_id == last.alert_id for a in actions)


def test_low_risk_coordination_is_not_alerted():
    s = stage()
    out = []
    for i in range(6):
        out += s.process(pair(f"r{i}", f"r{i + 1}", ts=T0 + i, similarity=0.6, risk=0.05))
    assert not alerts(out)


def test_merge_keeps_the_older_cluster_id():
    s = stage()
    for x, y in (("a1", "a2"), ("a2", "a3")):
        s.process(pair(x, y, ts=T0))
    for x, y in (("b1", "b2"), ("b2", "b3")):
        s.process(pair(x, y, ts=T0 + 100))
    older = s.cluster_of[s._find("a1")].cluster_id
    younger = s.cluster_of[s._find("b1")].cluster_id
    assert older != younger
    s.process(pair("a3", "b1", ts=T0 + 200))
    assert s.cluster_of[s._find("b3")].cluster_id == older


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 14), st.integers(0, 14)).filter(lambda t: t[0] != t[1]),
        min_size=1,
        max_size=30,
    ),
    st.randoms(),
)
def test_final_membership_does_not_depend_on_pair_order(edges, rnd):
    pairs = [pair(f"n{a:02d}", f"n{b:02d}") for a, b in edges]
    shuffled = list(pairs)
    rnd.shuffle(shuffled)
    first, second = stage(), stage()
    for p in pairs:
        first.process(p)
    for p in shuffled:
        second.process(p)
    assert partition(first) == partition(second)


def test_expired_edges_split_clusters_and_keep_ids_on_the_larger_part():
    config = dataclasses.replace(CONFIG, edge_ttl_s=1000.0)
    s = stage(config)
    for i in range(4):
        s.process(pair(f"a{i}", f"a{i + 1}", ts=T0 + 2000))
    s.process(pair("a4", "z1", ts=T0))  # an old bridge
    s.process(pair("z1", "z2", ts=T0))
    cid = s.cluster_of[s._find("a0")].cluster_id
    assert s._find("z2") == s._find("a0")
    s.advance_to(T0 + 2500)
    assert partition(s) == {frozenset(f"a{i}" for i in range(5))}
    assert s.cluster_of[s._find("a0")].cluster_id == cid
    assert "z2" not in s.nodes


def test_revisions_only_when_membership_changes_materially():
    s = stage()
    out = []
    for i in range(8):
        out += s.process(pair(f"a{i}", f"a{i + 1}", ts=T0 + i))
    before = len(alerts(out))
    # the same edges again change nothing
    for i in range(8):
        out += s.process(pair(f"a{i}", f"a{i + 1}", ts=T0 + 10 + i))
    assert len(alerts(out)) == before
    # one new member is named at the latest after the revision interval
    out += s.process(pair("a8", "a9", ts=T0 + 20))
    out += s.advance_to(T0 + 20 + NAMED_WITHIN)
    assert "a9" in alerts(out)[-1].accounts


def test_degree_cap_bounds_edges_per_account():
    config = dataclasses.replace(CONFIG, max_edges_per_account=3)
    s = stage(config)
    for i in range(10):
        s.process(pair("hub", f"leaf{i}", similarity=0.6 + i / 100))
    assert len(s.adjacency["hub"]) == 3


def test_state_round_trip_continues_identically():
    s = stage()
    for i in range(4):
        s.process(pair(f"a{i}", f"a{i + 1}", ts=T0 + i))
    again = ClusterStage.from_bytes(s.to_bytes(), CONFIG, feature_baselines(CONFIG))
    assert again.to_bytes() == s.to_bytes()
    follow = [pair("a4", "a5", ts=T0 + 10), pair("b1", "a0", ts=T0 + 11)]
    out_a = [o for p in follow for o in s.process(p)] + s.advance_to(T0 + 500)
    out_b = [o for p in follow for o in again.process(p)] + again.advance_to(T0 + 500)
    assert out_a == out_b


def test_moderate_risk_is_enough_only_when_members_share_a_card():
    def chain(shared: tuple[str, ...]) -> list[Alert]:
        s = stage()
        out = []
        for i in range(6):
            p = dataclasses.replace(pair(f"m{i}", f"m{i + 1}", ts=T0 + i, risk=0.3), shared=shared)
            out += s.process(p)
        return alerts(out + s.advance_to(T0 + 600))

    assert chain(("pay:card-9", "params:x"))
    assert not chain(("sys:abc", "tpl:w-1", "params:x"))


def revisions_by_alert(out: list[Alert | Action]) -> dict[str, list[int]]:
    by_id: dict[str, list[int]] = {}
    for alert in alerts(out):
        by_id.setdefault(alert.alert_id, []).append(alert.revision)
    return by_id


def test_a_split_off_part_never_restarts_the_revisions_of_a_live_alert():
    # the founders a0, a1 end up in the smaller part, which would repeat the live id
    config = dataclasses.replace(CONFIG, edge_ttl_s=1000.0)
    s = stage(config)
    chain = ["a0", "a1", "a2", "b1", "b2", "b3", "b4", "b5"]
    out: list[Alert | Action] = []
    for x, y in pairwise(chain):
        out += s.process(pair(x, y, ts=T0 if (x, y) == ("a2", "b1") else T0 + 2000))
    out += s.advance_to(T0 + 2500)
    assert partition(s) == {frozenset(chain[:3]), frozenset(chain[3:])}
    ids = [c.cluster_id for c in s.cluster_of.values()]
    assert len(ids) == len(set(ids))
    assert len(revisions_by_alert(out)) == 2
    for revisions in revisions_by_alert(out).values():
        assert revisions == list(range(1, len(revisions) + 1))


def test_a_cluster_formed_again_under_its_id_continues_its_revisions():
    config = dataclasses.replace(CONFIG, edge_ttl_s=1000.0)
    s = stage(config)
    out: list[Alert | Action] = []
    for i in range(3):
        out += s.process(pair(f"a{i}", f"a{i + 1}", ts=T0))
    out += s.advance_to(T0 + 1500)  # every edge expired: the cluster is gone
    assert not s.cluster_of
    s = ClusterStage.from_bytes(s.to_bytes(), config, feature_baselines(config))
    for i in range(3):
        out += s.process(pair(f"a{i}", f"a{i + 1}", ts=T0 + 2000))
    (revisions,) = revisions_by_alert(out).values()
    assert len(revisions) >= 2
    assert revisions == list(range(1, len(revisions) + 1))


def test_revisions_of_a_growing_cluster_are_at_least_the_minimum_interval_apart():
    s = stage()
    out = []
    # a chain growing by one member a minute for three hours
    for i in range(180):
        out += s.process(pair(f"g{i}", f"g{i + 1}", ts=T0 + 60 * i))
        out += s.advance_to(T0 + 60 * i + 1)
    out += s.advance_to(T0 + 180 * 60 + NAMED_WITHIN)
    found = alerts(out)
    gaps = [b.ts - a.ts for a, b in itertools.pairwise(found)]
    assert found and min(gaps) >= CONFIG.alert_min_interval_s
    assert len(found) <= 1 + 180 * 60 / CONFIG.alert_min_interval_s
    assert set(found[-1].accounts) == {f"g{i}" for i in range(181)}
