"""Maintenance features: a closed sensor window, physics-derived signals, and the machine's own baseline.

The derived signals follow the failure modes of the AI4I 2020 predictive-maintenance data the lesson uses:
heat dissipation (process minus air temperature), power (torque times angular speed) and overstrain
(tool wear times torque).
"""

from __future__ import annotations

import math
from collections import OrderedDict

from streaming.schemas import WindowAggregate
from streaming.state.stable import stable

__all__ = ["MaintenanceFeatures"]

#: Window statistics used as features; others (first, last, count) are covered by these or by the trend.
STATISTICS: frozenset[str] = frozenset({"mean", "std", "min", "max", "slope", "p95"})
MACHINE_TYPES: tuple[str, ...] = ("L", "M", "H")


@stable("maintenance.features/2")
class MaintenanceFeatures:
    """Features of a window, and how far each sensor mean is from the machine's own running baseline.

    Machines differ (one runs at 1,450 rpm, another at 1,550) and degrade slowly, so for each sensor mean
    it adds `<field>_mean_vs_machine`: the current value minus an exponentially weighted mean of the
    machine's earlier windows, spanning about `history_windows` windows (0 on a machine's first window).

    Parameters
    ----------
    history_windows
        Span of the running baseline, in windows of the same machine.
    max_machines
        Machines remembered at most; the least recently seen is forgotten first.

    >>> from streaming.schemas import WindowAggregate
    >>> def window(start, torque):
    ...     return WindowAggregate(key="m-1", window_start=1.7e9 + start, window_end=1.7e9 + start + 60,
    ...         count=60, aggregates={"torque_nm": {"mean": torque, "max": torque + 1}},
    ...         closed_by="watermark", attributes={"machine_type": "M"})
    >>> features = MaintenanceFeatures(history_windows=3)
    >>> _ = features.transform(window(0, 40.0))
    >>> x = features.transform(window(60, 46.0))
    >>> x["torque_nm_mean"], x["torque_nm_mean_vs_machine"], x["type_M"]
    (46.0, 6.0, 1.0)
    >>> features.transform(window(120, 46.0))["torque_nm_mean_vs_machine"]   # the baseline moved to 43
    3.0
    """

    def __init__(self, history_windows: int = 200, max_machines: int = 100_000) -> None:
        self.history_windows = history_windows
        self.max_machines = max_machines
        self.baselines: OrderedDict[str, dict[str, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self.baselines)

    def transform(self, window: WindowAggregate) -> dict[str, float]:
        current = window_features(window)
        baseline = self.baselines.get(window.key)
        if baseline is None:
            baseline = self.baselines[window.key] = {}
            if len(self.baselines) > self.max_machines:
                self.baselines.popitem(last=False)
        else:
            self.baselines.move_to_end(window.key)
        rate = 2.0 / (self.history_windows + 1.0)
        features = dict(current)
        for name, value in current.items():
            if not name.endswith("_mean"):
                continue
            usual = baseline.get(name)
            if usual is None:
                features[f"{name}_vs_machine"] = 0.0
                baseline[name] = value
            else:
                features[f"{name}_vs_machine"] = value - usual
                baseline[name] = usual + rate * (value - usual)
        machine_type = window.attributes.get("machine_type", "")
        for known in MACHINE_TYPES:
            features[f"type_{known}"] = 1.0 if machine_type == known else 0.0
        return features

    def reset(self, machine_id: str) -> None:
        """Forget a machine's baseline, e.g. after a repair."""
        self.baselines.pop(machine_id, None)


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
    wear_statistics = aggregates.get("tool_wear_min", {})
    wear = wear_statistics.get("max", wear_statistics.get("mean"))
    if air is not None and process is not None:
        features["temperature_difference_k"] = process - air
    if speed is not None and torque is not None:
        features["power_w"] = torque * speed * 2 * math.pi / 60
    if wear is not None and torque is not None:
        features["wear_torque"] = wear * torque
    features["readings"] = float(window.count)
    return features
