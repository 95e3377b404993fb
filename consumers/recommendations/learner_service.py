"""`streaming consume recommendations`: the learner on the consume loop.

sources  shop_events (ShopEvent, keyed by customer) and products (Product, compacted)
state    the catalogue and the most recent shop events, checkpointed with the offsets they reflect; a
         restart relearns from them (the model is a function of its history)
outputs  precomputed lists in Redis (debounced per changed customer and item), artifacts on disk for the
         API's fallback
batch    the customer segments of `streaming recs segment` (`recommendations.segments_dir`), loaded at
         start and whenever the job writes new ones: the popularity-by-segment fallback of cold start
"""

from __future__ import annotations

import logging
import time
from collections import deque
from pathlib import Path
from typing import Any

from consumers.recommendations.learner import IncrementalLearner
from consumers.recommendations.segment_files import SegmentFiles, Segments
from consumers.recommendations.serving_settings import RecommendationServingSettings
from consumers.recommendations.settings import RecommendationSettings, learner_checkpoint_dir
from contracts.customer import CustomerProfile
from contracts.shop import INTEREST_EVENT_TYPES, Product, ShopEvent
from streaming.app import Application, Batch, Context, ProcessorBase, Source
from streaming.config import Settings
from streaming.schemas import Codec
from streaming.state import CheckpointStore

log = logging.getLogger(__name__)

SERVICE = "recommendations"

#: Seconds between looks at the segmentation directory (two stat calls).
SEGMENTS_CHECK_SECONDS = 5.0


class RecommendationLearner(ProcessorBase):
    """Learns from products and shop events, keeps Redis's precomputed lists fresh, saves artifacts.

    Parameters
    ----------
    settings
        The `[recommendations]` section.
    serving
        The `[recommendation_serving]` section (Redis, the artifacts directory, list lengths).
    precomputer
        Writes changed customers' and items' lists to the cache (None: no cache, e.g. in tests).
    artifacts_dir
        Where artifacts go (None: not saved).
    """

    timer_interval_seconds = 1.0

    def __init__(
        self,
        settings: RecommendationSettings,
        precomputer: Any = None,
        artifacts_dir: Path | None = None,
        background: bool = True,
    ) -> None:
        limit = 1_048_576
        super().__init__(
            "learner",
            [
                Source("shop_events", Codec(ShopEvent, limit)),
                Source("products", Codec(Product, limit)),
                # The churn job's weekly RFM profiles (preferred categories, recency, spend) by customer.
                Source("customer_profiles", Codec(CustomerProfile, limit)),
            ],
        )
        self.settings = settings
        self.background = background
        self.learner = IncrementalLearner(settings, background=background, require_known_products=False)
        self.precomputer = precomputer
        self.artifacts_dir = artifacts_dir
        self.products: dict[str, Product] = {}
        self.recent: deque[ShopEvent] = deque(maxlen=settings.checkpoint_events)
        self.events_seen = 0
        self.profiles_seen = 0
        self.dropped: dict[str, int] = {}
        self._last_artifacts = 0.0
        self._last_precompute = 0.0
        self._last_segments_check = 0.0
        self._saved_model_version = -1
        self.segment_files = SegmentFiles(settings.segments_dir) if settings.segments_dir else None
        self.segments_loaded = 0

    def on_batch(self, batch: Batch, context: Context) -> None:
        if batch.topic == "customer_profiles":
            for profile, _record in batch.items:
                self.learner.update_customer_profile(profile.customer_id, profile)
                self.profiles_seen += 1
            return
        if batch.topic == "products":
            products = [product for product, _record in batch.items]
            for product in products:
                self.products[product.product_id] = product
            self.learner.add_products(products)
            if self.precomputer is not None:
                for product in products:
                    self.precomputer.item_changed(product.product_id)
            return
        for event, _record in batch.items:
            self._learn(event)

    def _learn(self, event: ShopEvent) -> None:
        self.events_seen += 1
        self.recent.append(event)
        reason = self.learner.learn(event)
        if reason is not None:
            self.dropped[reason] = self.dropped.get(reason, 0) + 1
            return
        if self.precomputer is not None and event.event_type in INTEREST_EVENT_TYPES:
            self.precomputer.customer_changed(event.customer_id)
            self.precomputer.item_changed(event.product_id)

    def on_timer(self, now: float, context: Context) -> None:
        if self.segment_files is not None and now - self._last_segments_check >= SEGMENTS_CHECK_SECONDS:
            self._last_segments_check = now
            segments = self.segment_files.changed()
            if segments is not None:
                self.apply_segments(segments)
        if (
            self.precomputer is not None
            and now - self._last_precompute >= self.settings.precompute_interval_seconds
        ):
            self._last_precompute = now
            self.precomputer.set_recommender(self.learner.recommender)
            self.precomputer.run_due()
        if (
            self.artifacts_dir is not None
            and now - self._last_artifacts >= self.settings.artifacts_interval_seconds
        ):
            self._last_artifacts = now
            self.save_artifacts()

    def apply_segments(self, segments: Segments) -> None:
        """Use a new segmentation: its customers' lists are recomputed and the next artifacts carry it."""
        self.learner.set_segments(segments.customer_segments, segments.segment_top_items)
        self.segments_loaded += 1
        self._saved_model_version = -1  # the fallback's artifacts hold the segments too
        if self.precomputer is not None:
            for customer_id in segments.customer_segments:
                self.precomputer.customer_changed(customer_id)
        log.info(
            "%s: %d customers in %d segments loaded from %s",
            SERVICE,
            len(segments.customer_segments),
            len(segments.segment_top_items),
            self.settings.segments_dir,
        )

    def save_artifacts(self) -> Path | None:
        """Save the model for the API's fallback, when it learned anything since the last save."""
        if self.artifacts_dir is None or not self.products or self.events_seen == 0:
            return None
        version = self.learner.recommender.model_version
        if version == self._saved_model_version and self._saved_model_version >= 0:
            return None
        started = time.perf_counter()
        path = self.learner.save(self.artifacts_dir)
        self._saved_model_version = version
        log.info(
            "%s: artifacts v%d saved in %.2fs to %s", SERVICE, version, time.perf_counter() - started, path
        )
        return path

    def on_stop(self) -> None:
        self.learner.close()
        self.save_artifacts()

    # Checkpoint: the inputs the model is a function of, not the model -------------------------------------

    def snapshot(self) -> Any:
        return {
            "version": 1,
            "products": list(self.products.values()),
            "events": list(self.recent),
            "events_seen": self.events_seen,
            "dropped": dict(self.dropped),
            # Plain dicts: the profiles' own contract may gain fields without breaking old checkpoints.
            "profiles": dict(self.learner.recommender.customer_profiles),
        }

    def restore(self, snapshot: Any) -> None:
        if snapshot.get("version") != 1:
            raise ValueError(f"unknown recommendations snapshot version {snapshot.get('version')!r}")
        products: list[Product] = snapshot["products"]
        self.products = {product.product_id: product for product in products}
        self.learner.add_products(products)
        events: list[ShopEvent] = snapshot["events"]
        self.recent.extend(events)
        self.learner.learn_many(events)
        self.learner.refit(wait=True)
        self.events_seen = int(snapshot["events_seen"])
        self.dropped = dict(snapshot["dropped"])
        for customer_id, profile in (snapshot.get("profiles") or {}).items():
            self.learner.update_customer_profile(customer_id, profile)
        log.info(
            "%s: relearned %d events of %d products from the checkpoint", SERVICE, len(events), len(products)
        )


