"""Typed, versioned event schemas and their validated JSON codec."""

from streaming.schemas.alert import SEVERITY_RANK, Alert, AlertKind, Severity, stable_alert_id
from streaming.schemas.base import Event
from streaming.schemas.codec import Codec, EventDecodeError, encode
from streaming.schemas.dead_letter import DeadLetter, DeadLetterReason
from streaming.schemas.label import FailureMode, Label, LabelKind
from streaming.schemas.score import FeatureContribution, Score, ScoreKind
from streaming.schemas.sensor import SENSOR_FIELDS, MachineType, SensorReading, SensorReadingBatch
from streaming.schemas.transaction import Transaction
from streaming.schemas.window import WindowAggregate

__all__ = [
    "SENSOR_FIELDS",
    "SEVERITY_RANK",
    "Alert",
    "AlertKind",
    "Codec",
    "DeadLetter",
    "DeadLetterReason",
    "Event",
    "EventDecodeError",
    "FailureMode",
    "FeatureContribution",
    "Label",
    "LabelKind",
    "MachineType",
    "Score",
    "ScoreKind",
    "SensorReading",
    "SensorReadingBatch",
    "Severity",
    "Transaction",
    "WindowAggregate",
    "encode",
    "stable_alert_id",
]
