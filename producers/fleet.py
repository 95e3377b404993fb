"""A simulated machine fleet: readings with noise, drift, daily and load cycles, degradation and failures.

The model is loosely shaped after the public AI4I 2020 predictive-maintenance data: machines of quality
L, M and H (50/30/20 %), air temperature near 300 K, process temperature about 10 K above it, rotational
speed near 1,500 rpm, torque near 40 Nm, tool wear in minutes, and five failure modes. Unlike the AI4I
table, failures here build up over time: each non-random failure is preceded by a degradation phase
(mean `degradation_seconds` of event time) whose signature shows in the signals:

- tool_wear: tool wear climbs past 200 min, torque and vibration rise;
- heat_dissipation: process-air temperature difference shrinks below 8.6 K, speed drops below 1,380 rpm;
- power: torque up and speed down, so power leaves its normal band; vibration rises;
- overstrain: torque rises on a worn tool; vibration rises most;
- random: no warning, as in the AI4I data (a small share of failures).

Everything for all machines is computed at once with numpy, `readings_per_record` readings at a time.
"""

from __future__ import annotations

import math

import numpy as np

from contracts import SENSOR_FIELDS, Label, SensorReadingBatch
from producers.records import OutgoingRecord
from streaming.schemas import encode

MACHINE_TYPES: tuple[str, ...] = ("L", "M", "H")
TYPE_SHARES: tuple[float, ...] = (0.5, 0.3, 0.2)
FAILURE_MODES: tuple[str, ...] = ("tool_wear", "heat_dissipation", "power", "overstrain", "random")
FAILURE_MODE_SHARES: tuple[float, ...] = (0.25, 0.2, 0.2, 0.25, 0.1)
#: Lower quality tools wear faster (tool minutes per minute of use).
WEAR_RATE_BY_TYPE = np.array([1.2, 1.0, 0.8])

_DAY = 86_400.0
_RANDOM_MODE = FAILURE_MODES.index("random")


