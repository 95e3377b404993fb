"""A simulated online shop: a catalogue, customers with hidden tastes, and their sessions.

Each product has a category, subcategory, brand, price and a generated description whose words depend on
its subcategory, and a hidden latent vector near its category's and subcategory's centroids. Each customer
has a hidden latent vector built from one to three preferred categories, a price sensitivity and a visit
rate. A customer's interest in a product is

    utility = taste_strength * <customer, product> / sqrt(d) + category bonus + popularity
              - price_sensitivity * log(price / category median price)

Sessions arrive as a Poisson process, each customer at their own visit rate. In a session the customer
looks at a candidate set (popular products and products of their preferred categories, drawn along a
long-tailed popularity curve), views some of them (softmax of utility), adds some to the cart and buys
some of those. New products and new customers arrive over time (cold start), and tastes drift slowly.

For the cleaning step a few bad events are injected and counted in `ShopWorld.injected`: exact duplicates,
outdated events (event time long before the present) and incorrect ones (an unknown product, or a price
far from the catalogue's). The hidden tastes are ground truth: `ShopWorld.taste` and `ShopWorld.utility`.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, Field

from contracts.shop import Product, ShopEvent
from producers.records import OutgoingRecord
from streaming.schemas import encode

#: category -> (median price in EUR, repeat purchases are normal, {subcategory: nouns}, adjectives)
CATALOGUE_CATEGORIES: dict[str, tuple[float, bool, dict[str, tuple[str, ...]], tuple[str, ...]]] = {
    "electronics": (
        180.0,
        False,
        {
            "audio": ("headphones", "speaker", "earbuds", "soundbar", "amplifier"),
            "computing": ("laptop", "keyboard", "monitor", "mouse", "tablet"),
            "photo": ("camera", "lens", "tripod", "flash", "drone"),
        },
        ("wireless", "portable", "smart", "compact", "digital"),
    ),
    "clothing": (
        45.0,
        False,
        {
            "outerwear": ("jacket", "coat", "parka", "raincoat", "vest"),
            "shoes": ("sneakers", "boots", "sandals", "loafers", "trainers"),
            "basics": ("shirt", "jeans", "sweater", "hoodie", "socks"),
        },
        ("cotton", "slim", "warm", "classic", "casual"),
    ),
    "grocery": (
        6.0,
        True,
        {
            "pantry": ("pasta", "rice", "flour", "olive oil", "beans"),
            "drinks": ("coffee", "tea", "juice", "sparkling water", "cocoa"),
            "snacks": ("chocolate", "crisps", "nuts", "biscuits", "granola"),
        },
        ("organic", "fresh", "roasted", "wholegrain", "crunchy"),
    ),
    "home": (
        35.0,
        False,
        {
            "kitchen": ("pan", "knife set", "kettle", "blender", "cutting board"),
            "decor": ("candle", "vase", "cushion", "frame", "lamp"),
            "storage": ("basket", "shelf", "box", "drawer", "hanger"),
        },
        ("ceramic", "wooden", "stainless", "handmade", "minimalist"),
    ),
    "books": (
        14.0,
        False,
        {
            "fiction": ("novel", "thriller", "mystery", "fantasy saga", "short stories"),
            "nonfiction": ("biography", "history", "essay", "science guide", "memoir"),
            "children": ("picture book", "fairy tales", "activity book", "comic", "atlas"),
        },
        ("illustrated", "bestselling", "paperback", "hardcover", "gripping"),
    ),
    "sports": (
        55.0,
        False,
        {
            "fitness": ("yoga mat", "dumbbells", "resistance band", "kettlebell", "jump rope"),
            "outdoor": ("tent", "backpack", "sleeping bag", "hiking poles", "headlamp"),
            "cycling": ("helmet", "bike light", "saddle", "pump", "gloves"),
        },
        ("lightweight", "durable", "waterproof", "breathable", "adjustable"),
    ),
    "beauty": (
        18.0,
        True,
        {
            "skincare": ("moisturiser", "serum", "cleanser", "sunscreen", "face mask"),
            "haircare": ("shampoo", "conditioner", "hair oil", "styling gel", "brush"),
            "fragrance": ("perfume", "eau de toilette", "body mist", "scented oil", "deodorant"),
        },
        ("gentle", "vegan", "hydrating", "fragrance-free", "natural"),
    ),
    "toys": (
        25.0,
        False,
        {
            "games": ("board game", "puzzle", "card game", "dice set", "trivia game"),
            "building": ("brick set", "construction kit", "marble run", "magnetic tiles", "robot kit"),
            "plush": ("teddy bear", "plush bunny", "puppet", "soft dinosaur", "cuddly owl"),
        },
        ("educational", "colourful", "family", "creative", "classic"),
    ),
    "garden": (
        30.0,
        False,
        {
            "plants": ("seeds", "bulbs", "herb kit", "succulent", "rose bush"),
            "tools": ("trowel", "pruner", "hose", "rake", "watering can"),
            "furniture": ("bench", "parasol", "hammock", "lounger", "planter"),
        },
        ("weatherproof", "hardy", "ergonomic", "foldable", "rustic"),
    ),
    "pharmacy": (
        9.0,
        True,
        {
            "vitamins": ("multivitamin", "vitamin d", "omega 3", "magnesium", "zinc"),
            "first aid": ("plasters", "bandage", "antiseptic", "thermometer", "cold pack"),
            "care": ("toothpaste", "mouthwash", "hand cream", "lip balm", "eye drops"),
        },
        ("daily", "sugar-free", "sensitive", "fast-acting", "travel-size"),
    ),
}
_BRAND_SYLLABLES = (
    "nor",
    "vel",
    "ka",
    "lum",
    "tri",
    "sol",
    "mar",
    "zen",
    "or",
    "ix",
    "bel",
    "quo",
    "dra",
    "fen",
)
_DAY = 86_400.0


def _grown(array: np.ndarray) -> np.ndarray:
    """The array with twice the rows, zeros after the old ones: appends stay amortised O(1)."""
    bigger = np.zeros((2 * len(array), *array.shape[1:]), dtype=array.dtype)
    bigger[: len(array)] = array
    return bigger


class ShopSimulationSettings(BaseModel):
    """Settings of the shop simulator (`streaming produce shop`)."""

    products: int = Field(default=2_000, ge=1, description="Products in the catalogue at the start.")
    customers: int = Field(default=5_000, ge=1, description="Customers at the start.")
    brands_per_category: int = Field(default=8, ge=1, description="Brands in each category.")
    latent_dimensions: int = Field(default=8, ge=1, description="Size of the hidden taste vectors.")
    taste_strength: float = Field(
        default=2.5, ge=0.0, description="Weight of the latent match in a customer's interest."
    )
    category_bonus: float = Field(
        default=1.0, ge=0.0, description="Extra interest in products of a customer's preferred categories."
    )
    popularity_exponent: float = Field(
        default=0.9, gt=0.0, description="Zipf exponent of the long-tail popularity curve (rank ** -a)."
    )
    sessions_per_customer_day: float = Field(
        default=0.5, gt=0.0, description="Mean visits per customer per event-time day."
    )
    views_per_session: float = Field(default=5.0, ge=1.0, description="Mean product views per session.")
    candidates_per_session: int = Field(
        default=60, ge=2, description="Products a customer considers in a session."
    )
    purchase_given_cart: float = Field(
        default=0.6, ge=0.0, le=1.0, description="Probability that a product in the cart is bought."
    )
    new_products_per_day: float = Field(default=10.0, ge=0.0, description="New products per event-time day.")
    new_customers_per_day: float = Field(
        default=50.0, ge=0.0, description="New customers per event-time day."
    )
    taste_drift_per_day: float = Field(
        default=0.05, ge=0.0, description="Standard deviation of the daily random walk of tastes."
    )
    duplicate_fraction: float = Field(
        default=0.002, ge=0.0, le=0.5, description="Share of events sent twice, exactly."
    )
    outdated_fraction: float = Field(
        default=0.001, ge=0.0, le=0.5, description="Share of extra events with an event time long past."
    )
    outdated_age_seconds: float = Field(
        default=120 * _DAY, gt=0.0, description="How old the outdated events are, in event time."
    )
    incorrect_fraction: float = Field(
        default=0.001,
        ge=0.0,
        le=0.5,
        description="Share of extra incorrect events: an unknown product, or a price far from the "
        "catalogue's.",
    )


@dataclass(frozen=True, slots=True)
class CustomerTaste:
    """The hidden truth about one customer (ground truth for tests).

    Parameters
    ----------
    latent
        Taste vector; interest in a product grows with its dot product with the product's vector.
    preferred_categories
        The categories the customer favours.
    price_sensitivity
        How much a price above the category's median puts them off.
    visits_per_day
        Their session rate.

    >>> CustomerTaste(np.zeros(2), ("books",), 1.0, 0.5).preferred_categories
    ('books',)
    """

    latent: np.ndarray
    preferred_categories: tuple[str, ...]
    price_sensitivity: float
    visits_per_day: float


class ShopWorld:
    """The shop: `generate()` returns the next records (products, then shop events) in event-time order.

    Parameters
    ----------
    settings
        The simulation's sizes and rates.
    seed
        The same seed and settings give the same records.
    start_time
        Event time of the first records (epoch seconds).

    >>> world = ShopWorld(ShopSimulationSettings(products=30, customers=20), seed=1, start_time=1.7e9)
    >>> records = world.generate(10)
    >>> sorted({record.topic for record in records}), sum(r.topic == "shop_events" for r in records)
    (['products', 'shop_events'], 10)
    >>> world.taste("u-000003").preferred_categories[0] in world.categories
    True
    """

    service = "producer-shop"
    data_topic = "shop_events"
    topics: tuple[str, ...] = ("shop_events", "products")
    numeric_fields: tuple[str, ...] = ("price", "quantity", "event_time")
    required_fields: tuple[str, ...] = ("event_id", "customer_id", "product_id", "event_type", "event_time")

    def __init__(self, settings: ShopSimulationSettings, seed: int, start_time: float) -> None:
        self.settings = settings
        self.seed = seed
        self.start_time = float(start_time)
        self.now = float(start_time)
        self._rng = np.random.default_rng(seed)
        self.categories: tuple[str, ...] = tuple(CATALOGUE_CATEGORIES)
        dims = settings.latent_dimensions
        rng = self._rng
        self._category_centroid = rng.normal(0.0, 1.0, (len(self.categories), dims))
        self._subcategories: list[tuple[str, str]] = [
            (category, sub) for category in self.categories for sub in CATALOGUE_CATEGORIES[category][2]
        ]
        self._subcategory_offset = rng.normal(0.0, 0.6, (len(self._subcategories), dims))
        self._brands = {
            category: [self._brand_name() for _ in range(settings.brands_per_category)]
            for category in self.categories
        }
        self.products: list[Product] = []
        capacity = max(16, settings.products * 2)
        self._product_latent = np.zeros((capacity, dims))
        self._product_popularity = np.zeros(capacity)  # log of the long-tail weight
        self._product_category = np.zeros(capacity, dtype=np.int64)
        self._product_log_price_ratio = np.zeros(capacity)
        self._popularity_cumulative: np.ndarray | None = None
        self._products_by_category: list[list[int]] = [[] for _ in self.categories]
        self.customer_ids: list[str] = []
        capacity = max(16, settings.customers * 2)
        self._customer_latent = np.zeros((capacity, dims))
        self._customer_preferred: list[tuple[int, ...]] = []
        self._customer_sensitivity = np.zeros(capacity)
        self._customer_rate = np.zeros(capacity)
        self._customer_drifted_at = np.zeros(capacity)
        self._rate_cumulative: np.ndarray | None = None
        self.injected: Counter[str] = Counter()
        self.events_generated = 0
        self._sequence = 0
        self._sessions = 0
        self._pending: list[tuple[float, int, Product | ShopEvent]] = []
        self._due = self.start_time
        for _ in range(settings.products):
            self._new_product(self.start_time)
        for _ in range(settings.customers):
            self._new_customer()
        self._next_session = self.now + self._session_gap()
        self._next_product = self.now + self._gap(settings.new_products_per_day)
        self._next_customer = self.now + self._gap(settings.new_customers_per_day)

    # --- the world ---------------------------------------------------------------------------------------

    def _brand_name(self) -> str:
        parts = self._rng.choice(len(_BRAND_SYLLABLES), size=int(self._rng.integers(2, 4)))
        return "".join(_BRAND_SYLLABLES[index] for index in parts).capitalize()

    def _gap(self, per_day: float) -> float:
        return math.inf if per_day <= 0 else float(self._rng.exponential(_DAY / per_day))

    def _new_product(self, time: float) -> None:
        rng = self._rng
        index = len(self.products)
        sub_index = int(rng.integers(len(self._subcategories)))
        category, subcategory = self._subcategories[sub_index]
        category_index = self.categories.index(category)
        median, repeatable, nouns_by_sub, adjectives = CATALOGUE_CATEGORIES[category]
        latent = (
            self._category_centroid[category_index]
            + self._subcategory_offset[sub_index]
            + rng.normal(0.0, 0.35, self.settings.latent_dimensions)
        )
        price = round(float(median * rng.lognormal(0.0, 0.45)), 2)
        brand = self._brands[category][int(rng.integers(len(self._brands[category])))]
        nouns = nouns_by_sub[subcategory]
        noun = nouns[int(rng.integers(len(nouns)))]
        words = rng.choice(len(adjectives), size=2, replace=False)
        description = (
            f"{adjectives[words[0]]} {adjectives[words[1]]} {noun} by {brand}, "
            f"part of our {subcategory} {category} range; "
            f"a {nouns[int(rng.integers(len(nouns)))]} alternative"
        )
        product = Product(
            product_id=f"p-{index:06d}",
            category=category,
            subcategory=f"{category}/{subcategory}",
            brand=brand,
            price=max(price, 0.5),
            description=description,
            created_at=round(time, 3),
            repeatable=repeatable,
        )
        # Zipf weight on a random rank; products arriving later start in the same curve.
        rank = int(rng.integers(1, max(2, self.settings.products) + 1))
        if index >= len(self._product_popularity):
            self._product_latent = _grown(self._product_latent)
            self._product_popularity = _grown(self._product_popularity)
            self._product_category = _grown(self._product_category)
            self._product_log_price_ratio = _grown(self._product_log_price_ratio)
        self.products.append(product)
        self._product_latent[index] = latent
        self._product_popularity[index] = -self.settings.popularity_exponent * math.log(rank)
        self._product_category[index] = category_index
        self._product_log_price_ratio[index] = math.log(product.price / median)
        self._products_by_category[category_index].append(index)
        self._popularity_cumulative = None
        self._push(time, product)

    def _new_customer(self) -> None:
        rng = self._rng
        count = int(rng.choice((1, 2, 3), p=(0.5, 0.35, 0.15)))
        preferred = tuple(int(c) for c in rng.choice(len(self.categories), size=count, replace=False))
        mixture = rng.dirichlet(np.ones(count))
        latent = mixture @ self._category_centroid[list(preferred)] + rng.normal(
            0.0, 0.5, self.settings.latent_dimensions
        )
        index = len(self.customer_ids)
        if index >= len(self._customer_rate):
            self._customer_latent = _grown(self._customer_latent)
            self._customer_sensitivity = _grown(self._customer_sensitivity)
            self._customer_rate = _grown(self._customer_rate)
            self._customer_drifted_at = _grown(self._customer_drifted_at)
        self.customer_ids.append(f"u-{index:06d}")
        self._customer_latent[index] = latent
        self._customer_preferred.append(preferred)
        self._customer_sensitivity[index] = rng.gamma(2.0, 0.5)
        # lognormal with mean sessions_per_customer_day: mu = log(mean) - sigma^2 / 2
        self._customer_rate[index] = rng.lognormal(
            math.log(self.settings.sessions_per_customer_day) - 0.32, 0.8
        )
        self._customer_drifted_at[index] = self.now
        self._rate_cumulative = None

    def _session_gap(self) -> float:
        total_per_day = float(self._customer_rate[: len(self.customer_ids)].sum())
        return float(self._rng.exponential(_DAY / total_per_day))

    def _choose_customer(self) -> int:
        if self._rate_cumulative is None:
            self._rate_cumulative = np.cumsum(self._customer_rate[: len(self.customer_ids)])
        cumulative = self._rate_cumulative
        return int(np.searchsorted(cumulative, self._rng.random() * cumulative[-1], side="right"))

    def _popular_sample(self, size: int) -> np.ndarray:
        if self._popularity_cumulative is None:
            self._popularity_cumulative = np.cumsum(np.exp(self._product_popularity[: len(self.products)]))
        cumulative = self._popularity_cumulative
        return np.searchsorted(cumulative, self._rng.random(size) * cumulative[-1], side="right")

    def _utilities(self, customer: int, products: np.ndarray) -> np.ndarray:
        settings = self.settings
        latent = self._customer_latent[customer]
        match = self._product_latent[products] @ latent / math.sqrt(settings.latent_dimensions)
        preferred = np.isin(self._product_category[products], self._customer_preferred[customer])
        return (
            settings.taste_strength * match
            + settings.category_bonus * preferred
            + self._product_popularity[products]
            - self._customer_sensitivity[customer] * self._product_log_price_ratio[products]
        )

    def _drift(self, customer: int, time: float) -> None:
        days = (time - self._customer_drifted_at[customer]) / _DAY
        if days > 0 and self.settings.taste_drift_per_day > 0:
            step = self.settings.taste_drift_per_day * math.sqrt(days)
            self._customer_latent[customer] += self._rng.normal(0.0, step, self.settings.latent_dimensions)
        self._customer_drifted_at[customer] = time

    def _session(self, time: float) -> None:
        rng = self._rng
        customer = self._choose_customer()
        self._drift(customer, time)
        self._sessions += 1
        session_id = f"s-{self.seed:x}-{self._sessions:09d}"
        half = self.settings.candidates_per_session // 2
        preferred_pool = [
            index
            for category in self._customer_preferred[customer]
            for index in self._products_by_category[category]
        ]
        popular = self._popular_sample(half)
        if preferred_pool:
            pool = np.asarray(preferred_pool)
            weights = np.exp(self._product_popularity[pool])
            local = pool[rng.choice(len(pool), size=half, p=weights / weights.sum())]
            candidates = np.unique(np.concatenate([popular, local]))
        else:
            candidates = np.unique(popular)
        utility = self._utilities(customer, candidates)
        views = min(len(candidates), int(rng.geometric(1.0 / self.settings.views_per_session)))
        chance = np.exp(utility - utility.max())
        viewed = rng.choice(len(candidates), size=views, replace=False, p=chance / chance.sum())
        moment = time
        bought: list[tuple[int, float]] = []
        for position in viewed:
            product = int(candidates[position])
            moment += float(rng.exponential(40.0))
            self._event(moment, customer, session_id, product, "view")
            if rng.random() < 1.0 / (1.0 + math.exp(-(utility[position] - 2.0))):
                moment += float(rng.exponential(20.0))
                self._event(moment, customer, session_id, product, "add_to_cart")
                if rng.random() < self.settings.purchase_given_cart:
                    bought.append((product, utility[position]))
        moment += float(rng.exponential(60.0))
        for product, _utility in bought:
            quantity = int(rng.integers(1, 4)) if self.products[product].repeatable else 1
            self._event(moment, customer, session_id, product, "purchase", quantity)
            moment += 0.5

    def _event(
        self, time: float, customer: int, session_id: str, product: int, kind: str, quantity: int = 1
    ) -> None:
        self._sequence += 1
        event = ShopEvent(
            event_id=f"e-{self.seed:x}-{self._sequence:010d}",
            customer_id=self.customer_ids[customer],
            session_id=session_id,
            product_id=self.products[product].product_id,
            event_type=kind,  # type: ignore[arg-type]
            quantity=quantity,
            price=self.products[product].price,
            event_time=round(time, 3),
        )
        self._push(time, event)

    def _push(self, time: float, item: Product | ShopEvent) -> None:
        self._sequence += 1
        heapq.heappush(self._pending, (time, self._sequence, item))

    def _advance_world(self) -> None:
        """Runs the world until the earliest pending record is due before anything new can happen."""
        while not self._pending or self._pending[0][0] > min(
            self._next_session, self._next_product, self._next_customer
        ):
            soonest = min(self._next_session, self._next_product, self._next_customer)
            self.now = soonest
            if soonest == self._next_product:
                self._new_product(soonest)
                self._next_product = soonest + self._gap(self.settings.new_products_per_day)
            elif soonest == self._next_customer:
                self._new_customer()
                self._next_customer = soonest + self._gap(self.settings.new_customers_per_day)
            else:
                self._session(soonest)
                self._next_session = soonest + self._session_gap()

    # --- bad events for the cleaning step ------------------------------------------------------------------

    def _faults(self, event: ShopEvent) -> list[tuple[str, ShopEvent]]:
        """Bad events to send after `event`, each with its kind (counted when actually sent)."""
        settings = self.settings
        rng = self._rng
        extra: list[tuple[str, ShopEvent]] = []
        if rng.random() < settings.duplicate_fraction:
            extra.append(("duplicate", event))
        if rng.random() < settings.outdated_fraction:
            self._sequence += 1
            old_time = max(event.event_time - settings.outdated_age_seconds, 946_684_800.0)
            extra.append(("outdated", self._variant(event, event_time=round(old_time, 3))))
        if rng.random() < settings.incorrect_fraction:
            self._sequence += 1
            if rng.random() < 0.5:
                extra.append(
                    ("unknown_product", self._variant(event, product_id=f"p-unknown-{self._sequence:08d}"))
                )
            else:
                price = min(round((event.price or 1.0) * 100.0, 2), 999_999.0)
                extra.append(("price_mismatch", self._variant(event, price=price)))
        return extra

    def _variant(self, event: ShopEvent, **changes: object) -> ShopEvent:
        fields = {name: getattr(event, name) for name in event.__struct_fields__}
        fields.update(changes)
        fields["event_id"] = f"e-{self.seed:x}-{self._sequence:010d}"
        return ShopEvent(**fields)

    # --- the producer's interface --------------------------------------------------------------------------

    def next_items(self, max_events: int | None) -> list[Product | ShopEvent]:
        """Up to 256 shop events (fewer with `max_events`), with the products that appeared before them."""
        limit = 256 if max_events is None else min(256, max_events)
        out: list[Product | ShopEvent] = []
        produced = 0
        while produced < limit:
            self._advance_world()
            _time, _sequence, item = heapq.heappop(self._pending)
            out.append(item)
            if isinstance(item, ShopEvent):
                produced += 1
                for kind, extra in self._faults(item):
                    if produced >= limit:
                        break
                    out.append(extra)
                    self.injected[kind] += 1
                    produced += 1
        self.events_generated += produced
        return out

    def generate(self, max_events: int | None) -> list[OutgoingRecord]:
        out: list[OutgoingRecord] = []
        for item in self.next_items(max_events):
            if isinstance(item, Product):
                key, topic, time = item.product_id, "products", item.created_at
            else:
                key, topic, time = item.customer_id, "shop_events", item.event_time
            # An outdated event keeps its old timestamp but exists in the world now, when it was emitted.
            self._due = max(self._due, time)
            out.append(OutgoingRecord(topic, key.encode(), encode(item), int(time * 1000), 1, self._due))
        return out

    def finish(self) -> list[OutgoingRecord]:
        return []

    # --- ground truth ------------------------------------------------------------------------------------

    def taste(self, customer_id: str) -> CustomerTaste:
        """The hidden taste of a customer (a copy: the world keeps drifting)."""
        index = self._customer_index(customer_id)
        return CustomerTaste(
            latent=self._customer_latent[index].copy(),
            preferred_categories=tuple(self.categories[c] for c in self._customer_preferred[index]),
            price_sensitivity=float(self._customer_sensitivity[index]),
            visits_per_day=float(self._customer_rate[index]),
        )

    def utility(self, customer_id: str, product_ids: list[str]) -> np.ndarray:
        """The hidden interest of a customer in each product: what a perfect recommender ranks by."""
        customer = self._customer_index(customer_id)
        products = np.array([int(product_id.removeprefix("p-")) for product_id in product_ids], dtype=int)
        return self._utilities(customer, products)

    def _customer_index(self, customer_id: str) -> int:
        try:
            index = int(customer_id.removeprefix("u-"))
        except ValueError:
            raise KeyError(customer_id) from None
        if not 0 <= index < len(self.customer_ids):
            raise KeyError(customer_id)
        return index
