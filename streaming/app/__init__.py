"""The consume loop and what plugs into it: `Application`, `Processor`, `Context`. See `Application`."""

from streaming.app.application import Application
from streaming.app.commits import CommitFailed, ProducerFenced
from streaming.app.context import Context
from streaming.app.loop import RunSummary
from streaming.app.processor import Batch, Offsets, Processor, ProcessorBase, RecordHandler, Source
from streaming.app.record import Record

__all__ = [
    "Application",
    "Batch",
    "CommitFailed",
    "Context",
    "Offsets",
    "Processor",
    "ProcessorBase",
    "ProducerFenced",
    "Record",
    "RecordHandler",
    "RunSummary",
    "Source",
]
