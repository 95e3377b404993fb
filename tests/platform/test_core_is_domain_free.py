"""The core names no domain, and only `streaming/kafka/` imports kafka-python."""

from __future__ import annotations

import ast
import re

from tests.services_support import ROOT

DOMAIN = re.compile(r"fraud|maintenance|machine|card|customer|product", re.IGNORECASE)
PACKAGES = ("streaming", "producers", "consumers", "contracts", "tests", "benchmarks")


def test_nothing_under_streaming_names_a_domain() -> None:
    hits = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in (ROOT / "streaming").rglob("*")
        if path.is_file() and path.suffix in (".py", ".xml", ".properties")
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if DOMAIN.search(line)
    ]
    assert hits == []


def _imports_kafka(path: object) -> bool:
    tree = ast.parse(path.read_text())  # type: ignore[attr-defined]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(alias.name.split(".")[0] == "kafka" for alias in node.names):
            return True
        if (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and (node.module or "").split(".")[0] == "kafka"
        ):
            return True
    return False


def test_only_the_kafka_package_imports_kafka_python() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "streaming/kafka/" not in str(path.relative_to(ROOT)) and _imports_kafka(path)
    ]
    assert offenders == []
