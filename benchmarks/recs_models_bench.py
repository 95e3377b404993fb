"""The recommender's learning side on this machine: learner throughput, incremental vs full retrain,
precompute, ANN recall and memory, ALS vs River, and the evaluate table on MovieLens-format data.

    .venv/bin/python benchmarks/recs_models_bench.py [--events 100000] [--customers 20000] \
        [--ann-items 20000] [--movielens DIR] [--only learner,precompute,ann,factorization,evaluate]

Prints one JSON document. Sizes are flags: run small to check it works; the full figures (1 M events,
100,000 customers, 1 M items) are for a quiet machine. `--movielens` takes a directory with u.data and
u.item (MovieLens 100k; `benchmarks/movielens_from_recbole.py` writes one from the copy RecBole's PyPI
wheel ships); without it, generated data in the same format is used.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from consumers.recommendations.ann import AnnIndex, recall_at_k
from consumers.recommendations.datasets import InteractionData, load_dataset
from consumers.recommendations.evaluation import (
    evaluable,
    evaluate_standard,
    evaluate_time_ordered,
    format_table,
    items_by_customer,
    offline_settings,
    ranking_metrics,
    stratified_split,
)
from consumers.recommendations.factorization import ImplicitFactorization, RiverFactorization
from consumers.recommendations.learner import IncrementalLearner
from consumers.recommendations.settings import RecommendationSettings
from contracts.shop import Product, ShopEvent
from producers.shop import ShopSimulationSettings, ShopWorld

START = 1_700_000_000.0


def simulate(events: int, products: int, customers: int, seed: int = 5) -> list[Product | ShopEvent]:
    world = ShopWorld(
        ShopSimulationSettings(products=products, customers=customers), seed=seed, start_time=START
    )
    order: list[Product | ShopEvent] = []
    count = 0
    while count < events:
        batch = world.next_items(min(256, events - count))
        order += batch
        count += sum(isinstance(item, ShopEvent) for item in batch)
    return order


def learner_figures(events: int, customers: int) -> dict[str, Any]:
    """Events/s and CPU per million events, incremental; CPU of a full retrain on the same history."""
    order = simulate(events, products=max(500, customers // 10), customers=customers)
    settings = RecommendationSettings(refit_events=10**12, refit_interval_seconds=10**9)
    learner = IncrementalLearner(settings, background=False)
    initial = []
    for item in order:
        if not isinstance(item, Product):
            break
        initial.append(item)
    learner.add_products(initial)
    rest = order[len(initial) :]
    started, cpu = time.perf_counter(), time.process_time()
    learned = 0
    for item in rest:
        if isinstance(item, Product):
            learner.add_product(item)
        else:
            learner.learn(item)
            learned += 1
    wall, spent = time.perf_counter() - started, time.process_time() - cpu
    refit_cpu = time.process_time()
    refit_wall = time.perf_counter()
    learner.refit()
    refit_cpu = time.process_time() - refit_cpu
    refit_wall = time.perf_counter() - refit_wall
    return {
        "events": learned,
        "events_per_second": round(learned / wall),
        "incremental_cpu_s_per_million_events": round(spent / learned * 1e6, 1),
        "of_which_per_event_updates_cpu_s_per_million": round(
            learner.incremental_cpu_seconds / learned * 1e6, 1
        ),
        "of_which_fold_ins_cpu_s_per_million": round(learner.fold_in_cpu_seconds / learned * 1e6, 1),
        "cleaned": dict(learner.cleaner.dropped),
        "full_retrain_cpu_s": round(refit_cpu, 2),
        "full_retrain_wall_s": round(refit_wall, 2),
        "full_retrain_history_events": len(learner.event_log),
        "full_retrain_cpu_s_per_million_history_events": round(
            refit_cpu / max(len(learner.event_log), 1) * 1e6, 1
        ),
        "retrain_only_cpu_s_per_million_events_at_fold_in_cadence": round(
            refit_cpu * 1e6 / settings.fold_in_events, 1
        ),
        "customers": len(learner.recommender.store.customers),
        "items": len(learner.catalogue),
        "learner": learner,
        "order": order,
    }


def quality_figures(order: list[Product | ShopEvent], max_targets: int) -> dict[str, Any]:
    """Time-ordered HitRate/NDCG and CPU: the incremental hybrid against periodic full retrains."""
    import pandas as pd

    events = [item for item in order if isinstance(item, ShopEvent)]
    catalogue = [item for item in order if isinstance(item, Product)]
    frame = pd.DataFrame(
        {
            "customer_id": [e.customer_id for e in events],
            "item_id": [e.product_id for e in events],
            "event_type": [e.event_type for e in events],
            "timestamp": [e.event_time for e in events],
            "quantity": [e.quantity for e in events],
            "price": [e.price for e in events],
        }
    )
    items = pd.DataFrame(
        {
            "item_id": [p.product_id for p in catalogue],
            "category": [p.category for p in catalogue],
            "subcategory": [p.subcategory for p in catalogue],
            "brand": [p.brand for p in catalogue],
            "price": [p.price for p in catalogue],
            "description": [p.description for p in catalogue],
            "repeatable": [p.repeatable for p in catalogue],
        }
    )
    data = InteractionData(frame, items, "simulated shop")
    rows = evaluate_time_ordered(data, RecommendationSettings(), max_targets=max_targets)
    return {"rows": format_table(rows)}


def precompute_figures(learner: IncrementalLearner, customers: int) -> dict[str, Any]:
    """Top-10 for every known customer with `recommend_many` (what the precompute calls)."""
    recommender = learner.recommender
    ids = list(recommender.store.customers.ids)[:customers]
    started = time.perf_counter()
    lists = recommender.recommend_many(ids, 10)
    elapsed = time.perf_counter() - started
    return {
        "customers": len(ids),
        "items": len(recommender.catalogue),
        "seconds": round(elapsed, 2),
        "customers_per_second": round(len(ids) / elapsed),
        "projected_seconds_for_100k_customers": round(elapsed / len(ids) * 100_000, 1),
        "cold_start_share": round(sum(found.cold_start for found in lists) / len(lists), 3),
    }


def ann_figures(items: int, queries: int = 500) -> dict[str, Any]:
    """recall@10 against exact search and memory per million items, per dtype and vector kind."""
    rng = np.random.default_rng(0)
    out: dict[str, Any] = {"items": items}
    kinds = {"collaborative_ip_16d": (16, "ip"), "content_cos_64d": (64, "cos")}
    for kind, (dimensions, metric) in kinds.items():
        centres = rng.normal(size=(200, dimensions))
        vectors = (centres[rng.integers(0, 200, items)] + 0.6 * rng.normal(size=(items, dimensions))).astype(
            np.float32
        )
        asked = (
            centres[rng.integers(0, 200, queries)] + 0.6 * rng.normal(size=(queries, dimensions))
        ).astype(np.float32)
        for dtype in ("f32", "f16", "i8"):
            started = time.perf_counter()
            index = AnnIndex(dimensions, metric, dtype).build(vectors)
            build = time.perf_counter() - started
            started = time.perf_counter()
            recall = recall_at_k(index, vectors, asked, 10)
            per_query = (time.perf_counter() - started) / queries
            # usearch allocates its arena in large steps, so memory_usage differences say little at small
            # sizes; the serialized length is the vectors plus the graph, what the index holds per item.
            out[f"{kind}_{dtype}"] = {
                "recall_at_10": round(recall, 4),
                "bytes_per_million_items": round(index.serialized_bytes() / items * 1e6),
                "process_memory_bytes_reported": index.memory_bytes(),
                "build_seconds": round(build, 2),
                "query_ms_with_exact_check": round(per_query * 1e3, 3),
            }
    return out


def _generated_movielens(directory: Path, users: int = 600, items: int = 800) -> Path:
    """MovieLens-format files with latent tastes (when the real files are not given)."""
    from consumers.recommendations.datasets import MOVIELENS_GENRES

    rng = np.random.default_rng(1)
    directory.mkdir(parents=True, exist_ok=True)
    item_vectors = rng.normal(size=(items, 8))
    genres = np.argmax(item_vectors[:, :5], axis=1) + 1
    popularity = -np.log(np.arange(1, items + 1))[rng.permutation(items)] * 0.6
    lines = []
    for user in range(1, users + 1):
        taste = rng.normal(size=8)
        utility = item_vectors @ taste + popularity + rng.gumbel(size=items)
        count = int(rng.integers(20, 150))
        for item in np.argsort(-utility)[:count]:
            lines.append(
                f"{user}\t{item + 1}\t{int(rng.integers(1, 6))}\t{880_000_000 + int(rng.integers(0, 2e7))}"
            )
    (directory / "u.data").write_text("\n".join(lines) + "\n")
    rows = []
    for item in range(items):
        flags = ["0"] * len(MOVIELENS_GENRES)
        flags[int(genres[item])] = "1"
        rows.append(f"{item + 1}|Film {item + 1} (1996)|01-Jan-1996|||" + "|".join(flags))
    (directory / "u.item").write_text("\n".join(rows) + "\n", encoding="latin-1")
    return directory


def factorization_figures(data: InteractionData, river_users: int) -> dict[str, Any]:
    """implicit ALS against River's BiasedMF and FunkMF under the standard protocol (NDCG@10, CPU)."""
    frame = evaluable(data)
    if river_users:
        keep = sorted(frame["customer_id"].unique())[:river_users]
        frame = frame[frame["customer_id"].isin(keep)]
    train, test = stratified_split(frame, 0.75, 42)
    relevant = items_by_customer(test)
    users = {customer: index for index, customer in enumerate(sorted(frame["customer_id"].unique()))}
    items = {item: index for index, item in enumerate(sorted(frame["item_id"].unique()))}
    names = list(items)
    rows = train["customer_id"].map(users).to_numpy()
    columns = train["item_id"].map(items).to_numpy()
    import scipy.sparse as sp

    matrix = sp.csr_matrix((np.ones(len(rows)), (rows, columns)), shape=(len(users), len(items)))
    seen = matrix.toarray() > 0
    out: dict[str, Any] = {"customers": len(users), "items": len(items), "train_interactions": len(train)}

    def score(all_scores: np.ndarray) -> float:
        all_scores = np.where(seen, -np.inf, all_scores)
        top = np.argsort(-all_scores, axis=1)[:, :10]
        recommended = {customer: [names[i] for i in top[index]] for customer, index in users.items()}
        return ranking_metrics(recommended, relevant, 10).ndcg

    started = time.process_time()
    als = ImplicitFactorization(factors=16, regularization=0.05, alpha=5.0, iterations=15).fit(matrix)
    fit = time.process_time() - started
    out["implicit_als"] = {
        "ndcg_at_10": round(score(als.user_factors @ als.item_factors.T), 4),
        "fit_cpu_s": round(fit, 2),
    }
    started = time.process_time()
    fold_users = np.arange(min(200, len(users)))
    als.fold_in(fold_users, matrix[fold_users])
    out["implicit_als"]["fold_in_cpu_us_per_customer"] = round(
        (time.process_time() - started) / len(fold_users) * 1e6, 1
    )
    for name in ("biased", "funk"):
        model = RiverFactorization(name, factors=16, negatives=3, seed=0)
        started = time.process_time()
        for epoch in range(3):
            order = np.random.default_rng(epoch).permutation(len(rows))
            for position in order.tolist():
                model.learn_one(int(rows[position]), int(columns[position]), len(items))
        fit = time.process_time() - started
        started = time.process_time()
        predicted = np.stack([model.scores(user, len(items)) for user in range(len(users))])
        ranking = time.process_time() - started
        out[f"river_{name}_mf"] = {
            "ndcg_at_10": round(score(predicted), 4),
            "fit_cpu_s_3_epochs": round(fit, 2),
            "learn_one_cpu_us": round(fit / (3 * len(rows)) * 1e6, 1),
            "ranking_cpu_s": round(ranking, 2),
        }
    return out


