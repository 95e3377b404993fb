"""Alerts and receivers shared by the alerting tests."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from contracts import Alert, stable_alert_id

MakeAlert = Callable[..., Alert]


@pytest.fixture
def make_alert() -> MakeAlert:
    def make(
        cause: str = "w-1", kind: str = "maintenance", entity: str = "M-1", severity: str = "warning"
    ) -> Alert:
        now = time.time()
        return Alert(
            alert_id=stable_alert_id(kind, entity, cause),
            kind=kind,
            entity_id=entity,  # type: ignore[arg-type]
            severity=severity,
            score=0.91,
            threshold=0.5,
            model_name="hst",
            model_version=2,  # type: ignore[arg-type]
            explanation="torque_mean=+2.3 tool_wear=+1.1",
            event_time=now - 1.0,
            created_at=now,
        )

    return make
