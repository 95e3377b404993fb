"""Offline evaluation: the standard protocol (stratified random split per customer) and the time-ordered one.

Standard protocol, as in Microsoft Recommenders' evaluation: each customer's distinct items are split at
random, 75 % to training and 25 % held out; a model recommends k items per customer, excluding their
training items; relevance is membership of the held-out items. Over the customers present in both the
held-out set and the recommendations:

- Precision@k = hits / k; Recall@k = hits / held-out items;
- NDCG@k = DCG / ideal DCG, binary relevance, DCG = sum over hits of 1 / log2(1 + rank);
- MAP = sum over hits of (hits so far / rank), divided by the number of held-out items (their `map`,
  not capped at k), averaged.

Time-ordered protocol, the one that matches the live service: train on the events before a cut-off,
then walk the later events in time order; at each purchase of an item the customer had not bought
before, ask for the customer's top-k first (HitRate@k, NDCG@k of that one item), then let the model learn
the event. The lists are the live service's: only purchased non-repeat items are excluded.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd
import scipy.sparse as sp

from consumers.recommendations.catalogue import Catalogue
from consumers.recommendations.datasets import InteractionData
from consumers.recommendations.hybrid import HybridRecommender
from consumers.recommendations.settings import BlendWeights, RecommendationSettings


@dataclass(frozen=True)
class RankingMetrics:
    """Top-k metrics averaged over `users` customers (see `ranking_metrics`).

    Parameters
    ----------
    map, ndcg, precision, recall
        The averages.
    users
        Customers averaged over.

    >>> RankingMetrics(0.1, 0.4, 0.3, 0.2, 943).users
    943
    """

    map: float
    ndcg: float
    precision: float
    recall: float
    users: int


def ranking_metrics(
    recommended: Mapping[str, Sequence[str]], relevant: Mapping[str, Iterable[str]], k: int
) -> RankingMetrics:
    """Microsoft Recommenders' MAP, NDCG@k, Precision@k and Recall@k (see the module docstring).

    >>> recommended = {"a": ["x", "y", "z"], "b": ["q", "r", "s"]}
    >>> metrics = ranking_metrics(recommended, {"a": {"y", "w"}, "b": {"q"}}, k=3)
    >>> round(metrics.precision, 4), round(metrics.recall, 4), round(metrics.map, 4), round(metrics.ndcg, 4)
    (0.3333, 0.75, 0.625, 0.6934)
    """
    users = [user for user in relevant if user in recommended]
    if not users:
        return RankingMetrics(0.0, 0.0, 0.0, 0.0, 0)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    total_map = total_ndcg = total_precision = total_recall = 0.0
    for user in users:
        truth = set(relevant[user])
        hits = np.array([item in truth for item in list(recommended[user])[:k]], dtype=float)
        found = float(hits.sum())
        total_precision += found / k
        total_recall += found / len(truth)
        ranks = np.arange(1, len(hits) + 1)
        total_map += float((np.cumsum(hits) / ranks * hits).sum()) / len(truth)
        ideal = float(discounts[: min(len(truth), k)].sum())
        total_ndcg += float((hits * discounts[: len(hits)]).sum()) / ideal
    count = len(users)
    return RankingMetrics(
        total_map / count, total_ndcg / count, total_precision / count, total_recall / count, count
    )


# --- data preparation ------------------------------------------------------------------------------------


def items_by_customer(frame: pd.DataFrame) -> dict[str, set[str]]:
    """The set of items of each customer.

    >>> found = items_by_customer(pd.DataFrame({"customer_id": ["a", "a", "b"], "item_id": ["x", "y", "x"]}))
    >>> sorted(found["a"]), found["b"]
    (['x', 'y'], {'x'})
    """
    out: dict[str, set[str]] = {}
    for customer, item in zip(frame["customer_id"].tolist(), frame["item_id"].tolist(), strict=True):
        out.setdefault(str(customer), set()).add(str(item))
    return out


def evaluable(data: InteractionData, skipped: dict[str, int] | None = None) -> pd.DataFrame:
    """Interactions of customers with at least two distinct items (one item cannot be split); counted."""
    frame = data.interactions
    distinct = frame.groupby("customer_id")["item_id"].transform("nunique")
    single = distinct < 2
    if skipped is not None and single.any():
        skipped["single_interaction_customers"] = int(frame.loc[single, "customer_id"].nunique())
    return frame[~single.to_numpy()].reset_index(drop=True)


def stratified_split(
    frame: pd.DataFrame, ratio: float = 0.75, seed: int = 42
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each customer's distinct items split at random: `round(ratio * n)` to training, the rest held out.

    All events of a (customer, item) pair go to the same side.

    >>> frame = pd.DataFrame({"customer_id": ["a"] * 4 + ["b"] * 4, "item_id": list("wxyzwxyz"),
    ...     "timestamp": range(8)})
    >>> train, test = stratified_split(frame, 0.75, seed=1)
    >>> train.groupby("customer_id").size().tolist(), test.groupby("customer_id").size().tolist()
    ([3, 3], [1, 1])
    """
    if not 0.0 < ratio < 1.0:
        raise ValueError("the split ratio must be between 0 and 1")
    pairs = frame[["customer_id", "item_id"]].drop_duplicates().reset_index(drop=True)
    rng = np.random.default_rng(seed)
    pairs["order"] = rng.random(len(pairs))
    pairs = pairs.sort_values(["customer_id", "order"], kind="stable")
    position = pairs.groupby("customer_id").cumcount()
    size = pairs.groupby("customer_id")["item_id"].transform("size")
    pairs["train"] = position < np.round(size * ratio)
    marked = frame.merge(
        pairs[["customer_id", "item_id", "train"]], on=["customer_id", "item_id"], how="left"
    )
    train = marked[marked["train"]].drop(columns="train").reset_index(drop=True)
    test = marked[~marked["train"]].drop(columns="train").reset_index(drop=True)
    return train, test


