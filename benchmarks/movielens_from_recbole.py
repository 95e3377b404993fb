"""Writes MovieLens 100k as u.data and u.item from the copy that RecBole's PyPI wheel ships.

    .venv/bin/pip download --no-deps recbole -d /tmp/recbole     # the wheel only, nothing installed
    .venv/bin/python benchmarks/movielens_from_recbole.py /tmp/recbole/recbole-*.whl /tmp/ml-100k

RecBole keeps ml-100k in its atomic format (`ml-100k.inter`: user, item, rating, timestamp with a typed
header; `ml-100k.item`: item, title, year, genres). The ratings are the original 100,000 rows; u.item is
rebuilt with the title, a release date from the year and the 19 genre flags. The data stays outside the
repository (GroupLens licence: https://grouplens.org/datasets/movielens/100k/).
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from consumers.recommendations.datasets import MOVIELENS_GENRES

PREFIX = "recbole/dataset_example/ml-100k/"


def convert(wheel: Path, target: Path) -> Path:
    with zipfile.ZipFile(wheel) as archive:
        ratings = archive.read(PREFIX + "ml-100k.inter").decode("utf-8").splitlines()[1:]
        movies = archive.read(PREFIX + "ml-100k.item").decode("utf-8").splitlines()[1:]
    target.mkdir(parents=True, exist_ok=True)
    with (target / "u.data").open("w") as out:
        for line in ratings:
            user, item, rating, timestamp = line.split("\t")
            out.write(f"{user}\t{item}\t{int(float(rating))}\t{int(float(timestamp))}\n")
    with (target / "u.item").open("w", encoding="latin-1", errors="replace") as out:
        for line in movies:
            item, title, year, genres = ([*line.split("\t"), "", "", ""])[:4]
            tokens = set(genres.split(" "))
            flags = ["1" if genre in tokens else "0" for genre in MOVIELENS_GENRES]
            release = f"01-Jan-{year}" if year.isdigit() else ""
            out.write(
                "|".join([item, f"{title} ({year})" if year else title, release, "", "", *flags]) + "\n"
            )
    return target


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        raise SystemExit(2)
    print(convert(Path(sys.argv[1]), Path(sys.argv[2])))
