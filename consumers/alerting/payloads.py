"""How an alert looks to people and to chat tools: a one-line summary and a Slack-compatible payload."""

from __future__ import annotations

import time
from typing import Any

from contracts import Alert

_SEVERITY_EMOJI = {"info": ":information_source:", "warning": ":warning:", "critical": ":rotating_light:"}


def summary_line(alert: Alert) -> str:
    """One human-readable line.

    >>> alert = Alert(alert_id="fraud-1", kind="fraud", entity_id="c-7", severity="critical", score=0.97,
    ...     threshold=0.7, model_version=2, explanation="amount_ratio=14.2", event_time=1.7e9,
    ...     created_at=1.7e9)
    >>> summary_line(alert)
    '2023-11-14T22:13:20Z CRITICAL fraud c-7 score=0.970/0.700 v2 amount_ratio=14.2 [fraud-1]'
    """
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(alert.event_time))
    status = "" if alert.status == "firing" else " RESOLVED"
    score = ""
    if alert.score is not None:
        threshold = f"/{alert.threshold:.3f}" if alert.threshold is not None else ""
        score = f" score={alert.score:.3f}{threshold}"
    version = f" v{alert.model_version}" if alert.model_version is not None else ""
    explanation = f" {alert.explanation}" if alert.explanation else ""
    return (
        f"{stamp} {alert.severity.upper()}{status} {alert.kind} {alert.entity_id}{score}{version}"
        f"{explanation} [{alert.alert_id}]"
    )


def slack_payload(alert: Alert) -> dict[str, Any]:
    """A Slack incoming-webhook message (`text` for notifications, `blocks` for the layout).

    >>> alert = Alert(alert_id="m-1", kind="maintenance", entity_id="M-17", severity="warning",
    ...     event_time=1.7e9, created_at=1.7e9)
    >>> slack_payload(alert)["text"]
    ':warning: WARNING maintenance alert for M-17'
    """
    emoji = ":white_check_mark:" if alert.status == "resolved" else _SEVERITY_EMOJI[alert.severity]
    state = "resolved" if alert.status == "resolved" else "alert"
    headline = f"{emoji} {alert.severity.upper()} {alert.kind} {state} for {alert.entity_id}"
    fields = [f"*Entity*\n{alert.entity_id}", f"*Severity*\n{alert.severity}"]
    if alert.score is not None:
        threshold = f" (threshold {alert.threshold:.3f})" if alert.threshold is not None else ""
        fields.append(f"*Score*\n{alert.score:.3f}{threshold}")
    if alert.model_version is not None:
        fields.append(f"*Model*\n{alert.model_name or ''} v{alert.model_version}".strip())
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{headline}*"}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": text} for text in fields]},
    ]
    if alert.explanation:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": alert.explanation[:2900]}})
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"id `{alert.alert_id}`"}]})
    return {"text": headline, "blocks": blocks}