def build(
    settings: Settings,
    bootstrap: str | None = None,
    redis_url: str | None = None,
    instance_id: str | None = None,
    use_cache: bool = True,
) -> tuple[Application, RecommendationLearner]:
    """The learner service, ready to `run()`, and its processor."""
    from consumers.recommendations.cache import ListCodec, RecommendationCache, make_redis_client
    from consumers.recommendations.precompute import Precomputer
    from consumers.recommendations.redis_server import resolve_redis_url
    from consumers.recommendations.serving_metrics import PrecomputeMetrics

    config = settings.section(SERVICE, RecommendationSettings)
    serving = settings.section("recommendation_serving", RecommendationServingSettings)
    processor = RecommendationLearner(config, None, serving.artifacts_dir)
    if use_cache:
        # Writes may wait longer than the API's reads, which have a fallback and must answer fast.
        client = make_redis_client(redis_url or resolve_redis_url(serving), 1.0)
        cache = RecommendationCache(
            client, serving.key_prefix, serving.entry_ttl_seconds, ListCodec(serving.compress_min_bytes)
        )
        processor.precomputer = Precomputer(
            processor.learner.recommender,
            cache,
            top_n=serving.top_n,
            metrics=PrecomputeMetrics(service=SERVICE),
        )
    directory = learner_checkpoint_dir(settings)
    app = Application(
        settings,
        service=SERVICE,
        group_id=config.group_id,
        bootstrap=bootstrap,
        checkpoints=CheckpointStore(
            directory,
            interval_seconds=config.checkpoint_interval_seconds,
            reset_hint=f"streaming state reset --service {SERVICE}",
            # The learner refits in a thread of its own: a fork could inherit a lock that thread holds.
            background=False,
        ),
        instance_id=instance_id,
    )
    app.add(processor)
    return app, processor


__all__ = ["RecommendationLearner", "build"]
