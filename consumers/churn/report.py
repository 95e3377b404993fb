"""The weekly HTML report: the model's rules or importances, a calibration plot, a lift chart, the timings.

Images are drawn with matplotlib's Agg backend and embedded as base64 PNGs, so the page is one file that
can be mailed or archived. The page is written atomically.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from consumers.churn.atomic import atomic_file


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def calibration_points(labels: np.ndarray, probabilities: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Mean predicted vs observed churn rate per probability decile (equal-count bins).

    >>> points = calibration_points(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.7, 0.9]), bins=2)
    >>> points["observed"].tolist()
    [0.0, 1.0]
    """
    frame = pd.DataFrame({"label": labels.astype(float), "probability": probabilities})
    frame = frame.sort_values("probability", kind="stable", ignore_index=True)
    frame["bin"] = np.minimum((np.arange(len(frame)) * bins) // max(len(frame), 1), bins - 1)
    grouped = frame.groupby("bin")
    return pd.DataFrame(
        {
            "predicted": grouped["probability"].mean(),
            "observed": grouped["label"].mean(),
            "rows": grouped.size(),
        }
    ).reset_index(drop=True)


def lift_points(labels: np.ndarray, scores: np.ndarray, steps: int = 20) -> pd.DataFrame:
    """Cumulative share of churners caught vs share of customers contacted, best scores first.

    >>> lift_points(np.array([1, 0, 0, 0]), np.array([0.9, 0.1, 0.2, 0.3]), steps=4)["captured"].tolist()
    [1.0, 1.0, 1.0, 1.0]
    """
    order = np.argsort(-scores, kind="stable")
    caught = np.cumsum(labels[order].astype(float))
    total = caught[-1] if len(caught) and caught[-1] > 0 else 1.0
    shares = np.linspace(1.0 / steps, 1.0, steps)
    positions = np.maximum(np.ceil(shares * len(order)).astype(int) - 1, 0)
    captured = caught[positions] / total
    return pd.DataFrame({"contacted": shares, "captured": captured, "lift": captured / shares})


def _png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=96, bbox_inches="tight")
    _pyplot().close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _image(description: str, figure: Any) -> str:
    return f"<img alt='{description}' src='data:image/png;base64,{_png(figure)}'>"


def _draw(predictions: dict[str, pd.DataFrame]) -> Any:
    plt = _pyplot()
    figure, (calibration, lift) = plt.subplots(1, 2, figsize=(11, 4.2))
    calibration.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect")
    lift.plot([0, 1], [0, 1], color="grey", linestyle=":", label="random")
    for name, frame in predictions.items():
        labels = frame["churned"].to_numpy(dtype=bool)
        probabilities = frame["probability"].to_numpy(dtype=float)
        points = calibration_points(labels, probabilities)
        calibration.plot(points["predicted"], points["observed"], marker="o", label=name)
        curve = lift_points(labels, probabilities)
        lift.plot(np.r_[0.0, curve["contacted"]], np.r_[0.0, curve["captured"]], label=name)
    calibration.set(
        title="Calibration (deciles of predicted probability)",
        xlabel="mean predicted probability",
        ylabel="observed churn rate",
        xlim=(0, 1),
        ylim=(0, 1),
    )
    lift.axvline(0.1, color="grey", linewidth=0.8)
    lift.set(
        title="Cumulative gains (lift chart)",
        xlabel="share of customers contacted, riskiest first",
        ylabel="share of churners reached",
        xlim=(0, 1),
        ylim=(0, 1),
    )
    for axes in (calibration, lift):
        axes.legend(loc="best", fontsize=8)
        axes.grid(alpha=0.3)
    return figure


def evaluation_figure(predictions: dict[str, pd.DataFrame], path: Path) -> Path:
    """Calibration and lift of each named prediction frame (`churned`, `probability`) as one PNG."""
    figure = _draw(predictions)
    with atomic_file(Path(path)) as temporary:
        figure.savefig(temporary, format="png", dpi=96, bbox_inches="tight")
    _pyplot().close(figure)
    return Path(path)


