"""The event contracts that producers and consumers share: what travels on each topic.

The plumbing (the `Event` base, the codec, dead letters) is in `streaming.schemas`; this package holds the
domain's events only, so producers and consumers depend on it and not on each other.
"""

from contracts.alert import SEVERITY_RANK, Alert, AlertKind, Severity, stable_alert_id
from contracts.churn_score import ChurnScore, RiskBand
from contracts.customer import CustomerProfile
from contracts.label import FailureMode, Label, LabelKind
from contracts.score import FeatureContribution, Score, ScoreKind
from contracts.sensor import SENSOR_FIELDS, MachineType, SensorReading, SensorReadingBatch
from contracts.transaction import Transaction, TransactionType

__all__ = [
    "SENSOR_FIELDS",
    "SEVERITY_RANK",
    "Alert",
    "AlertKind",
    "ChurnScore",
    "CustomerProfile",
    "FailureMode",
    "FeatureContribution",
    "Label",
    "LabelKind",
    "MachineType",
    "RiskBand",
    "Score",
    "ScoreKind",
    "SensorReading",
    "SensorReadingBatch",
    "Severity",
    "Transaction",
    "TransactionType",
    "stable_alert_id",
]