def time_split(frame: pd.DataFrame, train_fraction: float = 0.8) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Events before the `train_fraction` quantile of event time, and the rest, both in time order."""
    ordered = frame.sort_values("timestamp", kind="stable").reset_index(drop=True)
    cut = round(len(ordered) * train_fraction)
    return ordered.iloc[:cut].reset_index(drop=True), ordered.iloc[cut:].reset_index(drop=True)


# --- models under evaluation ------------------------------------------------------------------------------


def build_catalogue(data: InteractionData, settings: RecommendationSettings) -> Catalogue:
    catalogue = Catalogue(data.item_infos(), settings.repeat_purchase_categories)
    for item in data.interactions["item_id"].unique().tolist():
        catalogue.ensure(item)
    return catalogue


def train_hybrid(
    frame: pd.DataFrame,
    catalogue: Catalogue,
    settings: RecommendationSettings,
    weights: BlendWeights | None = None,
    fit_factorization: bool = True,
) -> HybridRecommender:
    """The hybrid trained in one pass over `frame` (time order), then a full ALS fit."""
    chosen = settings.model_copy(update={"blend": weights or settings.blend})
    recommender = HybridRecommender.empty(catalogue, chosen)
    event_weights = chosen.event_weights
    ordered = frame.sort_values("timestamp", kind="stable")
    item_index = catalogue.index
    for customer_id, item_id, event_type, timestamp in zip(
        ordered["customer_id"].tolist(),
        ordered["item_id"].tolist(),
        ordered["event_type"].tolist(),
        ordered["timestamp"].tolist(),
        strict=True,
    ):
        weight = event_weights.of(event_type)
        if weight <= 0:
            continue
        item = item_index.get(item_id)
        if item is None:
            item = catalogue.ensure(item_id)
        recommender.learn(customer_id, item, weight, timestamp, purchase=event_type == "purchase")
    recommender.cooccurrence.similarity(force=True)
    if fit_factorization and (weights or settings.blend).factorization > 0:
        matrix = recommender.store.matrix(None, len(catalogue)) / max(event_weights.purchase, 1e-9)
        recommender.factorization.fit(matrix)
    return recommender


def offline_settings(settings: RecommendationSettings, frame: pd.DataFrame) -> RecommendationSettings:
    """The settings for the standard protocol: every training item excluded, every customer's whole
    history kept (the live bound per customer would forget items the protocol must exclude), no cold-start
    threshold, and no time decay, since a random split has no notion of recent."""
    largest = int(frame.groupby("customer_id")["item_id"].nunique().max()) if len(frame) else 1
    return settings.model_copy(
        update={
            "exclude_seen": True,
            "min_interactions_collaborative": 1,
            "max_history_items": max(settings.max_history_items, largest),
            "affinity_half_life_seconds": None,
        }
    )


class OfflineModel(Protocol):
    name: str

    def fit(self, train: pd.DataFrame) -> None: ...

    def recommend(self, customers: Sequence[str], k: int) -> dict[str, list[str]]: ...


@dataclass
class HybridModel:
    """The hybrid (or one of its parts alone, by its weights) under offline evaluation.

    Parameters
    ----------
    name
        Its line in the table.
    catalogue
        The items, with metadata for the content part.
    settings
        Settings of the parts (see `offline_settings`).
    weights
        The blend.
    recommender
        Set by `fit`.

    >>> from consumers.recommendations.catalogue import ItemInfo
    >>> model = HybridModel("co-occurrence", Catalogue([ItemInfo("x"), ItemInfo("y"), ItemInfo("z")]),
    ...     RecommendationSettings(exclude_seen=True, min_interactions_collaborative=1),
    ...     BlendWeights(factorization=0, cooccurrence=1, content=0, popularity=0))
    >>> model.fit(pd.DataFrame({"customer_id": ["a", "a", "b"], "item_id": ["x", "y", "x"],
    ...     "event_type": "purchase", "timestamp": [1.7e9, 1.7e9, 1.7e9]}))
    >>> model.recommend(["b"], 1)
    {'b': ['y']}
    """

    name: str
    catalogue: Catalogue
    settings: RecommendationSettings
    weights: BlendWeights
    recommender: HybridRecommender | None = None

    def fit(self, train: pd.DataFrame) -> None:
        self.recommender = train_hybrid(train, self.catalogue, self.settings, self.weights)

    def recommend(self, customers: Sequence[str], k: int) -> dict[str, list[str]]:
        assert self.recommender is not None, "fit first"
        lists = self.recommender.recommend_many(list(customers), k)
        return {
            customer: [entry.item_id for entry in found.items]
            for customer, found in zip(customers, lists, strict=True)
        }


@dataclass
class PopularityBaseline:
    """The most popular items (by distinct customers) the customer has not touched.

    Parameters
    ----------
    name
        Its line in the table.

    >>> baseline = PopularityBaseline()
    >>> baseline.fit(pd.DataFrame({"customer_id": ["a", "b", "b"], "item_id": ["x", "x", "y"]}))
    >>> baseline.recommend(["a", "c"], 2)
    {'a': ['y'], 'c': ['x', 'y']}
    """

    name: str = "popularity"
    ranking: list[str] = field(default_factory=list)
    seen: dict[str, set[str]] = field(default_factory=dict)

    def fit(self, train: pd.DataFrame) -> None:
        counts = train.drop_duplicates(["customer_id", "item_id"]).groupby("item_id").size()
        self.ranking = counts.sort_values(ascending=False, kind="stable").index.tolist()
        self.seen = items_by_customer(train)

    def recommend(self, customers: Sequence[str], k: int) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for customer in customers:
            seen = self.seen.get(customer, set())
            picked: list[str] = []
            for item in self.ranking:
                if item not in seen:
                    picked.append(item)
                    if len(picked) == k:
                        break
            out[customer] = picked
        return out


@dataclass
class ItemKnnBaseline:
    """Item-based k-nearest neighbours with cosine similarity (implicit's `CosineRecommender`).

    Parameters
    ----------
    name
        Its line in the table.
    neighbours
        Neighbours kept per item.

    >>> knn = ItemKnnBaseline(neighbours=5)
    >>> knn.fit(pd.DataFrame({"customer_id": ["a", "a", "b"], "item_id": ["x", "y", "x"]}))
    >>> knn.recommend(["b", "stranger"], 1)
    {'b': ['y'], 'stranger': []}
    """

    name: str = "item-kNN"
    neighbours: int = 100
    model: Any = None
    customers: dict[str, int] = field(default_factory=dict)
    items: list[str] = field(default_factory=list)
    matrix: sp.csr_matrix | None = None

    def fit(self, train: pd.DataFrame) -> None:
        from implicit.nearest_neighbours import CosineRecommender

        pairs = train.drop_duplicates(["customer_id", "item_id"])
        customer_codes, customers = pd.factorize(pairs["customer_id"])
        item_codes, items = pd.factorize(pairs["item_id"])
        self.customers = {customer: index for index, customer in enumerate(customers)}
        self.items = list(items)
        self.matrix = sp.csr_matrix(
            (np.ones(len(pairs), dtype=np.float32), (customer_codes, item_codes)),
            shape=(len(customers), len(items)),
        )
        self.model = CosineRecommender(K=self.neighbours)
        with warnings.catch_warnings():  # implicit converts its own intermediate COO matrix and says so
            warnings.filterwarnings("ignore", message="Method expects CSR input")
            self.model.fit(self.matrix, show_progress=False)

    def recommend(self, customers: Sequence[str], k: int) -> dict[str, list[str]]:
        assert self.matrix is not None and self.model is not None, "fit first"
        known = [customer for customer in customers if customer in self.customers]
        out: dict[str, list[str]] = {customer: [] for customer in customers}
        if known:
            rows = np.array([self.customers[customer] for customer in known])
            ids, _scores = self.model.recommend(rows, self.matrix[rows], N=k, filter_already_liked_items=True)
            for customer, found in zip(known, ids, strict=True):
                out[customer] = [self.items[index] for index in found.tolist() if index >= 0]
        return out


@dataclass
class EvaluationRow:
    """One model's line in the table.

    Parameters
    ----------
    protocol
        "standard" or "time-ordered".
    model
        The model's name.
    metrics
        Metric name -> value.
    users
        Customers (standard) or purchases asked about (time-ordered).
    fit_seconds, recommend_seconds
        CPU seconds of training and of answering (and learning, time-ordered).

    >>> EvaluationRow("standard", "ALS", {"NDCG@10": 0.44}, 943, 1.0, 0.1).to_dict()["model"]
    'ALS'
    """

    protocol: str
    model: str
    metrics: dict[str, float]
    users: int
    fit_seconds: float
    recommend_seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def standard_models(
    data: InteractionData, settings: RecommendationSettings, names: Sequence[str] | None = None
) -> list[OfflineModel]:
    """The table's models: the baselines, the hybrid's parts alone, and the hybrid."""
    catalogue = build_catalogue(data, settings)
    has_content = bool(len(data.items.columns) > 1)
    only = {
        "co-occurrence (SAR)": BlendWeights(factorization=0, cooccurrence=1, content=0, popularity=0),
        "ALS": BlendWeights(factorization=1, cooccurrence=0, content=0, popularity=0),
        "content": BlendWeights(factorization=0, cooccurrence=0, content=1, popularity=0),
    }
    exclusive = offline_settings(settings, data.interactions)
    models: list[OfflineModel] = [PopularityBaseline(), ItemKnnBaseline()]
    for name, weights in only.items():
        if name == "content" and not has_content:
            continue
        models.append(HybridModel(name, catalogue, exclusive, weights))
    models.append(HybridModel("hybrid", catalogue, exclusive, settings.blend))
    if names:
        wanted = set(names)
        models = [model for model in models if model.name in wanted]
    return models


def evaluate_standard(
    data: InteractionData,
    settings: RecommendationSettings,
    k: int = 10,
    ratio: float = 0.75,
    seed: int = 42,
    models: Sequence[OfflineModel] | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[EvaluationRow]:
    """The standard protocol for every model (see the module docstring)."""
    skipped: dict[str, int] = {}
    frame = evaluable(data, skipped)
    if frame.empty:
        raise ValueError("no customer has two distinct items: nothing to evaluate")
    train, test = stratified_split(frame, ratio, seed)
    relevant = items_by_customer(test)
    customers = sorted(relevant)
    rows: list[EvaluationRow] = []
    for model in models if models is not None else standard_models(data, settings):
        started = time.process_time()
        model.fit(train)
        fitted = time.process_time()
        recommended = model.recommend(customers, k)
        done = time.process_time()
        metrics = ranking_metrics(recommended, relevant, k)
        rows.append(
            EvaluationRow(
                "standard",
                model.name,
                {
                    "MAP": metrics.map,
                    f"NDCG@{k}": metrics.ndcg,
                    f"Precision@{k}": metrics.precision,
                    f"Recall@{k}": metrics.recall,
                },
                metrics.users,
                fitted - started,
                done - fitted,
            )
        )
        if progress is not None:
            progress(model.name)
    return rows


def tune_blend(
    data: InteractionData,
    settings: RecommendationSettings,
    grid: Mapping[str, Sequence[float]] | None = None,
    k: int = 10,
    seed: int = 7,
) -> tuple[BlendWeights, float]:
    """Blend weights with the best NDCG@k on a validation split of a training split (never the test items).

    The parts are trained once; only the blend is searched, on scores already computed.
    """
    grid = grid or {
        "factorization": (1.0,),
        "cooccurrence": (0.0, 0.25, 0.5, 1.0),
        "content": (0.0, 0.1, 0.2, 0.4),
        "popularity": (0.0, 0.05, 0.1),
    }
    frame = evaluable(data)
    outer_train, _held_out = stratified_split(frame, 0.75, seed)
    train, validation = stratified_split(
        evaluable(InteractionData(outer_train, data.items, data.source)), 0.75, seed + 1
    )
    relevant = items_by_customer(validation)
    customers = sorted(relevant)
    catalogue = build_catalogue(data, settings)
    exclusive = offline_settings(settings, data.interactions)
    recommender = train_hybrid(
        train, catalogue, exclusive, BlendWeights(factorization=1, cooccurrence=1, content=1, popularity=1)
    )
    best: tuple[float, BlendWeights] = (-1.0, settings.blend)
    names = list(grid)
    for values in _product([grid[name] for name in names]):
        weights = BlendWeights(**dict(zip(names, values, strict=True)))
        if not any(values):
            continue
        recommender.weights = weights
        lists = recommender.recommend_many(customers, k)
        recommended = {
            customer: [entry.item_id for entry in found.items]
            for customer, found in zip(customers, lists, strict=True)
        }
        score = ranking_metrics(recommended, relevant, k).ndcg
        if score > best[0]:
            best = (score, weights)
    return best[1], best[0]


def _product(choices: Sequence[Sequence[float]]) -> Iterable[tuple[float, ...]]:
    if not choices:
        yield ()
        return
    for first in choices[0]:
        for rest in _product(choices[1:]):
            yield (first, *rest)


def format_table(rows: Sequence[EvaluationRow]) -> list[dict[str, Any]]:
    """Plain rows for printing or JSON: protocol, model, metrics rounded to 4 places, users, CPU seconds."""
    out = []
    for row in rows:
        entry: dict[str, Any] = {"protocol": row.protocol, "model": row.model}
        entry.update(
            {name: round(value, 4) if not math.isnan(value) else None for name, value in row.metrics.items()}
        )
        entry.update(
            {
                "users": row.users,
                "fit_cpu_s": round(row.fit_seconds, 2),
                "recommend_cpu_s": round(row.recommend_seconds, 2),
            }
        )
        out.append(entry)
    return out


# --- the time-ordered protocol ------------------------------------------------------------------------------


@dataclass
class _Walker:
    """One model walked through the test period: asked before each target, taught after each event."""

    name: str
    recommend: Callable[[str, int], list[str]]
    learn: Callable[[str, str, str, float], None]
    hits: int = 0
    ndcg: float = 0.0
    targets: int = 0
    cpu_seconds: float = 0.0
    recommend_cpu_seconds: float = 0.0


def _learner_walker(
    name: str,
    data: InteractionData,
    past: pd.DataFrame,
    settings: RecommendationSettings,
    weights: BlendWeights,
    refit_every: int | None,
) -> _Walker:
    from consumers.recommendations.learner import IncrementalLearner

    update: dict[str, Any] = {"blend": weights}
    if refit_every is not None:  # periodic full retrains only: no fold-ins between them
        update.update(
            {"refit_events": refit_every, "fold_in_events": 10**12, "refit_interval_seconds": 10**12}
        )
    else:  # incremental: one full fit on the past, then fold-ins and co-occurrence rebuilds only
        update.update({"refit_events": 10**12, "refit_interval_seconds": 10**12})
    chosen = settings.model_copy(update=update)
    learner = IncrementalLearner(
        chosen, catalogue=build_catalogue(data, chosen), background=False, require_known_products=False
    )
    learner.recommender.content.fit(learner.catalogue)
    index = learner.catalogue.index
    event_weights = chosen.event_weights
    for customer, item, event_type, at in zip(
        past["customer_id"].tolist(),
        past["item_id"].tolist(),
        past["event_type"].tolist(),
        past["timestamp"].tolist(),
        strict=True,
    ):
        weight = event_weights.of(event_type)
        if weight > 0:
            learner.learn_interaction(customer, index.add(item), weight, at, event_type == "purchase")
    learner.refit()

    def recommend(customer: str, k: int) -> list[str]:
        return [entry.item_id for entry in learner.recommender.recommend(customer, k).items]

    def learn(customer: str, item: str, event_type: str, at: float) -> None:
        weight = event_weights.of(event_type)
        if weight > 0:
            learner.learn_interaction(customer, index.add(item), weight, at, event_type == "purchase")

    walker = _Walker(name, recommend, learn)
    walker.cpu_seconds = learner.incremental_cpu_seconds + learner.refit_cpu_seconds
    walker.learner = learner  # type: ignore[attr-defined]
    return walker


def _popularity_walker(past: pd.DataFrame, settings: RecommendationSettings) -> _Walker:
    from consumers.recommendations.popularity import PopularityModel

    popularity = PopularityModel(settings.affinity_half_life_seconds)
    items: dict[str, int] = {}
    names: list[str] = []
    seen: dict[str, set[int]] = {}

    def learn(customer: str, item: str, event_type: str, at: float) -> None:
        weight = settings.event_weights.of(event_type)
        if weight <= 0:
            return
        position = items.setdefault(item, len(items))
        if position == len(names):
            names.append(item)
        popularity.learn(position, weight, at)
        if event_type == "purchase":  # as live: only what was bought is not offered again
            seen.setdefault(customer, set()).add(position)

    def recommend(customer: str, k: int) -> list[str]:
        return [names[i] for i in popularity.top(k, exclude=seen.get(customer, set())).tolist()]

    for customer, item, event_type, at in zip(
        past["customer_id"].tolist(),
        past["item_id"].tolist(),
        past["event_type"].tolist(),
        past["timestamp"].tolist(),
        strict=True,
    ):
        learn(str(customer), str(item), str(event_type), float(at))
    return _Walker("popularity", recommend, learn)


def _knn_walker(past: pd.DataFrame) -> _Walker:
    model = ItemKnnBaseline()
    model.fit(past)

    def recommend(customer: str, k: int) -> list[str]:
        return model.recommend([customer], k)[customer]

    def learn(customer: str, item: str, event_type: str, at: float) -> None:
        del customer, item, event_type, at  # static: fitted on the past only

    return _Walker("item-kNN (static)", recommend, learn)


def evaluate_time_ordered(
    data: InteractionData,
    settings: RecommendationSettings,
    k: int = 10,
    train_fraction: float = 0.8,
    max_targets: int = 2_000,
    retrain_every: int | None = None,
    models: Sequence[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[EvaluationRow]:
    """The time-ordered protocol (see the module docstring). Targets are purchases of items new to the
    customer; at most `max_targets` of them, evenly spaced, are asked about, but every event is learned.

    `retrain_every` (events) sets the full-retrain variant's cadence; by default five retrains over the test
    period. The hybrid runs twice: incremental (fold-ins, no refits) and with periodic full retrains.
    """
    frame = data.interactions
    if frame.empty:
        raise ValueError("no interactions to evaluate")
    past, future = time_split(frame, train_fraction)
    if future.empty or past.empty:
        raise ValueError("the time split left nothing to train on or nothing to predict")
    # The live service's settings: only purchased non-repeat items are excluded (a viewed item may be bought).
    chosen = settings.model_copy(
        update={"max_history_items": offline_settings(settings, frame).max_history_items}
    )
    bought = items_by_customer(past[past["event_type"] == "purchase"])
    targets: list[int] = []
    for position, (customer, item, event_type) in enumerate(
        zip(
            future["customer_id"].tolist(),
            future["item_id"].tolist(),
            future["event_type"].tolist(),
            strict=True,
        )
    ):
        if event_type != "purchase":
            continue
        items = bought.setdefault(customer, set())
        if item not in items:
            targets.append(position)
        items.add(item)
    if not targets:
        raise ValueError("no purchase of a new item after the cut-off: nothing to predict")
    step = max(1, len(targets) // max_targets)
    asked = set(targets[::step][:max_targets])
    retrain = retrain_every or max(1, len(future) // 5)
    factories: dict[str, Callable[[], _Walker]] = {
        "popularity": lambda: _popularity_walker(past, chosen),
        "item-kNN (static)": lambda: _knn_walker(past),
        "co-occurrence (SAR, incremental)": lambda: _learner_walker(
            "co-occurrence (SAR, incremental)",
            data,
            past,
            chosen,
            BlendWeights(factorization=0, cooccurrence=1, content=0, popularity=0),
            None,
        ),
        "hybrid (incremental)": lambda: _learner_walker(
            "hybrid (incremental)", data, past, chosen, chosen.blend, None
        ),
        "hybrid (full retrain)": lambda: _learner_walker(
            "hybrid (full retrain)", data, past, chosen, chosen.blend, retrain
        ),
    }
    wanted = list(models) if models else list(factories)
    unknown = [name for name in wanted if name not in factories]
    if unknown:
        raise ValueError(f"unknown model(s) {', '.join(unknown)}: use {', '.join(factories)}")
    rows: list[EvaluationRow] = []
    columns = [future[name].tolist() for name in ("customer_id", "item_id", "event_type", "timestamp")]
    for name in wanted:
        started = time.process_time()
        walker = factories[name]()
        fitted = time.process_time()
        learn_cpu = 0.0
        for position, (customer, item, event_type, at) in enumerate(zip(*columns, strict=True)):
            customer, item, event_type, at = str(customer), str(item), str(event_type), float(at)
            if position in asked:
                asking = time.process_time()
                recommended = walker.recommend(customer, k)
                walker.recommend_cpu_seconds += time.process_time() - asking
                walker.targets += 1
                if item in recommended:
                    walker.hits += 1
                    walker.ndcg += 1.0 / math.log2(recommended.index(item) + 2)
            learning = time.process_time()
            walker.learn(customer, item, event_type, at)
            learn_cpu += time.process_time() - learning
        count = max(walker.targets, 1)
        metrics = {f"HitRate@{k}": walker.hits / count, f"NDCG@{k}": walker.ndcg / count}
        # Everything the model did to learn the test period (per-event updates, fold-ins, inline refits).
        metrics["learn_cpu_s_per_M_events"] = learn_cpu / max(len(future), 1) * 1e6
        rows.append(
            EvaluationRow(
                "time-ordered",
                name,
                metrics,
                walker.targets,
                fitted - started,
                learn_cpu + walker.recommend_cpu_seconds,
            )
        )
        if progress is not None:
            progress(name)
    return rows
