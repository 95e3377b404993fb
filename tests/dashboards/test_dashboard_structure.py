"""What Grafana needs to load the dashboards: provisioning, uids, panel ids, layout, datasource, units."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml

from streaming.demo.dashboards import (
    DASHBOARD_DIR,
    iter_panels,
    load_dashboards,
    panel_queries,
    substitute,
    template_values,
)

ROOT = Path(__file__).resolve().parents[2]
PROVISIONING = ROOT / "dashboards" / "grafana" / "provisioning"
DASHBOARDS = load_dashboards(DASHBOARD_DIR)
EXPECTED = {
    "pipeline-overview.json",
    "predictive-maintenance.json",
    "fraud.json",
    "recommendations.json",
    "churn.json",
}


def _datasource_uid() -> str:
    files = sorted((PROVISIONING / "datasources").glob("*.yaml"))
    assert files, "no datasource provisioning file"
    sources = [source for path in files for source in yaml.safe_load(path.read_text())["datasources"]]
    prometheus = [source for source in sources if source["type"] == "prometheus"]
    assert len(prometheus) == 1
    return str(prometheus[0]["uid"])


def test_every_system_has_its_dashboard() -> None:
    assert set(DASHBOARDS) >= EXPECTED


def test_datasource_and_dashboard_provider_are_provisioned() -> None:
    source = yaml.safe_load((PROVISIONING / "datasources" / "prometheus.yaml").read_text())
    assert source["apiVersion"] == 1
    (datasource,) = source["datasources"]
    assert datasource["uid"] == "streaming-prometheus"
    assert datasource["url"].startswith("http://")
    assert datasource["jsonData"]["timeInterval"]
    providers = yaml.safe_load((PROVISIONING / "dashboards" / "streaming.yaml").read_text())
    assert providers["apiVersion"] == 1
    (provider,) = providers["providers"]
    assert provider["type"] == "file" and provider["options"]["path"]


def test_dashboard_uids_and_titles_are_unique() -> None:
    uids = [board["uid"] for board in DASHBOARDS.values()]
    titles = [board["title"] for board in DASHBOARDS.values()]
    assert len(set(uids)) == len(uids) and all(uids)
    assert len(set(titles)) == len(titles) and all(titles)
    assert all(len(uid) <= 40 for uid in uids), "Grafana limits uids to 40 characters"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_panels_are_well_formed(name: str) -> None:
    board = DASHBOARDS[name]
    assert isinstance(board["schemaVersion"], int) and board["schemaVersion"] >= 36
    uid = _datasource_uid()
    panels = list(iter_panels(board))
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids)), f"duplicate panel ids in {name}"
    occupied: set[tuple[int, int]] = set()
    for panel in panels:
        where = f"{name} panel {panel['id']} {panel.get('title')!r}"
        assert panel["type"] and panel["title"], where
        grid = panel["gridPos"]
        assert {"h", "w", "x", "y"} <= set(grid), where
        assert grid["w"] > 0 and grid["h"] > 0 and grid["x"] + grid["w"] <= 24, where
        cells = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & occupied, f"{where} overlaps another panel"
        occupied |= cells
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": uid}, where
        assert panel["fieldConfig"]["defaults"].get("unit"), f"{where} has no unit"
        assert panel["targets"], where
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), where
        for target in panel["targets"]:
            assert target["expr"].strip(), where
            assert target.get("datasource", panel["datasource"])["uid"] == uid, where


def _all_queries() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (query.where, query.expr, template_values(DASHBOARDS[query.dashboard]))
        for name, board in DASHBOARDS.items()
        for query in panel_queries(name, board)
    ]


@pytest.mark.parametrize(("where", "expr", "variables"), _all_queries(), ids=lambda value: str(value)[:60])
def test_every_query_parses_after_substitution(where: str, expr: str, variables: dict[str, str]) -> None:
    promql_parser.parse(substitute(expr, variables))


def test_no_import_placeholders_or_unit_suffix_mistakes() -> None:
    for name, board in DASHBOARDS.items():
        text = json.dumps(board)
        assert "${DS_" not in text, name
        for query in panel_queries(name, board):
            # Counters are exposed with _total: a rate over the bare name would find nothing.
            for counter in ("streaming_events_in", "streaming_events_out", "streaming_dead_letters"):
                assert f"{counter}[" not in query.expr and f"{counter}{{" not in query.expr, query.where


def test_latency_panels_show_the_slos() -> None:
    def thresholds(board: str, title_part: str) -> list[float]:
        (panel,) = [p for p in iter_panels(DASHBOARDS[board]) if title_part in p["title"]]
        steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
        return [step["value"] for step in steps if step["value"] is not None]

    assert thresholds("fraud.json", "Score latency") == [0.1]
    assert thresholds("predictive-maintenance.json", "event-to-output") == [1]
