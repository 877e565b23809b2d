"""Which metrics and labels a PromQL expression refers to, by walking promql_parser's AST."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import promql_parser

# Grafana and prometheus-adapter placeholders, replaced by something PromQL-valid before parsing.
_SUBSTITUTIONS = [
    (re.compile(r"\$__(rate_)?interval"), "1m"),
    (re.compile(r"<<\.LabelMatchers>>"), 'namespace="x"'),
    (re.compile(r"<<\.GroupBy>>"), "pod"),
    (re.compile(r"<<\.Series>>"), "videoprism_queue_depth"),
]


@dataclass
class Refs:
    metrics: set[str] = field(default_factory=set)
    labels: set[str] = field(default_factory=set)
    # (metric, label, match operator, value) for every matcher, so tests can check label values.
    matchers: list[tuple[str, str, str, str]] = field(default_factory=list)


def parse(expr: str) -> promql_parser.Expr:
    for pattern, value in _SUBSTITUTIONS:
        expr = pattern.sub(value, expr)
    return promql_parser.parse(expr)  # raises ValueError on a syntax error


def refs(expr: str) -> Refs:
    found = Refs()

    def visit(node: object) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            name = node.name or ""
            found.metrics.add(name)
            for m in node.matchers.matchers:
                found.labels.add(m.name)
                found.matchers.append((name, m.name, str(m.op), m.value))
        elif isinstance(node, promql_parser.AggregateExpr) and node.modifier is not None:
            found.labels.update(node.modifier.labels)
        elif isinstance(node, promql_parser.BinaryExpr) and node.modifier and node.modifier.matching:
            found.labels.update(node.modifier.matching.labels)
        return True

    promql_parser.walk(parse(expr), visit)
    return found