def evaluate_figures(data: InteractionData, max_targets: int) -> dict[str, Any]:
    settings = RecommendationSettings()
    rows = evaluate_standard(data, settings) + evaluate_time_ordered(data, settings, max_targets=max_targets)
    return {
        "summary": data.summary(),
        "rows": format_table(rows),
        "offline_settings": offline_settings(settings, data.interactions).blend.model_dump(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000, help="simulated shop events for the learner")
    parser.add_argument("--customers", type=int, default=20_000, help="simulated customers (precompute size)")
    parser.add_argument("--ann-items", type=int, default=20_000, help="vectors per ANN index")
    parser.add_argument("--movielens", type=Path, help="directory with u.data and u.item (MovieLens 100k)")
    parser.add_argument(
        "--river-users", type=int, default=200, help="customers in the River comparison (0: all)"
    )
    parser.add_argument(
        "--max-targets", type=int, default=2_000, help="time-ordered protocol: purchases asked"
    )
    parser.add_argument("--only", default="learner,precompute,ann,factorization,evaluate")
    args = parser.parse_args()
    wanted = {name.strip() for name in args.only.split(",")}
    document: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count()},
        "arguments": {k: str(v) for k, v in vars(args).items()},
    }
    learner = None
    if wanted & {"learner", "precompute"}:
        figures = learner_figures(args.events, args.customers)
        learner = figures.pop("learner")
        order = figures.pop("order")
        document["learner"] = figures
        if "learner" in wanted:
            document["incremental_vs_full_retrain_simulated"] = quality_figures(order, args.max_targets)
    if "precompute" in wanted and learner is not None:
        document["precompute"] = precompute_figures(learner, args.customers)
    if "ann" in wanted:
        document["ann"] = ann_figures(args.ann_items)
    if wanted & {"factorization", "evaluate"}:
        with tempfile.TemporaryDirectory() as scratch:
            source = args.movielens or _generated_movielens(Path(scratch) / "ml")
            data = load_dataset(source)
            document["movielens"] = {
                "source": str(args.movielens) if args.movielens else "generated (same format)"
            }
            if "factorization" in wanted:
                document["factorization"] = factorization_figures(data, args.river_users)
            if "evaluate" in wanted:
                document["evaluate"] = evaluate_figures(data, args.max_targets)
    print(json.dumps(document, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
