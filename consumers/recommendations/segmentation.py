"""Batch customer segmentation (`streaming recs segment`): RFM plus taste, clustered with k-means.

Per customer: recency (days since their last event, at the data's newest time), frequency (distinct
purchase days, or event days when nothing was bought), monetary value (sum of quantity x price of
purchases), and taste (their share of events in each of the most common categories). RFM is
log-scaled and standardised; taste shares are weighted so the two halves count alike. Each segment gets
its most popular items (by distinct customers): the popularity-by-segment fallback of cold start.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from consumers.recommendations.datasets import InteractionData

_DAY = 86_400.0


@dataclass
class SegmentationResult:
    """A segment per customer, a description per segment, and each segment's popular items.

    Parameters
    ----------
    customers
        One row per customer: RFM, taste shares and `segment`.
    segments
        One row per segment: size, mean RFM, top categories.
    segment_top_items
        Each segment's most popular item ids, best first.
    taste_categories
        The categories the taste shares cover.

    >>> customers = pd.DataFrame({"customer_id": ["a"], "segment": [0]})
    >>> result = SegmentationResult(customers, pd.DataFrame(), {0: ["x"]}, [])
    >>> result.customer_segments()
    {'a': 0}
    """

    customers: pd.DataFrame
    segments: pd.DataFrame
    segment_top_items: dict[int, list[str]]
    taste_categories: list[str]

    def customer_segments(self) -> dict[str, int]:
        return dict(
            zip(
                self.customers["customer_id"].tolist(),
                self.customers["segment"].astype(int).tolist(),
                strict=True,
            )
        )


def customer_features(data: InteractionData, taste_categories: int = 12) -> tuple[pd.DataFrame, list[str]]:
    """RFM and taste shares per customer (see the module docstring); the categories used for taste."""
    frame = data.interactions
    if frame.empty:
        raise ValueError("no interactions: nothing to segment")
    items = data.items
    category = (
        items.set_index("item_id")["category"].astype(str)
        if "category" in items.columns
        else pd.Series(dtype=str)
    )
    events = frame.assign(category=frame["item_id"].map(category).fillna("unknown").astype(str))
    newest = float(events["timestamp"].max())
    purchases = events[events["event_type"] == "purchase"]
    day = np.floor(events["timestamp"] / _DAY)
    grouped = events.assign(day=day).groupby("customer_id")
    features = pd.DataFrame(
        {
            "recency_days": (newest - grouped["timestamp"].max()) / _DAY,
            "active_days": grouped["day"].nunique(),
            "events": grouped.size(),
        }
    )
    purchase_days = (
        purchases.assign(day=np.floor(purchases["timestamp"] / _DAY)).groupby("customer_id")["day"].nunique()
    )
    features["frequency"] = (
        purchase_days.reindex(features.index).fillna(features["active_days"]).astype(float)
    )
    spend = (purchases["quantity"] * purchases["price"].fillna(0.0)).groupby(purchases["customer_id"]).sum()
    features["monetary"] = spend.reindex(features.index).fillna(0.0)
    common = events["category"].value_counts().index.tolist()[:taste_categories]
    shares = pd.crosstab(events["customer_id"], events["category"], normalize="index")
    for name in common:
        features[f"taste_{name}"] = (
            shares[name].reindex(features.index).fillna(0.0) if name in shares else 0.0
        )
    features.index.name = "customer_id"
    return features.reset_index(), common


def segment_customers(
    data: InteractionData, segments: int = 8, seed: int = 0, top_items: int = 50, taste_categories: int = 12
) -> SegmentationResult:
    """Clusters the customers of `data` into at most `segments` groups (fewer when there are fewer customers).

    >>> frame = pd.DataFrame({"customer_id": ["a", "a", "b", "b", "c", "c"],
    ...     "item_id": ["x", "y", "x", "y", "z", "z"],
    ...     "event_type": "purchase", "timestamp": [1.7e9, 1.7e9 + 86_400] * 3, "quantity": 1, "price": 5.0})
    >>> items = pd.DataFrame({"item_id": ["x", "y", "z"], "category": ["books", "books", "toys"]})
    >>> result = segment_customers(InteractionData(frame, items, "demo"), segments=2)
    >>> segments = result.customer_segments()
    >>> segments["a"] == segments["b"] != segments["c"], result.segment_top_items[segments["c"]]
    (True, ['z'])
    """
    from sklearn.cluster import KMeans
    from sklearn.preprocessing import StandardScaler

    features, categories = customer_features(data, taste_categories)
    rfm = np.column_stack(
        [
            np.log1p(features["recency_days"].to_numpy(dtype=float)),
            np.log1p(features["frequency"].to_numpy(dtype=float)),
            np.log1p(features["monetary"].to_numpy(dtype=float)),
        ]
    )
    scaled = StandardScaler().fit_transform(rfm) if len(features) > 1 else np.zeros_like(rfm)
    scaled = np.nan_to_num(scaled)
    taste = features[[f"taste_{name}" for name in categories]].to_numpy(dtype=float)
    # Shares sum to 1 per customer; scaling by sqrt(3 / taste spread) makes taste weigh about as much as RFM.
    spread = float(taste.var(axis=0).sum()) or 1.0
    matrix = np.hstack([scaled, taste * np.sqrt(3.0 / spread) if taste.size else taste])
    count = max(1, min(segments, len(np.unique(matrix.round(9), axis=0))))
    model = KMeans(n_clusters=count, n_init=4, random_state=seed).fit(matrix)
    features["segment"] = model.labels_.astype(int)
    described = features.groupby("segment").agg(
        customers=("customer_id", "size"),
        recency_days=("recency_days", "mean"),
        frequency=("frequency", "mean"),
        monetary=("monetary", "mean"),
    )
    taste_means = features.groupby("segment")[[f"taste_{name}" for name in categories]].mean()
    described["top_categories"] = [
        ", ".join(
            name.removeprefix("taste_")
            for name in row.sort_values(ascending=False).index[:3]
            if row[name] > 0
        )
        for _segment, row in taste_means.iterrows()
    ]
    pairs = data.interactions.drop_duplicates(["customer_id", "item_id"]).merge(
        features[["customer_id", "segment"]], on="customer_id"
    )
    popular = pairs.groupby(["segment", "item_id"]).size().rename("customers").reset_index()
    popular = popular.sort_values(
        ["segment", "customers", "item_id"], ascending=[True, False, True], kind="stable"
    )
    top = {
        int(str(segment)): [str(item) for item in group["item_id"].head(top_items).tolist()]
        for segment, group in popular.groupby("segment")
    }
    return SegmentationResult(features, described.reset_index(), top, categories)


def write_segmentation(result: SegmentationResult, directory: Path) -> list[Path]:
    """customers.parquet (+ .csv), segments.csv and segment_top_items.json, each written to a temporary name
    and renamed into place, so a reader never sees a partial file."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def place(name: str, write: object) -> None:
        target = directory / name
        temporary = directory / f".{name}.{uuid.uuid4().hex[:8]}"
        write(temporary)  # type: ignore[operator]
        os.replace(temporary, target)
        written.append(target)

    place(
        "customers.parquet", lambda path: result.customers.to_parquet(path, compression="zstd", index=False)
    )
    place("customers.csv", lambda path: result.customers.to_csv(path, index=False))
    place("segments.csv", lambda path: result.segments.to_csv(path, index=False))
    place(
        "segment_top_items.json",
        lambda path: path.write_text(
            json.dumps({str(k): v for k, v in result.segment_top_items.items()}, indent=1)
        ),
    )
    return written


def plot_segments(result: SegmentationResult, path: Path) -> Path:
    """Recency against monetary value per customer, coloured by segment (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4.5), dpi=110)
    customers = result.customers
    scatter = axis.scatter(
        customers["recency_days"],
        np.log1p(customers["monetary"]),
        c=customers["segment"],
        cmap="tab10",
        s=8,
        alpha=0.7,
    )
    axis.set_xlabel("recency (days since last event)")
    axis.set_ylabel("log(1 + monetary value)")
    axis.set_title(f"{len(customers):,} customers in {customers['segment'].nunique()} segments")
    figure.colorbar(scatter, ax=axis, label="segment")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path
