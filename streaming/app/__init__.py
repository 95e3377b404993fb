"""The consume loop: sources, timers, state, commits and checkpoints. See `Application`."""

from streaming.app.application import Application, Checkpointable, ProducerFenced, RunSummary
from streaming.app.context import Context
from streaming.app.record import Record

__all__ = ["Application", "Checkpointable", "Context", "ProducerFenced", "Record", "RunSummary"]
