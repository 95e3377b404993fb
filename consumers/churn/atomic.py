"""Files and directories that appear whole or not at all: written under a temporary name, then renamed.

A run killed midway leaves only temporary names behind (cleaned by `clean_leftovers`), never a partial
file or directory under its final name. Replacing a directory takes two renames; if a kill falls between
them, `clean_leftovers` restores the old version, so a reader always finds one complete version.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

_TEMPORARY = ".tmp-"
_OLD = ".old-"


def _temporary_name(path: Path) -> Path:
    return path.with_name(f".{path.name}{_TEMPORARY}{os.getpid()}")


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[Path]:
    """Yields a temporary path beside `path`; on success it is renamed to `path` (replacing it).

    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "list.csv"
    >>> with atomic_file(target) as temporary:
    ...     _ = temporary.write_text("a,b\\n")
    >>> target.read_text(), sorted(p.name for p in target.parent.iterdir())
    ('a,b\\n', ['list.csv'])
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = _temporary_name(path)
    try:
        yield temporary
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_directory(path: Path) -> Iterator[Path]:
    """Yields an empty temporary directory beside `path`; on success it replaces `path` as a whole.

    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "week=2026-W48"
    >>> for text in ("first", "second"):
    ...     with atomic_directory(target) as temporary:
    ...         _ = (temporary / "data.txt").write_text(text)
    >>> (target / "data.txt").read_text(), len(list(target.parent.iterdir()))
    ('second', 1)
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = _temporary_name(path)
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir()
    try:
        yield temporary
        old = path.with_name(f".{path.name}{_OLD}{os.getpid()}")
        if path.exists():
            os.replace(path, old)
        os.replace(temporary, path)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def clean_leftovers(directory: Path) -> int:
    """Remove what killed writers left in `directory`; restore an old version whose new one never came.

    Returns how many leftovers were found.
    """
    if not directory.exists():
        return 0
    found = 0
    for entry in sorted(directory.iterdir()):
        name = entry.name
        if not name.startswith("."):
            continue
        if _OLD in name:
            found += 1
            final = entry.with_name(name[1 : name.index(_OLD)])
            if final.exists():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                os.replace(entry, final)
        elif _TEMPORARY in name:
            found += 1
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
    return found
