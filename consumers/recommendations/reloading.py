"""The API's fallback model, reloaded whenever the learner saves newer artifacts.

The API must answer from the moment it starts, also before the learner's first save; and several replicas
must switch to a new model by themselves. So the fallback polls the artifacts directory and swaps in each
new version whole; until the first one exists it knows no item and recommends nothing (flagged cold start).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from consumers.recommendations.interface import RecommendationList, Recommender

log = logging.getLogger(__name__)

LATEST = "LATEST"


class ReloadingRecommender:
    """A `Recommender` that delegates to the newest artifacts under `directory`.

    Parameters
    ----------
    directory
        The learner's artifacts directory (with its `LATEST` pointer).
    loader
        Builds a recommender from the directory (`artifacts.load_artifacts`).
    interval_seconds
        How often to look for a newer version.

    >>> import tempfile
    >>> fallback = ReloadingRecommender(Path(tempfile.mkdtemp()), loader=lambda directory: None)
    >>> fallback.recommend("c-1", 5).cold_start, fallback.similar_items("p-1", 5), fallback.model_version
    (True, None, 0)
    """

    def __init__(
        self, directory: Path, loader: Callable[[Path], Recommender], interval_seconds: float = 5.0
    ) -> None:
        self.directory = Path(directory)
        self.loader = loader
        self.interval_seconds = interval_seconds
        self._current: Recommender | None = None
        self._loaded: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.reload()

    @property
    def model_version(self) -> int:
        return self._current.model_version if self._current is not None else 0

    def recommend(self, customer_id: str, k: int) -> RecommendationList:
        current = self._current
        if current is None:
            return RecommendationList((), 0, cold_start=True)
        return current.recommend(customer_id, k)

    def similar_items(self, item_id: str, k: int) -> RecommendationList | None:
        current = self._current
        return None if current is None else current.similar_items(item_id, k)

    def knows_item(self, item_id: str) -> bool:
        current = self._current
        return current is not None and current.knows_item(item_id)

    def __getattr__(self, name: str) -> object:
        # Optional extras of the real model (describe_item, catalogue_size) pass through once loaded.
        current = self.__dict__.get("_current")
        if current is None:
            raise AttributeError(name)
        return getattr(current, name)

    def reload(self) -> bool:
        """Load the newest version if it changed; True when a new one was swapped in."""
        try:
            version = self._stamp()
        except OSError:
            return False
        if version is None or version == self._loaded:
            return False
        try:
            loaded = self.loader(self.directory)
        except Exception as error:  # a half-written or damaged version: keep the current one
            log.warning("artifacts %s not loaded (%s); keeping version %s", version, error, self._loaded)
            return False
        self._current, self._loaded = loaded, version
        log.info("fallback model now %s (model version %d)", version, self.model_version)
        return True

    def _stamp(self) -> str | None:
        """What identifies the artifacts there now: the `LATEST` pointer, else the newest change."""
        pointer = self.directory / LATEST
        if pointer.is_file():
            return pointer.read_text().strip()
        if not self.directory.is_dir():
            return None
        changes = [entry.stat().st_mtime_ns for entry in self.directory.iterdir()]
        return f"mtime-{max(changes)}" if changes else None

    def start(self) -> ReloadingRecommender:
        def watch() -> None:
            while not self._stop.wait(self.interval_seconds):
                self.reload()

        self._thread = threading.Thread(target=watch, name="artifacts-reload", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
