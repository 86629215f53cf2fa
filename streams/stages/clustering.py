"""Incremental clustering of coordinated accounts (one key: pairs are far fewer than events).

Edges are candidate pairs; clusters are connected components of the live
edges, kept by a union-find while edges only arrive and rebuilt when edges
expire (event-time TTL) or are dropped by the per-account degree cap.  The
final membership is a function of the edge set alone, so the order in which
pairs arrive does not change it.

A cluster keeps its ``cluster_id`` as it grows: the id is derived from the
two founding accounts, a merge keeps the id of the older cluster (ties by
id), and a rebuild gives each component the id of the old cluster it
overlaps most.

An id names one alert, whose revisions must keep increasing whatever happens
to the cluster: no two live clusters share an id (a split-off part whose
founders would repeat a live id gets a salted one), and the revision counter
of an alerted cluster that was merged away or dissolved is kept, so a cluster
re-formed under its id continues the count instead of restarting it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import orjson

from streams.config import DetectorConfig
from streams.messages import CandidatePair
from streams.records import Action, Alert
from streams.stages.lifecycle import RevisionPolicy
from streams.stages.scoring import (
    ACTION_RANK,
    action_kind_for,
    alert_id_for,
    make_action,
    ramp,
    severity_for,
    stable_id,
)
from streams.stages.suppression import SuppressionBook

_MATERIAL = 0.02
"""Change of a member's risk or an edge's similarity worth re-scoring the cluster for."""


class Edge:
    __slots__ = ("evidence", "shared", "similarity", "ts")

    def __init__(self, ts: float, similarity: float, evidence: float, shared: tuple[str, ...]):
        self.ts = ts
        self.similarity = similarity
        self.evidence = evidence
        self.shared = shared


class Node:
    """What the cluster stage knows of an account: from the freshest pair that named it."""

    __slots__ = ("features", "first_ts", "last_ts", "org_id", "risk")

    def __init__(
        self,
        org_id: str,
        risk: float,
        first_ts: float,
        last_ts: float,
        features: tuple[tuple[str, float], ...],
    ) -> None:
        self.org_id = org_id
        self.risk = risk
        self.first_ts = first_ts
        self.last_ts = last_ts
        self.features = features


class Cluster:
    __slots__ = ("actions", "alerted", "cluster_id", "created_ts", "policy")

    def __init__(self, cluster_id: str, created_ts: float) -> None:
        self.cluster_id = cluster_id
        self.created_ts = created_ts
        self.policy = RevisionPolicy()
        self.actions: dict[str, int] = {}
        self.alerted = False

    def order(self) -> tuple[float, str]:
        return (self.created_ts, self.cluster_id)


class ClusterStage:
    """Single-key stage: CandidatePair -> coordinated_cluster alert revisions and actions."""

    def __init__(
        self,
        config: DetectorConfig,
        baselines: dict[str, float],
        suppressions: SuppressionBook | None = None,
    ) -> None:
        self.config = config
        self.suppressions = SuppressionBook() if suppressions is None else suppressions
        """Accounts dismissed as benign: never members of an alert while suppressed."""
        self.infra_names = {f.name: f.infra for f in config.token_families if f.infra}
        self.baselines = baselines
        self.nodes: dict[str, Node] = {}
        self.edges: dict[tuple[str, str], Edge] = {}
        self.adjacency: dict[str, set[str]] = {}
        self.parent: dict[str, str] = {}
        self.component: dict[str, list[str]] = {}
        self.cluster_of: dict[str, Cluster] = {}
        self.live_ids: set[str] = set()
        self.retired: dict[str, int] = {}
        """Last revision of alerted clusters no longer live, by cluster id."""
        self.dirty = False
        self.best: dict[str, float] = {}
        """Cache of each account's strongest edge similarity, dropped when one of its edges
        changes: scoring a cluster then costs O(members), not O(edges), per revision check."""

    # -- union-find ---------------------------------------------------------------------------

    def _find(self, x: str) -> str:
        parent = self.parent
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def _ensure(self, account: str) -> None:
        if account not in self.parent:
            self.parent[account] = account
            self.component[account] = [account]
            self.adjacency.setdefault(account, set())

    def _union(self, a: str, b: str, ts: float) -> str:
        ra, rb = self._find(a), self._find(b)
        if ra == rb:
            return ra
        ca, cb = self.cluster_of.pop(ra, None), self.cluster_of.pop(rb, None)
        if len(self.component[ra]) < len(self.component[rb]):
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.component[ra].extend(self.component.pop(rb))
        keep = _older(ca, cb)
        if keep is None:
            keep = self._new_cluster(sorted((a, b)), ts, self.live_ids)
        else:
            other = cb if keep is ca else ca
            if other is not None:
                self._retire(other)
                keep.policy.announced |= other.policy.announced
                keep.policy.pending += 1
                for acc, rank in other.actions.items():
                    keep.actions[acc] = max(keep.actions.get(acc, -1), rank)
                keep.alerted = keep.alerted or other.alerted
        keep.policy.pending += 1
        self.cluster_of[ra] = keep
        return ra

    def _new_cluster(self, founders: list[str], ts: float, taken: set[str]) -> Cluster:
        """A live cluster under an id no live cluster has, continuing a retired id's revisions."""
        cluster_id = f"cl-{stable_id(*founders)}"
        salt = 0
        while cluster_id in taken:
            salt += 1
            cluster_id = f"cl-{stable_id(*founders, str(salt))}"
        cluster = Cluster(cluster_id, ts)
        cluster.policy.revision = self.retired.pop(cluster_id, 0)
        self.live_ids.add(cluster_id)
        return cluster

    def _retire(self, cluster: Cluster) -> None:
        self.live_ids.discard(cluster.cluster_id)
        if cluster.policy.revision:
            self.retired[cluster.cluster_id] = cluster.policy.revision

    # -- processing ---------------------------------------------------------------------------

    def process(self, pair: CandidatePair) -> list[Alert | Action]:
        changed = False
        for account, org, risk, first, features in (
            (pair.a, pair.org_a, pair.risk_a, pair.first_a, pair.features_a),
            (pair.b, pair.org_b, pair.risk_b, pair.first_b, pair.features_b),
        ):
            node = self.nodes.get(account)
            if node is None:
                self.nodes[account] = Node(org, risk, first, pair.ts, features)
                self._ensure(account)
            elif pair.ts >= node.last_ts:
                changed |= abs(node.risk - risk) >= _MATERIAL
                node.risk, node.last_ts, node.features = risk, pair.ts, features
        key = (pair.a, pair.b)
        edge = self.edges.get(key)
        if edge is None:
            self.edges[key] = Edge(pair.ts, pair.similarity, pair.evidence, pair.shared)
            self.adjacency[pair.a].add(pair.b)
            self.adjacency[pair.b].add(pair.a)
            self.best.pop(pair.a, None)
            self.best.pop(pair.b, None)
            for account in key:
                self._cap_degree(account)
            if key not in self.edges:
                return []
            changed = True
        elif pair.ts >= edge.ts:
            changed |= abs(edge.similarity - pair.similarity) >= _MATERIAL
            self.best.pop(pair.a, None)
            self.best.pop(pair.b, None)
            edge.ts, edge.similarity, edge.evidence, edge.shared = (
                pair.ts,
                pair.similarity,
                pair.evidence,
                pair.shared,
            )
        if not changed:
            # A re-confirmed edge refreshes its expiry only; due revisions go out on the sweep.
            return []
        root = self._union(pair.a, pair.b, pair.ts)
        return self._evaluate(root, pair.ts)

    def _cap_degree(self, account: str) -> None:
        """Keep an account's strongest recent edges; a hub must not glue the world together."""
        neighbours = self.adjacency[account]
        if len(neighbours) <= self.config.max_edges_per_account:
            return

        def strength(other: str) -> tuple[float, float, str]:
            e = self.edges[_key(account, other)]
            return (e.similarity, e.ts, other)

        weakest = min(neighbours, key=strength)
        self._drop_edge(account, weakest)

    def _drop_edge(self, a: str, b: str) -> None:
        del self.edges[_key(a, b)]
        self.adjacency[a].discard(b)
        self.adjacency[b].discard(a)
        self.best.pop(a, None)
        self.best.pop(b, None)
        self.dirty = True

    def _evaluate(self, root: str, ts: float) -> list[Alert | Action]:
        config = self.config
        cluster = self.cluster_of.get(root)
        component = self.component.get(root, ())
        if cluster is None or len(component) < config.cluster_min_size:
            return []
        policy = cluster.policy
        # Before the O(component) work below: an alerted cluster whose membership has not
        # grown enough is the common case on every re-confirmed edge of a big campaign.
        if cluster.alerted and not policy.growth_due(ts, len(component), config, bounded=True):
            return []
        covers = self.suppressions.covers
        members = [m for m in self._core(component) if not covers(m, ts)]
        if len(members) < config.cluster_min_size:
            return []
        orgs = {self.nodes[m].org_id for m in members}
        if len(orgs) < config.cluster_min_orgs:
            return []
        score, coordination, risk = self._score(members)
        if not cluster.alerted and (
            score < config.cluster_alert_threshold or not self._risky_enough(members, risk)
        ):
            return []
        severity = severity_for(score, config)
        if not policy.due(ts, len(members), severity, config, bounded=True):
            return []
        cluster.alerted = True
        return self._emit(cluster, members, ts, score, severity, coordination, risk, len(orgs))

    def _core(self, component: list[str]) -> list[str]:
        """Members an alert names: risky ones, or fairly risky ones tied in by several edges.

        A low-risk account hanging on one edge is more likely a stranger who
        happens to share a popular token (or a residential proxy's home prefix)
        with a member than part of the campaign.
        """
        config = self.config
        strong, weak = config.cluster_member_min_risk, config.cluster_member_min_risk_linked
        nodes, adjacency = self.nodes, self.adjacency
        return [
            m
            for m in component
            if nodes[m].risk >= strong or (nodes[m].risk >= weak and len(adjacency[m]) >= 2)
        ]

    def _risky_enough(self, members: list[str], risk: float) -> bool:
        """Coordination alone is not abuse: the members must be risky on their own, less so
        when most of them are tied by identity (a shared card or sign-up burst across orgs),
        which users of one popular product never are."""
        config = self.config
        if risk >= config.cluster_min_mean_risk:
            return True
        if risk < config.cluster_min_mean_risk_identity:
            return False
        families = config.identity_families
        linked = 0
        for m in members:
            for o in self.adjacency[m]:
                shared = self.edges[_key(m, o)].shared
                if any(t.split(":", 1)[0] in families for t in shared):
                    linked += 1
                    break
        return linked >= config.identity_share * len(members)

    def _score(self, members: list[str]) -> tuple[float, float, float]:
        config = self.config
        edges, adjacency, nodes, cached = self.edges, self.adjacency, self.nodes, self.best
        best: dict[str, float] = {}
        for m in members:
            value = cached.get(m)
            if value is None:
                sims = [edges[(m, o) if m < o else (o, m)].similarity for o in adjacency[m]]
                value = cached[m] = max(sims, default=0.0)
            best[m] = value
        coordination = sum(best.values()) / len(members)
        risk = sum(nodes[m].risk for m in members) / len(members)
        size = ramp(len(members), config.cluster_min_size - 1, config.cluster_size_full)
        score = (
            config.cluster_weight_coordination * coordination
            + config.cluster_weight_risk * risk
            + config.cluster_weight_size * size
        )
        return min(max(score, 0.0), 1.0), coordination, risk

    def _emit(
        self,
        cluster: Cluster,
        members: list[str],
        ts: float,
        score: float,
        severity: str,
        coordination: float,
        risk: float,
        orgs: int,
    ) -> list[Alert | Action]:
        config = self.config
        ordered = sorted(members)
        revision, _ = cluster.policy.commit(ts, len(members), severity, ordered)
        alert_id = alert_id_for("coordinated_cluster", cluster.cluster_id)
        alert = Alert(
            alert_id=alert_id,
            revision=revision,
            ts=ts,
            kind="coordinated_cluster",
            severity=severity,  # type: ignore[arg-type]
            score=round(score, 4),
            accounts=tuple(ordered),
            cluster_id=cluster.cluster_id,
            evidence=self._evidence(ordered, coordination, risk, orgs),
        )
        out: list[Alert | Action] = [alert]
        kind = action_kind_for(severity, config)  # type: ignore[arg-type]
        rank = ACTION_RANK[kind]
        for account in ordered:
            if cluster.actions.get(account, -1) < rank:
                cluster.actions[account] = rank
                out.append(
                    make_action(
                        account, kind, f"coordinated_cluster:{severity}", ts, config, alert_id
                    )
                )
        return out

    def _evidence(
        self, members: list[str], coordination: float, risk: float, orgs: int
    ) -> dict[str, Any]:
        edges = []
        families: dict[str, Counter[str]] = {}
        templates: Counter[str] = Counter()
        infra_names = self.infra_names
        member_set = set(members)
        for m in members:
            for o in self.adjacency[m]:
                if m < o and o in member_set:
                    e = self.edges[(m, o)]
                    edges.append((e.similarity, m, o))
                    for token in e.shared:
                        family, _, value = token.partition(":")
                        if family == "tpl":
                            templates[value] += 1
                        elif family in infra_names:
                            name = infra_names[family]
                            if name not in families:
                                families[name] = Counter()
                            families[name][value] += 1
        edges.sort(key=lambda t: (-t[0], t[1], t[2]))
        sums: dict[str, float] = {}
        counts: dict[str, int] = {}
        for m in members:
            for name, value in self.nodes[m].features:
                sums[name] = sums.get(name, 0.0) + value
                counts[name] = counts.get(name, 0) + 1
        features = [
            {"name": "coordination", "value": round(coordination, 4), "baseline": None},
            {"name": "mean_account_risk", "value": round(risk, 4), "baseline": None},
            {"name": "members", "value": len(members), "baseline": None},
            {"name": "orgs", "value": orgs, "baseline": None},
        ]
        features.extend(
            {
                "name": f"mean_{name}",
                "value": round(sums[name] / counts[name], 4),
                "baseline": self.baselines.get(name),
            }
            for name in sorted(sums)
        )
        return {
            "features": features,
            "shared_templates": [{"template_id": t, "pairs": c} for t, c in _top(templates, 10)],
            "similar_pairs": [
                {"a": a, "b": b, "similarity": round(s, 4)}
                for s, a, b in edges[: self.config.max_alert_pairs]
            ],
            "infrastructure": {
                name: [{"value": v, "pairs": c} for v, c in _top(counter, 10)]
                for name, counter in sorted(families.items())
            },
            "time_span": {
                "first": min(self.nodes[m].first_ts for m in members),
                "last": max(self.nodes[m].last_ts for m in members),
            },
        }

    # -- time ---------------------------------------------------------------------------------

    def advance_to(self, watermark: float) -> list[Alert | Action]:
        """Expire old edges (rebuilding components if any went) and flush due revisions."""
        horizon = watermark - self.config.edge_ttl_s
        for key in [k for k, e in self.edges.items() if e.ts < horizon]:
            self._drop_edge(*key)
        if self.dirty:
            self._rebuild()
        out: list[Alert | Action] = []
        for root in sorted(self.cluster_of, key=lambda r: self.cluster_of[r].order()):
            if self.cluster_of[root].policy.pending:
                out.extend(self._evaluate(root, watermark))
        return out

    def _rebuild(self) -> None:
        """Components of the live edges; ids follow the old cluster each component overlaps most."""
        old_root = {m: self._find(m) for m in self.parent}
        old_clusters = self.cluster_of
        live = sorted(a for a, nbrs in self.adjacency.items() if nbrs)
        self.parent, self.component, self.cluster_of = {}, {}, {}
        for account in [a for a in self.adjacency if not self.adjacency[a]]:
            del self.adjacency[account]
            self.nodes.pop(account, None)
            self.best.pop(account, None)
        for account in live:
            self._ensure(account)
        for a, b in sorted(self.edges):
            ra, rb = self._find(a), self._find(b)
            if ra != rb:
                if len(self.component[ra]) < len(self.component[rb]):
                    ra, rb = rb, ra
                self.parent[rb] = ra
                self.component[ra].extend(self.component.pop(rb))
        roots = sorted(
            self.component, key=lambda r: (-len(self.component[r]), min(self.component[r]))
        )
        taken: set[str] = set()
        in_use = {c.cluster_id for c in old_clusters.values()}
        self.live_ids = set()
        for root in roots:
            members = self.component[root]
            if len(members) < 2:
                continue
            overlap: Counter[str] = Counter()
            by_id: dict[str, Cluster] = {}
            for m in members:
                cluster = old_clusters.get(old_root.get(m, ""))
                if cluster is not None and cluster.cluster_id not in taken:
                    overlap[cluster.cluster_id] += 1
                    by_id[cluster.cluster_id] = cluster
            if overlap:
                best = max(overlap, key=lambda cid: (overlap[cid], -by_id[cid].created_ts, cid))
                cluster = by_id[best]
                taken.add(best)
                if cluster.policy.last_size != len(members):
                    cluster.policy.pending += 1
            else:
                founders = sorted(members)[:2]
                first_edge = min(
                    self.edges[_key(x, y)].ts for x in members for y in self.adjacency[x] if x < y
                )
                cluster = self._new_cluster(founders, first_edge, in_use | self.live_ids)
                cluster.policy.pending += 1
            self.live_ids.add(cluster.cluster_id)
            self.cluster_of[root] = cluster
        for cluster in old_clusters.values():
            if cluster.cluster_id not in taken:
                self._retire(cluster)
        self.dirty = False

    # -- serialisation ------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        roots = {m: self._find(m) for m in sorted(self.parent)}
        clusters = []
        for root in sorted(self.cluster_of):
            c = self.cluster_of[root]
            clusters.append(
                [root, c.cluster_id, c.created_ts, c.alerted, c.policy.to_list(), c.actions]
            )
        return orjson.dumps(
            {
                "nodes": {
                    k: [n.org_id, n.risk, n.first_ts, n.last_ts, [list(f) for f in n.features]]
                    for k, n in sorted(self.nodes.items())
                },
                "edges": [
                    [a, b, e.ts, e.similarity, e.evidence, list(e.shared)]
                    for (a, b), e in sorted(self.edges.items())
                ],
                "roots": roots,
                "components": {r: self.component[r] for r in sorted(self.component)},
                "clusters": clusters,
                "retired": self.retired,
                "dirty": self.dirty,
            }
        )

    @classmethod
    def from_bytes(
        cls,
        data: bytes,
        config: DetectorConfig,
        baselines: dict[str, float],
        suppressions: SuppressionBook | None = None,
    ) -> ClusterStage:
        row = orjson.loads(data)
        stage = cls(config, baselines, suppressions)
        for k, (org, risk, first, last, feats) in row["nodes"].items():
            stage.nodes[k] = Node(org, risk, first, last, tuple((n, v) for n, v in feats))
        for a, b, ts, sim, ev, shared in row["edges"]:
            stage.edges[(a, b)] = Edge(ts, sim, ev, tuple(shared))
        stage.parent = row["roots"]
        stage.adjacency = {k: set() for k in stage.parent}
        for a, b in stage.edges:
            stage.adjacency[a].add(b)
            stage.adjacency[b].add(a)
        stage.component = row["components"]
        for root, cid, created, alerted, policy, actions in row["clusters"]:
            cluster = Cluster(cid, created)
            cluster.alerted = alerted
            cluster.policy = RevisionPolicy.from_list(policy)
            cluster.actions = actions
            stage.cluster_of[root] = cluster
            stage.live_ids.add(cid)
        stage.retired = row.get("retired", {})
        stage.dirty = row["dirty"]
        return stage


def _key(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def _older(a: Cluster | None, b: Cluster | None) -> Cluster | None:
    if a is None or b is None:
        return a or b
    return a if a.order() <= b.order() else b


def _top(counter: Counter[str], k: int) -> list[tuple[str, int]]:
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
