"""The Grafana dashboards as data: their panel queries, with Grafana's macros substituted, run on Prometheus.

Grafana is not available here, so a dashboard is checked for meaning by running each panel's PromQL against
a Prometheus that scraped the live services: a query that returns no series is a panel that would stay
empty (a misspelled metric or label, or a series no service exposes).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

#: The repository's dashboards (the package is installed in development mode next to them).
DASHBOARD_DIR = Path(__file__).resolve().parents[2] / "dashboards" / "grafana" / "dashboards"

#: What Grafana would put in place of its global macros for a short run scraped every second.
DEFAULT_MACROS: dict[str, str] = {
    "__rate_interval": "10s",
    "__interval": "2s",
    "__interval_ms": "2000",
    "__range": "5m",
    "__range_s": "300",
    "__range_ms": "300000",
}

_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)")


@dataclass(frozen=True)
class PanelQuery:
    """One target of one panel: where it is and its PromQL as written in the dashboard."""

    dashboard: str
    panel_id: int
    panel_title: str
    ref_id: str
    expr: str

    @property
    def where(self) -> str:
        return f"{self.dashboard} / panel {self.panel_id} {self.panel_title!r} / {self.ref_id}"


@dataclass(frozen=True)
class QueryCheck:
    query: PanelQuery
    expr: str  # after substitution
    series: int
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.series > 0


class Queryable(Protocol):
    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]: ...


def load_dashboards(directory: Path = DASHBOARD_DIR) -> dict[str, dict[str, Any]]:
    """Every dashboard JSON in a directory, by file name."""
    return {path.name: json.loads(path.read_text()) for path in sorted(directory.glob("*.json"))}


def iter_panels(dashboard: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, including those nested in collapsed rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def panel_queries(name: str, dashboard: Mapping[str, Any]) -> list[PanelQuery]:
    """The PromQL targets of every non-row panel."""
    queries = []
    for panel in iter_panels(dashboard):
        if panel.get("type") == "row":
            continue
        for target in panel.get("targets", []):
            queries.append(
                PanelQuery(
                    name, panel["id"], panel.get("title", ""), target.get("refId", ""), target.get("expr", "")
                )
            )
    return queries


def template_values(dashboard: Mapping[str, Any]) -> dict[str, str]:
    """What each template variable stands for when "All" (or its current value) is selected."""
    values: dict[str, str] = {}
    for variable in dashboard.get("templating", {}).get("list", []):
        current = variable.get("current", {}).get("value")
        if variable.get("includeAll") and (current in ("$__all", ["$__all"]) or current is None):
            values[variable["name"]] = variable.get("allValue") or ".*"
        elif isinstance(current, list):
            values[variable["name"]] = "|".join(current) if current else ".*"
        else:
            values[variable["name"]] = str(current) if current is not None else ".*"
    return values


def substitute(expr: str, variables: Mapping[str, str], macros: Mapping[str, str] = DEFAULT_MACROS) -> str:
    """Replace `$__rate_interval`, `${var}`, `[[var]]` and `$var` as Grafana would.

    >>> substitute('rate(x{role=~"$role"}[$__rate_interval])', {"role": ".*"})
    'rate(x{role=~".*"}[10s])'

    An unknown variable is an error: Grafana would leave it in place and the query would fail.

    >>> substitute("rate(x[$nope])", {})
    Traceback (most recent call last):
    ...
    KeyError: 'unknown dashboard variable $nope'
    """
    known = {**macros, **variables}

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(3)
        if name not in known:
            raise KeyError(f"unknown dashboard variable ${name}")
        return known[name]

    return _VARIABLE.sub(replace, expr)


def variable_queries(name: str, dashboard: Mapping[str, Any]) -> list[PanelQuery]:
    """Template variables defined by `label_values(metric{...}, label)`, as a query over that metric."""
    queries = []
    for variable in dashboard.get("templating", {}).get("list", []):
        query = variable.get("query")
        text = query.get("query", "") if isinstance(query, dict) else str(query or "")
        match = re.fullmatch(r"\s*label_values\((.+),\s*(\w+)\)\s*", text)
        if match:
            queries.append(
                PanelQuery(name, 0, f"variable {variable['name']}", variable["name"], match.group(1))
            )
    return queries


def check_dashboards(
    prometheus: Queryable,
    dashboards: Mapping[str, Mapping[str, Any]],
    macros: Mapping[str, str] = DEFAULT_MACROS,
    at: float | None = None,
) -> list[QueryCheck]:
    """Run every panel and variable query; each result says how many series came back."""
    work = [
        (query, template_values(dashboard))
        for name, dashboard in dashboards.items()
        for query in [*variable_queries(name, dashboard), *panel_queries(name, dashboard)]
    ]

    def check(item: tuple[PanelQuery, dict[str, str]]) -> QueryCheck:
        query, variables = item
        try:
            expr = substitute(query.expr, variables, macros)
        except KeyError as error:
            return QueryCheck(query, query.expr, 0, str(error))
        try:
            result = prometheus.query(expr, at=at)
        except Exception as error:  # any failure is reported against its panel
            return QueryCheck(query, expr, 0, f"{type(error).__name__}: {error}")
        return QueryCheck(query, expr, len(result))

    # A few at a time: Prometheus answers concurrently, and the services keep running meanwhile.
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(check, work))


def describe_failures(checks: list[QueryCheck]) -> str:
    lines = [
        f"{check.query.where}: {check.error or 'no series'}\n    {check.expr}"
        for check in checks
        if not check.ok
    ]
    return "\n".join(lines)
