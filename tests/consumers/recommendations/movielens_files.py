"""Generated files in the MovieLens 100k format (u.data, u.item) and the online-retail format, for tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from consumers.recommendations.datasets import MOVIELENS_GENRES


def write_movielens(
    directory: Path, users: int = 120, items: int = 80, ratings_per_user: int = 20, seed: int = 0
) -> Path:
    """Users of two tastes (genres 1-2 or 3-4) rating mostly movies of their taste; returns the directory."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    genre_of = rng.integers(1, 5, items)
    lines = []
    for user in range(1, users + 1):
        taste = (1, 2) if user % 2 else (3, 4)
        liked = np.flatnonzero(np.isin(genre_of, taste)) + 1
        other = np.flatnonzero(~np.isin(genre_of, taste)) + 1
        chosen = set(rng.choice(liked, size=min(len(liked), ratings_per_user - 3), replace=False).tolist())
        chosen |= set(rng.choice(other, size=3, replace=False).tolist())
        for item in sorted(chosen):
            lines.append(
                f"{user}\t{item}\t{int(rng.integers(1, 6))}\t{880_000_000 + int(rng.integers(0, 10_000_000))}"
            )
    (directory / "u.data").write_text("\n".join(lines) + "\n")
    item_lines = []
    for item in range(1, items + 1):
        flags = ["0"] * len(MOVIELENS_GENRES)
        flags[int(genre_of[item - 1])] = "1"
        item_lines.append(
            f"{item}|Movie {item} (1995)|01-Jan-1995||http://example.invalid/{item}|" + "|".join(flags)
        )
    (directory / "u.item").write_text("\n".join(item_lines) + "\n", encoding="latin-1")
    return directory


ONLINE_RETAIL = """InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom
536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26:00,3.39,17850.0,United Kingdom
536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26:00,3.39,17850.0,United Kingdom
536366,22633,HAND WARMER UNION JACK,6,2010-12-01 08:28:00,1.85,17850.0,United Kingdom
536367,84879,ASSORTED COLOUR BIRD ORNAMENT,32,2010-12-01 08:34:00,1.69,13047.0,United Kingdom
536367,22745,POPPY'S PLAYHOUSE BEDROOM,6,2010-12-01 08:34:00,2.1,13047.0,United Kingdom
C536379,D,Discount,-1,2010-12-01 09:41:00,27.5,14527.0,United Kingdom
536380,22961,JAM MAKING SET PRINTED,24,2010-12-01 09:41:00,1.45,,United Kingdom
536381,22139,RETROSPOT TEA SET CERAMIC,1,not a date,4.95,15311.0,United Kingdom
536382,22139,RETROSPOT TEA SET CERAMIC,1,2010-12-01 09:45:00,0,15311.0,United Kingdom
536383,22139,RETROSPOT TEA SET CERAMIC,2,2010-12-01 09:50:00,4.95,15311.0,United Kingdom
"""


def write_online_retail(path: Path, text: str = ONLINE_RETAIL) -> Path:
    path.write_text(text)
    return path