@dataclass
class ReportContent:
    """What one week's page shows.

    Parameters
    ----------
    week
        The week, e.g. `2026-W48`.
    model_name, model_version
        The scoring model.
    model_text
        The tree's rules (`export_text`) or the importances, as text.
    importances
        Feature importances (for the bar chart).
    holdout
        Predictions of an honest holdout (`churned`, `probability`), or None when history is too short.
    holdout_note
        What the holdout was (cut-off, training cut-offs).
    timings
        Step -> wall seconds.
    budget_seconds
        The weekly budget.
    facts
        Other figures to list (customers scored, alerts, storage reduction, CPU of updates...).

    >>> import tempfile
    >>> content = ReportContent(week="2026-W48", model_name="decision_tree", model_version=202648,
    ...     model_text="|--- recency_days <= 9.5", timings={"extract": 1.0, "train": 2.0},
    ...     budget_seconds=60.0)
    >>> path = write_report(content, Path(tempfile.mkdtemp()) / "report.html")
    >>> "recency_days" in path.read_text()
    True
    """

    week: str
    model_name: str
    model_version: int
    model_text: str
    timings: dict[str, float]
    budget_seconds: float
    importances: pd.Series | None = None
    holdout: pd.DataFrame | None = None
    holdout_note: str = ""
    facts: dict[str, str] = field(default_factory=dict)


def _timings_figure(timings: dict[str, float], budget: float) -> Any:
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(7, 0.5 + 0.4 * len(timings)))
    names = list(timings)
    axes.barh(names, [timings[name] for name in names], color="#4c72b0")
    axes.invert_yaxis()
    total = sum(timings.values())
    axes.set(
        xlabel="seconds",
        title=f"Job steps: {total:,.1f} s of a {budget:,.0f} s budget ({total / budget:.1%})",
    )
    axes.grid(axis="x", alpha=0.3)
    return figure


def _importances_figure(importances: pd.Series) -> Any:
    plt = _pyplot()
    top = importances.sort_values(ascending=True).tail(12)
    figure, axes = plt.subplots(figsize=(7, 0.5 + 0.35 * len(top)))
    axes.barh(top.index, top.to_numpy(), color="#55a868")
    axes.set(xlabel="importance", title="Feature importances")
    axes.grid(axis="x", alpha=0.3)
    return figure


def render(content: ReportContent) -> str:
    """The page as HTML text."""
    escape = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>Churn {escape(content.week)}</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
        "th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}"
        "pre{background:#f7f7f7;padding:1em;overflow-x:auto;font-size:12px}</style></head><body>",
        f"<h1>Customer churn, week {escape(content.week)}</h1>",
        f"<p>Model <b>{escape(content.model_name)}</b>, version {content.model_version}.</p>",
    ]
    if content.facts:
        parts.append("<h2>This week</h2><table>")
        parts.extend(f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>" for k, v in content.facts.items())
        parts.append("</table>")
    parts.append("<h2>Job timings</h2><table><tr><th>step</th><th>seconds</th><th>share of budget</th></tr>")
    for name, seconds in content.timings.items():
        parts.append(
            f"<tr><td>{escape(name)}</td><td>{seconds:,.2f}</td>"
            f"<td>{seconds / content.budget_seconds:.2%}</td></tr>"
        )
    parts.append("</table>")
    parts.append(_image("timings", _timings_figure(content.timings, content.budget_seconds)))
    if content.holdout is not None and len(content.holdout):
        parts.append(f"<h2>Calibration and lift</h2><p>{escape(content.holdout_note)}</p>")
        parts.append(_image("calibration and lift", _draw({content.model_name: content.holdout})))
    else:
        parts.append(
            f"<h2>Calibration and lift</h2><p>No holdout this week. {escape(content.holdout_note)}</p>"
        )
    title = "Rules of the tree" if content.model_name.startswith("decision_tree") else "What the model weighs"
    parts.append(f"<h2>{title}</h2><pre>{escape(content.model_text)}</pre>")
    if content.importances is not None and len(content.importances):
        parts.append(_image("importances", _importances_figure(content.importances)))
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(content: ReportContent, path: Path) -> Path:
    """Render and write the page atomically; returns its path."""
    text = render(content)
    with atomic_file(Path(path)) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return Path(path)