class MachineFleet:
    """N machines emitting readings; `generate()` returns the next block of records and failure labels.

    >>> fleet = MachineFleet(machines=3, seed=1, start_time=1.7e9, readings_per_record=5)
    >>> records = fleet.generate(None)
    >>> [record.events for record in records], records[0].topic
    ([5, 5, 5], 'sensor_readings')
    >>> fleet.generate(7)[-1].events  # a bound cuts the block short
    2
    """

    service = "producer-sensors"
    data_topic = "sensor_readings"
    numeric_fields: tuple[str, ...] = SENSOR_FIELDS
    required_fields: tuple[str, ...] = ("machine_id", "machine_type", "event_time", *SENSOR_FIELDS)

    def __init__(
        self,
        machines: int,
        seed: int,
        start_time: float,
        reading_interval_seconds: float = 1.0,
        readings_per_record: int = 10,
        failure_rate_per_machine_day: float = 0.5,
        degradation_seconds: float = 1_800.0,
        repair_seconds: float = 900.0,
    ) -> None:
        if machines < 1:
            raise ValueError("a fleet needs at least one machine")
        self.machines = machines
        self.start_time = float(start_time)
        self.interval = float(reading_interval_seconds)
        self.readings_per_record = int(readings_per_record)
        self.failure_rate_per_second = failure_rate_per_machine_day / _DAY
        self.degradation_seconds = float(degradation_seconds)
        self.repair_seconds = float(repair_seconds)
        self.block_start = float(start_time)
        self.failures = 0
        rng = self._rng = np.random.default_rng(seed)
        n = machines
        self.ids = [f"m-{index:04d}" for index in range(n)]
        self.type_index = rng.choice(len(MACHINE_TYPES), size=n, p=TYPE_SHARES)
        self.types = [MACHINE_TYPES[index] for index in self.type_index]
        self.phase = rng.random(n)
        # Records of a block go out in the order of their first reading, so timestamps rise.
        self.order = np.argsort(self.phase, kind="stable")
        self.air_base = rng.normal(300.0, 1.0, n)
        self.air_drift = np.zeros(n)
        self.day_phase = rng.normal(0.0, 0.3, n)
        self.load_period = rng.uniform(1_800.0, 7_200.0, n)
        self.load_phase = rng.uniform(0.0, 2 * math.pi, n)
        self.speed_base = rng.normal(1_500.0, 40.0, n)
        self.torque_base = rng.normal(40.0, 3.0, n)
        self.vibration_base = np.clip(rng.normal(1.8, 0.25, n), 0.8, None)
        self.wear_rate = WEAR_RATE_BY_TYPE[self.type_index] * rng.uniform(0.9, 1.1, n)
        self.tool_wear = rng.uniform(0.0, 150.0, n)
        self.replace_at = rng.uniform(170.0, 200.0, n)
        self.degrading = np.zeros(n, dtype=bool)
        self.mode = np.full(n, -1)
        self.onset = np.zeros(n)
        self.failure_at = np.full(n, np.inf)
        self.wear_at_onset = np.zeros(n)
        self.wear_target = np.zeros(n)
        self.down_until = np.full(n, -np.inf)

    @property
    def natural_rate(self) -> float:
        """Readings per second of event time."""
        return self.machines / self.interval

    def generate(self, max_events: int | None) -> list[OutgoingRecord]:
        n, count = self.machines, self.readings_per_record
        rng = self._rng
        block_seconds = count * self.interval
        start = self.block_start
        end = start + block_seconds
        times = start + (np.arange(count)[None, :] + self.phase[:, None]) * self.interval

        self._start_degradations(start, block_seconds)
        degrading = self.degrading[:, None]
        duration = np.maximum(self.failure_at - self.onset, 1e-9)
        progress = np.where(
            degrading, np.clip((times - self.onset[:, None]) / duration[:, None], 0.0, 1.0), 0.0
        )
        severity = np.where((self.mode == _RANDOM_MODE)[:, None], 0.0, progress**2)
        is_tool, is_heat, is_power, is_overstrain = (
            (self.mode == FAILURE_MODES.index(name))[:, None].astype(float)
            for name in ("tool_wear", "heat_dissipation", "power", "overstrain")
        )

        steps = np.arange(1, count + 1)[None, :]
        wear = self.tool_wear[:, None] + self.wear_rate[:, None] * (self.interval / 60.0) * steps
        worn = self.wear_at_onset[:, None] + (self.wear_target - self.wear_at_onset)[:, None] * progress
        wear = np.where(degrading & (is_tool > 0), np.maximum(wear, worn), wear)

        self.air_drift = self.air_drift * math.exp(-block_seconds / 21_600.0) + rng.normal(
            0.0, 0.4 * math.sqrt(block_seconds / 3_600.0), n
        )
        day = np.sin(2 * math.pi * (times / _DAY - 0.375) + self.day_phase[:, None])
        load = 1.0 + 0.12 * np.sin(2 * math.pi * times / self.load_period[:, None] + self.load_phase[:, None])
        load = load + 0.05 * day
        noise = rng.standard_normal((5, n, count))
        air = (self.air_base + self.air_drift)[:, None] + 1.5 * day + 0.15 * noise[0]
        delta = 10.0 + 1.5 * (load - 1.0) - 2.8 * severity * is_heat + 0.15 * noise[1]
        process = air + delta
        speed = (
            self.speed_base[:, None] * (1.0 - 0.08 * (load - 1.0))
            - 170.0 * severity * is_heat
            - 120.0 * severity * is_power
            + 6.0 * noise[2]
        )
        torque = (
            self.torque_base[:, None] * load
            + 0.015 * wear
            + severity * (22.0 * is_power + 18.0 * is_overstrain + 6.0 * is_tool)
            + 1.2 * noise[3]
        )
        vibration = (
            self.vibration_base[:, None]
            + 0.004 * wear
            + 1.5 * (load - 1.0)
            + severity * (2.5 * is_tool + 1.2 * is_heat + 3.0 * is_power + 4.0 * is_overstrain)
            + 0.2 * np.abs(noise[4])
        )
        up = (times >= self.down_until[:, None]) & (times < self.failure_at[:, None])
        columns = {
            "event_time": np.round(times, 3).tolist(),
            "air_temperature_k": np.round(air, 2).tolist(),
            "process_temperature_k": np.round(process, 2).tolist(),
            "rotational_speed_rpm": np.round(np.clip(speed, 0.0, None), 1).tolist(),
            "torque_nm": np.round(np.clip(torque, 0.1, None), 2).tolist(),
            "vibration_mm_s": np.round(np.clip(vibration, 0.0, None), 3).tolist(),
            "tool_wear_min": np.round(wear, 2).tolist(),
        }
        records = self._records(columns, up, max_events)
        # A stopped machine does not wear its tool.
        self.tool_wear = np.where(up[:, -1], wear[:, -1], self.tool_wear)
        replaced = (self.tool_wear >= self.replace_at) & ~(self.degrading & (self.mode == 0))
        if replaced.any():  # planned tool change: no failure, no label
            self.tool_wear[replaced] = 0.0
            self.replace_at[replaced] = rng.uniform(170.0, 200.0, int(replaced.sum()))
        records.extend(self._fail_and_repair(end))
        self.block_start = end
        return records

    def _start_degradations(self, start: float, block_seconds: float) -> None:
        rng = self._rng
        healthy = ~self.degrading & (self.down_until <= start)
        probability = -math.expm1(-self.failure_rate_per_second * block_seconds)
        starting = healthy & (rng.random(self.machines) < probability)
        number = int(starting.sum())
        if not number:
            return
        modes = rng.choice(len(FAILURE_MODES), size=number, p=FAILURE_MODE_SHARES)
        onsets = start + rng.random(number) * block_seconds
        durations = self.degradation_seconds * rng.uniform(0.6, 1.4, number)
        durations = np.where(modes == _RANDOM_MODE, 0.0, durations)
        self.degrading[starting] = True
        self.mode[starting] = modes
        self.onset[starting] = onsets
        self.failure_at[starting] = onsets + durations
        self.wear_at_onset[starting] = self.tool_wear[starting]
        self.wear_target[starting] = rng.uniform(200.0, 240.0, number)

    def _records(
        self, columns: dict[str, list[list[float]]], up: np.ndarray, max_events: int | None
    ) -> list[OutgoingRecord]:
        records: list[OutgoingRecord] = []
        remaining = max_events
        every: np.ndarray = np.asarray(up.all(axis=1))
        for machine in self.order.tolist():
            if every[machine]:
                rows = {name: values[machine] for name, values in columns.items()}
            else:
                mask = up[machine]
                if not mask.any():
                    continue  # down for repair: a stopped machine sends nothing
                kept = np.flatnonzero(mask).tolist()
                rows = {name: [values[machine][index] for index in kept] for name, values in columns.items()}
            if remaining is not None:
                if remaining <= 0:
                    break
                if len(rows["event_time"]) > remaining:
                    rows = {name: values[:remaining] for name, values in rows.items()}
                remaining -= len(rows["event_time"])
            batch = SensorReadingBatch(
                machine_id=self.ids[machine],
                machine_type=self.types[machine],
                **rows,  # type: ignore[arg-type]
            )
            times = rows["event_time"]
            records.append(
                OutgoingRecord(
                    "sensor_readings",
                    self.ids[machine].encode(),
                    encode(batch),
                    int(times[0] * 1000),
                    events=len(times),
                    due_time=times[-1],  # a device sends its buffer once the last reading is taken
                )
            )
        return records

    def _fail_and_repair(self, end: float) -> list[OutgoingRecord]:
        failing = np.flatnonzero(self.degrading & (self.failure_at < end))
        labels: list[OutgoingRecord] = []
        for machine in sorted(failing.tolist(), key=lambda index: self.failure_at[index]):
            failed_at = round(float(self.failure_at[machine]), 3)
            label = Label(
                kind="machine_failure",
                entity_id=self.ids[machine],
                event_time=failed_at,
                reported_time=failed_at,
                failure_mode=FAILURE_MODES[self.mode[machine]],
            )
            labels.append(
                OutgoingRecord(
                    "labels", self.ids[machine].encode(), encode(label), int(failed_at * 1000), 1, failed_at
                )
            )
            self.failures += 1
        if failing.size:
            # The repair replaces the tool and clears the fault: the machine restarts as new.
            self.down_until[failing] = self.failure_at[failing] + self.repair_seconds
            self.degrading[failing] = False
            self.mode[failing] = -1
            self.failure_at[failing] = np.inf
            self.tool_wear[failing] = 0.0
            self.replace_at[failing] = self._rng.uniform(170.0, 200.0, failing.size)
        return labels

    def finish(self) -> list[OutgoingRecord]:
        return []
