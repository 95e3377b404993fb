"""Customers with lifecycles: who pays with which card, how often, how much, and when they stop.

Each customer is acquired at some date, has one or more cards, an activity level (visits per day), a
spending profile (a basket scale), preferred merchant categories and habitual merchants. Once a week (at
Monday 00:00 UTC, the start of an ISO week) the base moves on:

- an active customer starts to churn with a small weekly hazard. For the next few weeks it shows: visits
  get rarer, baskets smaller, the merchant mix narrows to a favourite or two, and more purchases are
  refunded. Then the customer stops, and the base reports a `customer_churned` ground-truth label;
- a churned customer may come back (reactivation), with its old habits;
- a seasonal customer buys mostly during its season of a few weeks a year, and hardly at all otherwise;
- new customers arrive, a share of the active base each week, so the base grows.

Everything is drawn from one seeded generator, so the same seed and settings give the same customers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, Field

from contracts import Label

WEEK_SECONDS = 7 * 86_400.0
#: 1970-01-05 00:00 UTC was a Monday: ISO weeks start at this offset plus a multiple of a week.
_FIRST_MONDAY = 4 * 86_400.0

ACTIVE, DECLINING, CHURNED = 0, 1, 2


class CustomerLifecycleSettings(BaseModel):
    """How simulated customers arrive, behave, decline, churn and come back."""

    weekly_churn_hazard: float = Field(
        default=0.01,
        ge=0.0,
        le=0.2,
        description="Probability per week that an active customer starts to churn: the mean over newly "
        "acquired customers (it varies between customers, and the likeliest leave first).",
    )
    decline_weeks_min: int = Field(default=3, ge=1, description="Shortest pre-churn decline, in weeks.")
    decline_weeks_max: int = Field(default=6, ge=1, description="Longest pre-churn decline, in weeks.")
    decline_visit_floor: float = Field(
        default=0.25,
        gt=0.0,
        le=1.0,
        description="Visit rate at the end of the decline, relative to the customer's usual rate.",
    )
    decline_basket_floor: float = Field(
        default=0.6,
        gt=0.0,
        le=1.0,
        description="Basket size at the end of the decline, relative to the customer's usual basket.",
    )
    refund_probability: float = Field(
        default=0.02, ge=0.0, le=0.5, description="Share of an active customer's purchases later refunded."
    )
    decline_refund_probability: float = Field(
        default=0.12,
        ge=0.0,
        le=0.5,
        description="Share of purchases refunded at the end of the decline (rising from refund_probability).",
    )
    refund_delay_days: float = Field(
        default=3.0, gt=0.0, description="Mean delay between a purchase and its refund, in days."
    )
    weekly_reactivation_probability: float = Field(
        default=0.01, ge=0.0, le=1.0, description="Probability per week that a churned customer comes back."
    )
    seasonal_share: float = Field(
        default=0.05, ge=0.0, le=1.0, description="Share of customers who buy mostly during a season."
    )
    season_weeks: int = Field(default=10, ge=1, le=52, description="Length of a seasonal customer's season.")
    off_season_activity: float = Field(
        default=0.05,
        ge=0.0,
        le=1.0,
        description="A seasonal customer's visit rate outside its season, relative to inside it.",
    )
    weekly_growth_rate: float = Field(
        default=0.015,
        ge=0.0,
        le=1.0,
        description="New customers each week, as a share of the customers not churned.",
    )
    activity_spread: float = Field(
        default=1.0,
        ge=0.0,
        le=3.0,
        description="Spread (log-normal sigma) of customers' activity levels around the mean visit rate.",
    )
    max_cards_per_customer: int = Field(default=3, ge=1, le=10, description="Most cards one customer holds.")
    history_years: float = Field(
        default=3.0,
        ge=0.0,
        description="The customers present at the start were acquired uniformly over this many years before.",
    )
    churn_report_delay_weeks: float = Field(
        default=8.0,
        ge=0.0,
        description="Ground-truth churn labels are reported this long after the churn date, in weeks.",
    )


@dataclass(frozen=True, slots=True)
class CustomerBehaviour:
    """How one customer shops this week (see `CustomerBase.behaviour`).

    Parameters
    ----------
    customer_index
        Position of the customer in the base.
    basket_scale
        Multiplies the category's typical amount (spending profile and decline together).
    habitual_merchants
        The merchants it visits by habit this week, favourite first (narrower during a decline).
    habitual_share
        Probability that a visit goes to a habitual merchant rather than another local one.
    refund_probability
        Probability that a purchase is refunded later.

    >>> CustomerBehaviour(0, 1.2, (4, 9), 0.8, 0.02).habitual_merchants
    (4, 9)
    """

    customer_index: int
    basket_scale: float
    habitual_merchants: tuple[int, ...]
    habitual_share: float
    refund_probability: float


def week_start_at_or_before(time: float) -> float:
    """The Monday 00:00 UTC that starts the ISO week holding `time` (epoch seconds).

    >>> week_start_at_or_before(1_796_000_000.0)  # Monday 2026-11-30 00:55 UTC
    1795996800.0
    """
    return _FIRST_MONDAY + math.floor((time - _FIRST_MONDAY) / WEEK_SECONDS) * WEEK_SECONDS


class CustomerBase:
    """The simulated customers and their cards, moving on one week at a time.

    Parameters
    ----------
    settings
        The lifecycle settings.
    cards
        How many cards the customers hold at the start (customers are added until there are this many).
    seed
        Seed of the base's own random generator.
    start_time
        Event time of the start, epoch seconds.
    merchants_by_city
        For each home city, the merchants its customers can visit (local and online ones).
    merchant_categories
        The category of every merchant, by merchant index.
    category_shares
        Category name -> share of visits customers give it, for drawing preferred categories.
    city_count
        How many home cities there are.
    transactions_per_card_day
        Mean visits per card and day of an active customer.

    >>> base = CustomerBase(CustomerLifecycleSettings(), cards=30, seed=1, start_time=1.7e9,
    ...     merchants_by_city=[[0, 1, 2]], merchant_categories=["grocery", "fuel", "grocery"],
    ...     category_shares={"grocery": 0.7, "fuel": 0.3}, city_count=1, transactions_per_card_day=3.0)
    >>> len(base.card_ids), base.card_ids[0], base.customer_ids[0]
    (30, 'c-000000', 'u-000000')
    >>> labels = base.advance(base.next_boundary)
    >>> base.week_number
    1
    """

    def __init__(
        self,
        settings: CustomerLifecycleSettings,
        cards: int,
        seed: int,
        start_time: float,
        merchants_by_city: Sequence[Sequence[int]],
        merchant_categories: Sequence[str],
        category_shares: dict[str, float],
        city_count: int,
        transactions_per_card_day: float,
    ) -> None:
        if cards < 1:
            raise ValueError("the customer base needs at least one card")
        if settings.decline_weeks_max < settings.decline_weeks_min:
            raise ValueError("decline_weeks_max must be at least decline_weeks_min")
        self.settings = settings
        self._rng = np.random.default_rng([seed, 0xC057])
        self._merchants_by_city = [list(merchants) for merchants in merchants_by_city]
        self._merchant_categories = list(merchant_categories)
        self._category_names = list(category_shares)
        shares = np.array([category_shares[name] for name in self._category_names], dtype=float)
        self._category_probabilities = shares / shares.sum()
        self._city_count = city_count
        self._per_day = transactions_per_card_day
        self.week_number = 0
        self.next_boundary = week_start_at_or_before(start_time) + WEEK_SECONDS
        # Customer columns.
        self.customer_ids: list[str] = []
        self.acquisition_time = np.empty(0)
        self.home_city = np.empty(0, dtype=np.int64)
        self.home_latitude_offset = np.empty(0)
        self.home_longitude_offset = np.empty(0)
        self.spending_scale = np.empty(0)
        self.visit_rate_per_day = np.empty(0)
        self.hazard = np.empty(0)
        self.seasonal = np.empty(0, dtype=bool)
        self.season_start_week = np.empty(0, dtype=np.int64)
        self.status = np.empty(0, dtype=np.int8)
        self.decline_total_weeks = np.empty(0, dtype=np.int64)
        self.decline_done_weeks = np.empty(0, dtype=np.int64)
        self.habitual: list[list[int]] = []
        self.preferred_categories: list[list[str]] = []
        # Card columns.
        self.card_ids: list[str] = []
        self.card_customer = np.empty(0, dtype=np.int64)
        self.card_weight = np.empty(0)
        self.devices: list[str] = []
        # What happened, for tests and reports.
        self.churn_events: list[tuple[int, float]] = []
        self.onsets: list[tuple[int, float]] = []
        self.reactivations: list[tuple[int, float]] = []
        self._add_initial(cards, start_time)
        self._refresh()

    # -- building -----------------------------------------------------------------------------------------
    def _card_counts(self, customers: int) -> np.ndarray:
        maximum = self.settings.max_cards_per_customer
        weights = np.array([0.6**index for index in range(maximum)])
        return 1 + self._rng.choice(maximum, size=customers, p=weights / weights.sum())

    def _add_initial(self, cards: int, start_time: float) -> None:
        counts = self._card_counts(cards)  # more than enough customers
        cumulative = np.cumsum(counts)
        customers = int(np.searchsorted(cumulative, cards) + 1)
        counts = counts[:customers].copy()
        counts[-1] -= int(cumulative[customers - 1] - cards)
        history = self.settings.history_years * 365.25 * 86_400.0
        acquired = start_time - self._rng.uniform(0.0, history, customers)
        self._add_customers(counts, acquired)
        # Start in a steady state: some customers are already declining, as they would be in a real base.
        decline_mean = (self.settings.decline_weeks_min + self.settings.decline_weeks_max) / 2.0
        already = self._rng.random(customers) < self.hazard * decline_mean
        for index in np.flatnonzero(already):
            self._start_decline(int(index), start_time, record=True)
            self.decline_done_weeks[index] = int(self._rng.integers(0, self.decline_total_weeks[index]))

    def _add_customers(self, card_counts: np.ndarray, acquired: np.ndarray) -> None:
        rng = self._rng
        count = len(card_counts)
        first = len(self.customer_ids)
        self.customer_ids.extend(f"u-{index:06d}" for index in range(first, first + count))
        self.acquisition_time = np.concatenate([self.acquisition_time, acquired])
        self.home_city = np.concatenate([self.home_city, rng.integers(self._city_count, size=count)])
        self.home_latitude_offset = np.concatenate([self.home_latitude_offset, rng.normal(0, 0.05, count)])
        self.home_longitude_offset = np.concatenate([self.home_longitude_offset, rng.normal(0, 0.05, count)])
        self.spending_scale = np.concatenate([self.spending_scale, rng.lognormal(0.0, 0.4, count)])
        # Each card draws its own rate (mean `per_day`); the customer's rate is their sum, times the
        # customer's activity level (mean 1), which spreads customers from daily to monthly shoppers.
        card_rates = rng.lognormal(math.log(self._per_day) - 0.18, 0.6, int(card_counts.sum()))
        owners = np.repeat(np.arange(first, first + count), card_counts)
        sigma = self.settings.activity_spread
        activity = rng.lognormal(-(sigma**2) / 2.0, sigma, count)
        card_rates = card_rates * activity[owners - first]
        customer_rates = np.bincount(owners - first, weights=card_rates, minlength=count)
        self.visit_rate_per_day = np.concatenate([self.visit_rate_per_day, customer_rates])
        # Hazards vary between customers (gamma with mean 1), so some are far likelier to leave than others.
        self.hazard = np.concatenate(
            [self.hazard, self.settings.weekly_churn_hazard * rng.gamma(2.0, 0.5, count)]
        )
        self.seasonal = np.concatenate([self.seasonal, rng.random(count) < self.settings.seasonal_share])
        self.season_start_week = np.concatenate([self.season_start_week, rng.integers(0, 52, size=count)])
        self.status = np.concatenate([self.status, np.zeros(count, dtype=np.int8)])
        self.decline_total_weeks = np.concatenate([self.decline_total_weeks, np.zeros(count, dtype=np.int64)])
        self.decline_done_weeks = np.concatenate([self.decline_done_weeks, np.zeros(count, dtype=np.int64)])
        first_card = len(self.card_ids)
        self.card_ids.extend(f"c-{index:06d}" for index in range(first_card, first_card + len(owners)))
        self.card_customer = np.concatenate([self.card_customer, owners])
        self.card_weight = np.concatenate([self.card_weight, card_rates / customer_rates[owners - first]])
        self.devices.extend(f"d-{value:08x}" for value in rng.integers(0, 2**32, size=len(owners)))
        for offset in range(count):
            city = int(self.home_city[first + offset])
            self._add_habits(city)

    def _add_habits(self, city: int) -> None:
        rng = self._rng
        local = self._merchants_by_city[city]
        size = min(int(rng.integers(2, 5)), int(np.count_nonzero(self._category_probabilities)))
        chosen = rng.choice(
            len(self._category_names), size=size, replace=False, p=self._category_probabilities
        )
        preferred = [self._category_names[index] for index in chosen]
        in_preferred = [merchant for merchant in local if self._merchant_categories[merchant] in preferred]
        pool = in_preferred if len(in_preferred) >= 4 else local
        habitual = rng.choice(pool, size=min(len(pool), int(rng.integers(4, 11))), replace=False).tolist()
        self.habitual.append([int(merchant) for merchant in habitual])
        self.preferred_categories.append(preferred)

    # -- the weekly step ----------------------------------------------------------------------------------
    def _start_decline(self, index: int, time: float, record: bool) -> None:
        self.status[index] = DECLINING
        self.decline_total_weeks[index] = int(
            self._rng.integers(self.settings.decline_weeks_min, self.settings.decline_weeks_max + 1)
        )
        self.decline_done_weeks[index] = 0
        if record:
            self.onsets.append((index, time))

    def advance(self, boundary: float) -> list[Label]:
        """Move to the week starting at `boundary` (which must be `next_boundary`); returns churn labels."""
        if boundary != self.next_boundary:
            raise ValueError("the customer base moves one week at a time, at next_boundary")
        rng = self._rng
        settings = self.settings
        labels: list[Label] = []
        declining = np.flatnonzero(self.status == DECLINING)
        self.decline_done_weeks[declining] += 1
        for index in declining[self.decline_done_weeks[declining] >= self.decline_total_weeks[declining]]:
            self.status[index] = CHURNED
            self.churn_events.append((int(index), boundary))
            labels.append(
                Label(
                    kind="customer_churned",
                    entity_id=self.customer_ids[index],
                    event_time=boundary,
                    reported_time=boundary + settings.churn_report_delay_weeks * WEEK_SECONDS,
                )
            )
        churned = np.flatnonzero(self.status == CHURNED)
        # Customers who churned at this very boundary do not come back at once.
        just_churned = {int(index) for index, time in self.churn_events if time == boundary}
        draws = rng.random(len(churned))
        for index, draw in zip(churned.tolist(), draws.tolist(), strict=True):
            if draw < settings.weekly_reactivation_probability and index not in just_churned:
                self.status[index] = ACTIVE
                self.reactivations.append((index, boundary))
        active = np.flatnonzero(self.status == ACTIVE)
        starting = active[rng.random(len(active)) < self.hazard[active]]
        for index in starting.tolist():
            self._start_decline(index, boundary, record=True)
        newcomers = int(rng.poisson(settings.weekly_growth_rate * np.count_nonzero(self.status != CHURNED)))
        if newcomers:
            self._add_customers(self._card_counts(newcomers), np.full(newcomers, boundary))
        self.week_number += 1
        self.next_boundary = boundary + WEEK_SECONDS
        self._refresh()
        return labels

    def _progress(self) -> np.ndarray:
        """How far into its decline each customer is, 0 (not declining) to 1 (about to stop)."""
        progress = np.zeros(len(self.status))
        declining = self.status == DECLINING
        progress[declining] = (self.decline_done_weeks[declining] + 1) / self.decline_total_weeks[declining]
        return progress

    def _refresh(self) -> None:
        settings = self.settings
        progress = self._progress()
        activity = 1.0 - (1.0 - settings.decline_visit_floor) * progress
        activity[self.status == CHURNED] = 0.0
        week_of_year = int(((self.next_boundary - WEEK_SECONDS - _FIRST_MONDAY) // WEEK_SECONDS) % 52)
        in_season = (week_of_year - self.season_start_week) % 52 < settings.season_weeks
        activity = np.where(self.seasonal & ~in_season, activity * settings.off_season_activity, activity)
        self.activity = activity
        self.basket_multiplier = 1.0 - (1.0 - settings.decline_basket_floor) * progress
        self.refund_probabilities = settings.refund_probability + progress * (
            settings.decline_refund_probability - settings.refund_probability
        )
        self.progress = progress
        owners = self.card_customer
        self.card_rates_per_second = (
            self.visit_rate_per_day[owners] * self.card_weight * activity[owners] / 86_400.0
        )

    # -- what the payment world asks ------------------------------------------------------------------------
    def behaviour(self, card: int) -> CustomerBehaviour:
        """This week's shopping habits of the customer holding `card`."""
        customer = int(self.card_customer[card])
        progress = float(self.progress[customer])
        habitual = self.habitual[customer]
        # The merchant mix narrows to the favourites as the decline goes on.
        kept = max(1, round(len(habitual) * (1.0 - 0.8 * progress)))
        return CustomerBehaviour(
            customer_index=customer,
            basket_scale=float(self.spending_scale[customer] * self.basket_multiplier[customer]),
            habitual_merchants=tuple(habitual[:kept]),
            habitual_share=0.8 + 0.18 * progress,
            refund_probability=float(self.refund_probabilities[customer]),
        )

    @property
    def card_count(self) -> int:
        return len(self.card_ids)

    @property
    def customer_count(self) -> int:
        return len(self.customer_ids)

    def customer_of(self, card: int) -> str:
        return self.customer_ids[int(self.card_customer[card])]
