"""Replay, record and rewind: moving recorded streams in and out of Kafka, and reprocessing from a time."""
