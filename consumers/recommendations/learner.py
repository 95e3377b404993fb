"""The incremental learner the recommendation service runs: per-event updates, periodic fold-ins, and full
refits on a bounded history in a background thread that scoring never waits for.

Per event (microseconds): cleaning, the customer's affinity, co-occurrence pairs, popularity, the event
log. Every `fold_in_events`: the customers touched since are re-solved against the fixed ALS item factors
(`partial_fit_users`) and new items get factors from the customers who touched them
(`partial_fit_items`). Every `similarity_rebuild_events` new pairs, the co-occurrence similarity is
rebuilt, and every `refit_events` events (or `refit_interval_seconds`) a new ALS model is fitted on the
last `max_history_events` events; both run in a background thread on copies and are swapped in whole.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from pathlib import Path

import msgspec
import numpy as np
import scipy.sparse as sp

from consumers.recommendations import learning_metrics as metrics
from consumers.recommendations.catalogue import Catalogue, ItemInfo
from consumers.recommendations.cleaning import EventCleaner
from consumers.recommendations.content import ContentModel, CustomerProfile
from consumers.recommendations.factorization import ImplicitFactorization
from consumers.recommendations.hybrid import HybridRecommender
from consumers.recommendations.interactions import EventLog
from consumers.recommendations.settings import RecommendationSettings
from contracts.shop import Product, ShopEvent

log = logging.getLogger(__name__)


def item_info(product: Product) -> ItemInfo:
    """A product record as catalogue metadata."""
    return ItemInfo(
        item_id=product.product_id,
        category=product.category,
        subcategory=product.subcategory,
        brand=product.brand,
        price=product.price,
        description=product.description,
        repeatable=product.repeatable,
        created_at=product.created_at,
    )


class IncrementalLearner:
    """Learns from products and shop events; `recommender` answers at any time from the live parts.

    Parameters
    ----------
    settings
        The recommendation settings.
    catalogue
        Products known at the start (more arrive through `add_product`).
    background
        Run rebuilds and refits in a background thread (the service); False runs them inline
        (deterministic: offline evaluation and tests).
    require_known_products
        Drop events about products the catalogue does not have (True when a `products` topic feeds it).
    seed
        Seed of the factorization.

    >>> from contracts.shop import Product, ShopEvent
    >>> settings = RecommendationSettings(min_interactions_collaborative=1)
    >>> learner = IncrementalLearner(settings, background=False)
    >>> for n in range(3):
    ...     learner.add_product(Product(product_id=f"p-{n}", category="books", subcategory="books/fiction",
    ...         brand="Ink", price=10.0, description=f"novel number {n}", created_at=1.7e9))
    >>> event = ShopEvent(event_id="e-1", customer_id="u-1", session_id="s", product_id="p-0",
    ...     event_type="purchase", price=10.0, event_time=1.7e9)
    >>> learner.learn(event), learner.learn(event)
    (None, 'duplicate')
    >>> [entry.item_id for entry in learner.recommender.recommend("u-1", 2).items]
    ['p-1', 'p-2']
    """

    def __init__(
        self,
        settings: RecommendationSettings,
        catalogue: Catalogue | None = None,
        background: bool = True,
        require_known_products: bool = True,
        seed: int = 0,
    ) -> None:
        self.settings = settings
        self.background = background
        self.lock = threading.RLock()
        self.catalogue = catalogue or Catalogue(
            repeat_purchase_categories=settings.repeat_purchase_categories
        )
        recommender = HybridRecommender.empty(self.catalogue, settings)
        recommender.lock = self.lock
        recommender.factorization.seed = seed
        self.recommender = recommender
        self.seed = seed
        self.cleaner = EventCleaner(
            self._catalogue_price,
            max_age_seconds=settings.max_event_age_seconds,
            max_future_seconds=settings.max_future_seconds,
            price_tolerance_ratio=settings.price_tolerance_ratio,
            window_events=settings.duplicate_window_events,
            require_known_products=require_known_products,
        )
        self.event_log = EventLog(settings.max_history_events)
        self._weights = settings.event_weights
        self._confidence_scale = 1.0 / max(settings.event_weights.purchase, 1e-9)
        self._touched: set[int] = set()
        self._touched_at_refit: set[int] = set()
        self._new_item_users: dict[int, set[int]] = {}
        self._since_fold_in = 0
        self._since_refit = 0
        self._last_refit_started = time.monotonic()
        self._worker: threading.Thread | None = None
        self._content_dirty: set[int] = set()
        self.events_learned = 0
        self.refits = 0
        self.refit_cpu_seconds = 0.0
        self.fold_in_cpu_seconds = 0.0
        self.incremental_cpu_seconds = 0.0
        self.refit_error: BaseException | None = None

    # --- inputs -----------------------------------------------------------------------------------------

    def _catalogue_price(self, product_id: str) -> float | None:
        position = self.catalogue.index.get(product_id)
        if position is None or not self.catalogue.has_metadata(product_id):
            return None
        price = self.catalogue.info[position].price
        return price if price is not None else 0.0

    def add_product(self, product: Product) -> None:
        """A product record (new or changed): catalogue metadata and, at once, its content vector."""
        with self.lock:
            position = self.catalogue.upsert(item_info(product))
            content = self.recommender.content
            if not content.fitted and len(self.catalogue) >= 2:
                content.fit(self.catalogue)
            else:
                content.update(self.catalogue, [position])
        metrics.CATALOGUE_ITEMS.set(len(self.catalogue))

    def add_products(self, products: Iterable[Product]) -> None:
        """Many product records, with one content fit at the end (the catalogue at start-up)."""
        with self.lock:
            for product in products:
                self.catalogue.upsert(item_info(product))
            self.recommender.content.fit(self.catalogue)
        metrics.CATALOGUE_ITEMS.set(len(self.catalogue))

    def set_customer_profiles(self, profiles: dict[str, CustomerProfile]) -> None:
        """The churn job's profiles (preferred categories, RFM) by customer id; replaces the previous ones."""
        self.recommender.customer_profiles = profiles

    def update_customer_profile(self, customer_id: str, profile: object) -> None:
        """One record of the compacted `customer-profiles` topic (a `contracts.CustomerProfile`, or its dict);
        None (a tombstone) forgets the customer."""
        profiles = self.recommender.customer_profiles
        if profile is None:
            profiles.pop(customer_id, None)
        elif isinstance(profile, msgspec.Struct):
            profiles[customer_id] = msgspec.structs.asdict(profile)
        else:
            profiles[customer_id] = dict(profile)  # type: ignore[call-overload]

    def set_segments(
        self, customer_segments: dict[str, int], segment_top_items: dict[int, list[str]]
    ) -> None:
        """The batch segmentation's result: a segment per customer and its popular items (by id)."""
        index = self.catalogue.index
        tops = {
            segment: [index.get(i) for i in items if i in index]
            for segment, items in segment_top_items.items()
        }
        with self.lock:
            self.recommender.customer_segments = customer_segments
            self.recommender.popularity.set_segments(
                {s: [i for i in items if i is not None] for s, items in tops.items()}
            )

    def learn(self, event: ShopEvent) -> str | None:
        """Cleans and learns one event; returns the reason when cleaning dropped it."""
        reason = self.cleaner.check(event)
        if reason is not None:
            metrics.CLEANED.labels(reason).inc()
            metrics.EVENTS.labels("cleaned").inc()
            return reason
        weight = self._weights.of(event.event_type)
        if weight <= 0.0:
            metrics.EVENTS.labels("feedback_only").inc()
            return None
        item = self.catalogue.index.get(event.product_id)
        if item is None:
            item = self.catalogue.ensure(event.product_id)
        self.learn_interaction(
            event.customer_id, item, weight, event.event_time, event.event_type == "purchase"
        )
        metrics.EVENTS.labels("learned").inc()
        return None

    def learn_many(self, events: Iterable[ShopEvent]) -> dict[str, int]:
        """Learns a batch; returns counts of learned and dropped events by reason."""
        outcome: dict[str, int] = {}
        for event in events:
            reason = self.learn(event) or "learned"
            outcome[reason] = outcome.get(reason, 0) + 1
        return outcome

    def learn_interaction(
        self, customer_id: str, item: int, weight: float, at: float, purchase: bool = False
    ) -> None:
        """The per-event update itself (events already cleaned; `item` a catalogue index)."""
        started = time.process_time()
        recommender = self.recommender
        with self.lock:
            store = recommender.store
            customer = store.customers.add(customer_id)
            history = store.items_of(customer) if customer < len(store.rows) else None
            if store.add(customer, item, weight, at, purchase):
                recommender.cooccurrence.learn_pair(item, history if history is not None else [])
                if item >= recommender.factorization.item_factors.shape[0]:
                    self._new_item_users.setdefault(item, set()).add(customer)
            recommender.popularity.learn(item, weight, at)
            self.event_log.append(customer, item, weight, at)
            self._touched.add(customer)
        self.events_learned += 1
        self._since_fold_in += 1
        self._since_refit += 1
        self.incremental_cpu_seconds += time.process_time() - started
        if self._since_fold_in >= self.settings.fold_in_events:
            self.fold_in()
        if recommender.cooccurrence.needs_rebuild or self._refit_due():
            self._maintain()

    # --- fold-ins, rebuilds and refits --------------------------------------------------------------------

    def fold_in(self) -> None:
        """Re-solves the touched customers and gives new items factors (between full refits)."""
        started, cpu = time.perf_counter(), time.process_time()
        recommender = self.recommender
        factorization = recommender.factorization
        with self.lock:
            self._since_fold_in = 0
            if not factorization.fitted:
                return
            touched = np.fromiter(self._touched, dtype=np.int64, count=len(self._touched))
            self._touched = set()
            size = len(self.catalogue)
            rows = recommender.store.matrix(touched, size) * self._confidence_scale
            new_items = sorted(self._new_item_users)
            item_rows = None
            if new_items:
                users = self._new_item_users
                indptr = np.cumsum([0] + [len(users[item]) for item in new_items])
                columns = np.fromiter((user for item in new_items for user in users[item]), dtype=np.int64)
                item_rows = sp.csr_matrix(
                    (np.ones(len(columns), dtype=np.float32), columns, indptr),
                    shape=(len(new_items), len(recommender.store.rows)),
                )
                self._new_item_users = {}
            if len(touched):
                factorization.fold_in(touched, rows)
            if item_rows is not None:
                factorization.add_items(np.asarray(new_items, dtype=np.int64), item_rows)
        self.fold_in_cpu_seconds += time.process_time() - cpu
        metrics.FOLD_IN_SECONDS.observe(time.perf_counter() - started)

    def _refit_due(self) -> bool:
        if self._since_refit >= self.settings.refit_events:
            return True
        if not self.recommender.factorization.fitted and self._since_refit >= min(
            self.settings.refit_events, 1_000
        ):
            return True  # the first model as soon as there is something to learn from
        return (
            time.monotonic() - self._last_refit_started >= self.settings.refit_interval_seconds
            and self._since_refit > 0
        )

    def _maintain(self) -> None:
        if self._worker is not None and self._worker.is_alive():
            return  # one at a time; scoring goes on with the current parts meanwhile
        refit = self._refit_due()
        rebuild = self.recommender.cooccurrence.needs_rebuild or refit
        with self.lock:
            increments = self.recommender.cooccurrence.take_increments() if rebuild else None
            history = self.event_log.columns() if refit else None
            latest = self.recommender.store.latest_time
            if refit:
                self._since_refit = 0
                self._last_refit_started = time.monotonic()
                self._touched_at_refit = set(self._touched)
        if self.background:
            self._worker = threading.Thread(
                target=self._rebuild, args=(increments, history, latest), name="recs-refit", daemon=True
            )
            self._worker.start()
        else:
            self._rebuild(increments, history, latest)

    def refit(self, wait: bool = True) -> None:
        """Starts a full refit now; `wait` blocks until it is swapped in (tests, benchmarks, shutdown)."""
        self._since_refit = max(self._since_refit, self.settings.refit_events)
        self.wait()
        self._maintain()
        if wait:
            self.wait()

    def wait(self, timeout: float | None = None) -> bool:
        """Waits for a running rebuild or refit; False when it is still running after `timeout`."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout)
            return not worker.is_alive()
        return True

    def _rebuild(
        self,
        increments: tuple[np.ndarray, np.ndarray, np.ndarray, int, sp.csr_matrix] | None,
        history: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None,
        latest: float,
    ) -> None:
        started, cpu = time.perf_counter(), time.process_time()
        recommender = self.recommender
        try:
            if increments is not None:
                counts, similarity = recommender.cooccurrence.rebuilt(increments)
                with self.lock:
                    recommender.cooccurrence.install(counts, similarity)
            if history is None:
                return
            model = self._fit(history, latest)
            content = None
            if len(self.catalogue) >= 2:
                content = ContentModel(
                    self.settings.content_dimensions,
                    self.settings.tfidf_max_features,
                    self.settings.price_bands,
                    self.seed,
                )
                with self.lock:
                    snapshot = Catalogue(
                        self.catalogue.info[: len(self.catalogue)], self.catalogue.repeat_purchase_categories
                    )
                content.fit(snapshot)
            with self.lock:
                recommender.factorization = model
                if content is not None and content.fitted:
                    missing = range(len(content.vectors), len(self.catalogue))
                    content.update(self.catalogue, missing)
                    recommender.content = content
                recommender.version += 1
                # Customers who acted while the refit ran are folded in at the next fold-in.
                self._touched |= self._touched_at_refit
            self.refits += 1
            self.refit_cpu_seconds += time.process_time() - cpu
            metrics.REFITS.inc()
            metrics.REFIT_SECONDS.observe(time.perf_counter() - started)
            metrics.MODEL_VERSION.set(recommender.version)
            metrics.CUSTOMERS.set(len(recommender.store.customers))
        except Exception as error:  # a failed refit must not stop learning: the old model keeps serving
            self.refit_error = error
            log.exception("refit failed; the previous model keeps serving")

    def _fit(
        self, history: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], latest: float
    ) -> ImplicitFactorization:
        customers, items, weights, times = history
        half_life = self.settings.affinity_half_life_seconds
        decayed = weights.astype(np.float64)
        if half_life is not None and len(times):
            decayed = decayed * np.exp2((times - latest) / half_life)
        shape = (int(customers.max(initial=-1)) + 1, max(int(items.max(initial=-1)) + 1, len(self.catalogue)))
        matrix = sp.csr_matrix((decayed * self._confidence_scale, (customers, items)), shape=shape)
        settings = self.settings
        model = ImplicitFactorization(
            settings.factors, settings.regularization, settings.alpha, settings.iterations, self.seed
        )
        if matrix.nnz:
            model.fit(matrix)
        return model

    def close(self, timeout: float = 60.0) -> None:
        """Waits (bounded) for background work to finish."""
        self.wait(timeout)

    def save(self, directory: Path) -> Path:
        """Saves artifacts (see `artifacts.save_artifacts`); returns the version directory."""
        from consumers.recommendations.artifacts import save_artifacts

        self.wait()
        with self.lock:
            return save_artifacts(directory, self.recommender)
