"""Where the project's checkout is, for tests that read or run its files."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
