"""Maintenance features: a closed sensor window, physics-derived signals, and the machine's recent trend.

The derived signals follow the failure modes of the AI4I 2020 predictive-maintenance data the lesson uses:
heat dissipation (process minus air temperature), power (torque times angular speed) and overstrain
(tool wear times torque).
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque

from streaming.schemas import WindowAggregate
from streaming.state.stable import stable

__all__ = ["MaintenanceFeatures"]

#: Window statistics used as features; others (first, last, count) are covered by these or by the trend.
STATISTICS: frozenset[str] = frozenset({"mean", "std", "min", "max", "slope", "p95"})
MACHINE_TYPES: tuple[str, ...] = ("L", "M", "H")


@stable("maintenance.features/1")
class MaintenanceFeatures:
    """Features of a window plus the machine's last `history_windows` windows.

    For each sensor mean it adds `<field>_mean_vs_history` (current minus the average of the previous
    windows) and `<field>_mean_trend` (change per window since the oldest remembered window).

    >>> from streaming.schemas import WindowAggregate
    >>> def window(start, torque):
    ...     return WindowAggregate(key="m-1", window_start=1.7e9 + start, window_end=1.7e9 + start + 60,
    ...         count=60, aggregates={"torque_nm": {"mean": torque, "max": torque + 1}},
    ...         closed_by="watermark", attributes={"machine_type": "M"})
    >>> features = MaintenanceFeatures(history_windows=3)
    >>> _ = features.transform(window(0, 40.0))
    >>> x = features.transform(window(60, 46.0))
    >>> x["torque_nm_mean"], x["torque_nm_mean_vs_history"], x["torque_nm_mean_trend"], x["type_M"]
    (46.0, 6.0, 6.0, 1.0)
    """

    def __init__(self, history_windows: int = 6, max_machines: int = 100_000) -> None:
        self.history_windows = history_windows
        self.max_machines = max_machines
        self.history: OrderedDict[str, deque[dict[str, float]]] = OrderedDict()

    def __len__(self) -> int:
        return len(self.history)

    def transform(self, window: WindowAggregate) -> dict[str, float]:
        current = window_features(window)
        past = self.history.get(window.key)
        if past is None:
            past = self.history[window.key] = deque(maxlen=self.history_windows)
            if len(self.history) > self.max_machines:
                self.history.popitem(last=False)
        else:
            self.history.move_to_end(window.key)
        features = dict(current)
        for name, value in current.items():
            if not name.endswith("_mean"):
                continue
            previous = [entry[name] for entry in past if name in entry]
            if previous:
                features[f"{name}_vs_history"] = value - sum(previous) / len(previous)
                features[f"{name}_trend"] = (value - previous[0]) / len(previous)
            else:
                features[f"{name}_vs_history"] = 0.0
                features[f"{name}_trend"] = 0.0
        features["history_windows"] = float(len(past))
        machine_type = window.attributes.get("machine_type", "")
        for known in MACHINE_TYPES:
            features[f"type_{known}"] = 1.0 if machine_type == known else 0.0
        past.append(current)
        return features

    def reset(self, machine_id: str) -> None:
        """Forget a machine's history, e.g. after a repair."""
        self.history.pop(machine_id, None)


def window_features(window: WindowAggregate) -> dict[str, float]:
    """The window's statistics plus the physics-derived signals, all finite floats."""
    features: dict[str, float] = {}
    for field, statistics in window.aggregates.items():
        for statistic, value in statistics.items():
            if statistic in STATISTICS and math.isfinite(value):
                features[f"{field}_{statistic}"] = float(value)
    aggregates = window.aggregates
    air = aggregates.get("air_temperature_k", {}).get("mean")
    process = aggregates.get("process_temperature_k", {}).get("mean")
    speed = aggregates.get("rotational_speed_rpm", {}).get("mean")
    torque = aggregates.get("torque_nm", {}).get("mean")
    wear = aggregates.get("tool_wear_min", {}).get("max")
    if air is not None and process is not None:
        features["temperature_difference_k"] = process - air
    if speed is not None and torque is not None:
        features["power_w"] = torque * speed * 2 * math.pi / 60
    if wear is not None and torque is not None:
        features["wear_torque"] = wear * torque
    features["readings"] = float(window.count)
    return features
