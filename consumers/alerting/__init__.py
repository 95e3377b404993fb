"""Alerting: suppression of candidate alerts, and their signed, retried delivery to subscribers.

Modules: `suppression` (AlertPolicy, used by the scoring services), `signing` (Standard Webhooks
signatures), `filters`, `sinks`, `retry`, `delivery` (one worker per subscriber), `dispatcher`
(`streaming consume alerts`), `receiver` (`streaming alerts receive`), `tail`, `metrics`.

Submodules are imported on demand so the scoring services pay only for `suppression`.
"""

from consumers.alerting.suppression import AlertPolicy

__all__ = ["AlertPolicy"]
