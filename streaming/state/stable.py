"""Pickling that survives refactoring: objects of the project's own classes are written under a stable
type id, never under their module path.

A checkpoint of a model service holds the project's own objects (feature state, joins, thresholds) around
third-party models (River's). Plain pickle records every class by module path, so moving a class from one
module to another makes every checkpoint unreadable. Here:

- a class of the project's is registered once with `@stable("learning.threshold/1")`, and is written as
  that id; reading maps the id back to wherever the class lives now;
- classes of allowed libraries (River, numpy, the standard library's containers) are written as usual;
- any other class refuses to be written (`UnstableStateError` names it and the fix), so an unregistered
  class is caught by the first test that checkpoints it, not by a user's restart weeks later;
- reading resolves only allowed modules and registered ids.

Bump the version in an id (`/1` -> `/2`) when a class's state changes incompatibly; a checkpoint holding an
id this release does not know is refused with a clear message.

>>> @stable("doc.counter/1")
... class Counter:
...     def __init__(self):
...         self.seen = 0
>>> counter = Counter(); counter.seen = 3
>>> loads(dumps(counter)).seen
3
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Callable
from types import BuiltinFunctionType, FunctionType
from typing import Any, TypeVar

import msgspec
from pydantic import BaseModel

__all__ = [
    "ALLOWED_MODULES",
    "UnknownStateType",
    "UnstableStateError",
    "dumps",
    "loads",
    "register",
    "stable",
]

T = TypeVar("T", bound=type)

#: Libraries whose classes may be pickled by path: their paths are theirs to keep stable (and checkpoints
#: record their versions).
ALLOWED_MODULES: tuple[str, ...] = (
    "river",
    "numpy",
    "scipy",
    "sklearn",
    "pandas",
    "sortedcontainers",
    "builtins",
    "collections",
    "copyreg",
    "functools",
    "operator",
    "itertools",
    "math",
    "random",
    "datetime",
    "decimal",
    "fractions",
    "array",
    "heapq",
    "bisect",
    "statistics",
    "re",
    "enum",
    "typing",
    "abc",
    "uuid",
    "_codecs",
    "codecs",
)

_TYPES: dict[str, type] = {}
_IDS: dict[type, str] = {}


class UnstableStateError(TypeError):
    """State holds an object of a class that is neither registered nor from an allowed library."""


class UnknownStateType(LookupError):
    """A checkpoint holds a type id (or a library class) this release does not know."""


def register(cls: type, type_id: str) -> None:
    """Register `cls` under `type_id` (for classes defined elsewhere, e.g. event contracts)."""
    known = _TYPES.get(type_id)
    if known is not None and known is not cls and known.__qualname__ != cls.__qualname__:
        raise ValueError(
            f"state type id {type_id!r} is already taken by {known.__module__}.{known.__qualname__}"
        )
    _TYPES[type_id] = cls
    _IDS[cls] = type_id


def stable(type_id: str) -> Callable[[T], T]:
    """Class decorator: write instances of this class as `type_id` (e.g. `"learning.threshold/1"`)."""

    def decorate(cls: T) -> T:
        register(cls, type_id)
        return cls

    return decorate


def _allowed(module: str) -> bool:
    return any(module == allowed or module.startswith(allowed + ".") for allowed in ALLOWED_MODULES)


# The four functions below are named in every checkpoint: never rename or move them.


def _new(type_id: str) -> Any:
    cls: Any = _type(type_id)
    return cls.__new__(cls)


def _new_struct(type_id: str, fields: dict[str, Any]) -> Any:
    return _type(type_id)(**fields)


def _new_model(type_id: str, fields: dict[str, Any]) -> Any:
    model = _type(type_id)
    return model.model_validate(fields)  # type: ignore[attr-defined]


def _class(type_id: str) -> type:
    return _type(type_id)


def _type(type_id: str) -> type:
    try:
        return _TYPES[type_id]
    except KeyError:
        raise UnknownStateType(
            f"the state holds a {type_id!r} object, which this release does not know"
        ) from None


_CONSTRUCTORS = {function.__name__: function for function in (_new, _new_struct, _new_model, _class)}


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, type):
            type_id = _IDS.get(obj)
            if type_id is not None:
                return _class, (type_id,)
            self._check(obj.__module__, obj.__qualname__)
            return NotImplemented
        if isinstance(obj, FunctionType | BuiltinFunctionType):
            if obj in _CONSTRUCTORS.values():
                return NotImplemented
            self._check(getattr(obj, "__module__", None) or "", getattr(obj, "__qualname__", repr(obj)))
            return NotImplemented
        cls = type(obj)
        type_id = _IDS.get(cls)
        if type_id is None:
            self._check(cls.__module__, cls.__qualname__)
            return NotImplemented
        if isinstance(obj, msgspec.Struct):
            return _new_struct, (type_id, msgspec.structs.asdict(obj))
        if isinstance(obj, BaseModel):
            return _new_model, (type_id, obj.model_dump(mode="python"))
        return _new, (type_id,), obj.__getstate__()

    @staticmethod
    def _check(module: str, name: str) -> None:
        if not _allowed(module):
            raise UnstableStateError(
                f"{module}.{name} is in the state but has no stable type id: decorate it with "
                f"@streaming.state.stable.stable('<area>.<name>/1') (or register it), so that checkpoints "
                "do not depend on where the class lives"
            )


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module == __name__ and name in _CONSTRUCTORS:
            return _CONSTRUCTORS[name]
        if not _allowed(module):
            raise UnknownStateType(f"the state names {module}.{name}, which checkpoints may not reference")
        try:
            return super().find_class(module, name)
        except (AttributeError, ModuleNotFoundError) as error:
            raise UnknownStateType(
                f"the state names {module}.{name}, which this environment lacks"
            ) from error


def dumps(obj: Any) -> bytes:
    """Pickle `obj`, writing registered classes by type id and refusing unregistered ones of the project."""
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=5).dump(obj)
    return buffer.getvalue()


def loads(data: bytes) -> Any:
    """The object `dumps` wrote (raises `UnknownStateType` for ids or modules this release lacks)."""
    return _Unpickler(io.BytesIO(data)).load()
