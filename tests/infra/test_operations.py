"""The Grafana dashboard and the Prometheus rules name only what a worker exports.

Every PromQL expression of ``infra/prometheus/alerts.yml`` and
``infra/grafana/distillwatch-dashboard.json`` is read by a small PromQL scanner (no promtool
here): the metric names it selects, the labels it matches on and the labels it groups by must
be series and labels of ``agents.service.metrics.Metrics`` as rendered for Prometheus.  The rules
file is also checked for the structure Prometheus loads.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.parser import text_string_to_metric_families

from agents.service.metrics import Metrics
from agents.settings import REPO_ROOT

RULES = REPO_ROOT / "infra" / "prometheus" / "alerts.yml"
SCRAPE = REPO_ROOT / "infra" / "prometheus" / "prometheus.yml"
DASHBOARD = REPO_ROOT / "infra" / "grafana" / "distillwatch-dashboard.json"

TARGET_LABELS = {"job", "instance"}
"""Labels Prometheus attaches to every scraped series itself."""
SCRAPE_SERIES = {"up": TARGET_LABELS}
"""The series Prometheus records for every scrape target, whatever the target exports."""

AGGREGATIONS = {
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
    "bottomk", "topk", "quantile", "limitk", "limit_ratio",
}  # fmt: skip
GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}
KEYWORDS = {"and", "or", "unless", "bool", "offset", "atan2", "inf", "nan"} | GROUPING
MATCHERS = ("=~", "!~", "!=", "=")
DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")

_TOKEN = re.compile(
    r"""(?P<string>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`)
      |(?P<range>\[[^\]]*\])
      |(?P<number>\d[\w.]*(?:[eE][+-]?\d+)?)
      |(?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
      |(?P<op>=~|!~|!=|==|>=|<=|[-+*/%^=<>,@{}()])
      |(?P<space>\s+)""",
    re.VERBOSE,
)


@dataclass
class Query:
    """What one PromQL expression names: metric -> labels matched on it; grouping labels."""

    selectors: dict[str, set[str]] = field(default_factory=dict)
    grouping: set[str] = field(default_factory=set)


def scan(expr: str) -> Query:
    """Metric names, matcher labels and grouping labels of ``expr``.

    An identifier is a metric name unless it is a keyword, an aggregation, a function (an
    identifier followed by ``(``) or inside a label matcher or a grouping list.
    """
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(expr):
        match = _TOKEN.match(expr, position)
        assert match is not None, f"cannot read {expr[position:]!r} in {expr!r}"
        position = match.end()
        if match.lastgroup != "space":
            tokens.append((match.lastgroup or "", match.group()))
    query = Query()
    depth = 0
    i = 0
    while i < len(tokens):
        kind, text = tokens[i]
        after = tokens[i + 1][1] if i + 1 < len(tokens) else ""
        if text == "(":
            depth += 1
        elif text == ")":
            depth -= 1
            assert depth >= 0, f"unbalanced ')' in {expr!r}"
        elif text == "{":
            metric = tokens[i - 1][1] if i > 0 and tokens[i - 1][0] == "ident" else ""
            i, labels = _matchers(tokens, i + 1, expr)
            query.selectors.setdefault(metric, set()).update(labels)
            continue
        elif kind == "ident" and text in GROUPING and after == "(":
            close = next(j for j in range(i + 2, len(tokens)) if tokens[j][1] == ")")
            query.grouping.update(t for k, t in tokens[i + 2 : close] if k == "ident")
            i = close + 1
            continue
        elif kind == "ident" and text not in KEYWORDS | AGGREGATIONS and after != "(":
            query.selectors.setdefault(text, set())  # not a function call: a metric
        i += 1
    assert depth == 0, f"unbalanced '(' in {expr!r}"
    query.selectors.pop("", None)  # a bare {...} selector has no name to check
    return query


def _matchers(tokens: list[tuple[str, str]], i: int, expr: str) -> tuple[int, set[str]]:
    """Label names of the matcher list that starts at ``tokens[i]``; the index after ``}``."""
    labels: set[str] = set()
    while tokens[i][1] != "}":
        name, op, value = tokens[i], tokens[i + 1][1], tokens[i + 2]
        assert name[0] == "ident" and op in MATCHERS and value[0] == "string", expr
        labels.add(name[1])
        i += 3
        if tokens[i][1] == ",":
            i += 1
    return i + 1, labels


def exported() -> dict[str, set[str]]:
    """Every series name a worker's /metrics shows, with its label names."""
    metrics = Metrics()
    for collector in vars(metrics).values():
        if isinstance(collector, MetricWrapperBase) and collector._labelnames:
            collector.labels(*("x" for _ in collector._labelnames))  # show labelled series too
    series: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for sample in family.samples:
            series.setdefault(sample.name, set()).update(sample.labels)
    return series


def rule_expressions() -> list[tuple[str, str]]:
    document = yaml.safe_load(RULES.read_text())
    return [(r["alert"], r["expr"]) for g in document["groups"] for r in g["rules"]]


def dashboard_expressions() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    found = [
        (f"{panel['title']} {target['refId']}", target["expr"])
        for panel in dashboard["panels"]
        for target in panel.get("targets", ())
    ]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]["query"]
            inner = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", query)
            assert inner, query
            found.append((f"${variable['name']}", f"group by ({inner[2]}) ({inner[1]})"))
    # Grafana's own variables stand for a range or a matcher value
    return [(n, e.replace("$__rate_interval", "5m")) for n, e in found]


EXPRESSIONS = [("rules", *e) for e in rule_expressions()] + [
    ("dashboard", *e) for e in dashboard_expressions()
]


def test_the_scanner_reads_promql():
    query = scan(
        'histogram_quantile(0.99, sum by (le, stage) (rate(a_bucket{x="1", y=~"$v"}[5m]))) > 5 '
        "and on(instance) b offset 5m unless sum without (job) (c) / count(up == bool 0)"
    )
    assert query.selectors == {"a_bucket": {"x", "y"}, "b": set(), "c": set(), "up": set()}
    assert query.grouping == {"le", "stage", "instance", "job"}


@pytest.mark.parametrize(("source", "name", "expr"), EXPRESSIONS, ids=[e[1] for e in EXPRESSIONS])
def test_every_metric_and_label_named_is_exported(source, name, expr):
    series = exported() | SCRAPE_SERIES
    query = scan(expr)
    assert query.selectors, f"{name}: no metric in {expr!r}"
    unknown = sorted(set(query.selectors) - set(series))
    assert not unknown, f"{source} {name}: {unknown} not exported by the worker"
    for metric, labels in query.selectors.items():
        assert labels <= series[metric] | TARGET_LABELS, f"{name}: {metric}{{{labels}}}"
    available = set().union(*(series[m] for m in query.selectors)) | TARGET_LABELS
    assert query.grouping <= available, f"{name}: grouped by {query.grouping - available}"


def test_the_rules_file_has_the_structure_prometheus_loads():
    document = yaml.safe_load(RULES.read_text())
    assert set(document) == {"groups"}
    names = [g["name"] for g in document["groups"]]
    assert len(names) == len(set(names))
    alerts = []
    for group in document["groups"]:
        assert set(group) <= {"name", "interval", "rules", "limit"} and group["rules"], group
        for rule in group["rules"]:
            assert set(rule) <= {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}
            assert re.fullmatch(r"DistillWatch[A-Z][A-Za-z]+", rule["alert"]), rule["alert"]
            assert isinstance(rule["expr"], str) and rule["expr"].strip()
            if "for" in rule:
                assert DURATION.match(rule["for"]), rule
            assert rule["labels"]["severity"] in {"info", "warning", "critical"}, rule
            assert {"summary", "description"} <= set(rule["annotations"]), rule
            assert all(isinstance(v, str) for v in rule["annotations"].values())
            alerts.append(rule["alert"])
    assert len(alerts) == len(set(alerts))
    scrape = yaml.safe_load(SCRAPE.read_text())
    assert scrape["rule_files"] == [RULES.name]
    assert [job["job_name"] for job in scrape["scrape_configs"]] == ["distillwatch"]


def test_they_cover_what_an_operator_watches():
    """Lag, stalls, dead letters by reason, alerts by kind, state size, processing latency,
    broker and delivery errors: each shown on the dashboard and alerted on."""
    for expressions in (rule_expressions(), dashboard_expressions()):
        named = {m for _, e in expressions for m in scan(e).selectors}
        grouped = {g for _, e in expressions for g in scan(e).grouping}
        assert {
            "distillwatch_consumer_lag",
            "distillwatch_stalled_partitions",
            "distillwatch_dead_letters_total",
            "distillwatch_alerts_total",
            "distillwatch_state_bytes",
            "distillwatch_event_latency_seconds_bucket",
            "distillwatch_batch_seconds_bucket",
            "distillwatch_broker_errors_total",
            "distillwatch_delivery_errors_total",
        } <= named
        assert {"reason", "kind", "stage"} <= grouped


def test_the_dashboard_is_grafana_json():
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "distillwatch-worker" and dashboard["schemaVersion"] >= 36
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert panel["targets"] and panel["title"] and panel["description"]
