"""The base of every configuration object in both cores: frozen, validated, JSON round-trip.

A config is a ``@dataclass(frozen=True)`` subclass of :class:`Config` that checks its fields in
``__post_init__`` (``ValueError`` with a message naming the field). Copy-with-changes is spelled
one way everywhere: ``cfg.replace(field=value)``, which validates the copy again.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

C = TypeVar("C", bound="Config")


def _plain(value: Any) -> Any:
    """Tuples become lists, recursively, so ``to_dict`` equals what JSON gives back."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


class Config:
    """Mixin for frozen dataclass configs (see the module docstring)."""

    def replace(self: C, **changes: Any) -> C:
        """A validated copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON-ready Python values (tuples as lists)."""
        return _plain(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls: type[C], data: Mapping[str, Any]) -> C:
        """Inverse of :meth:`to_dict`; missing fields take their defaults.

        Raises:
            ValueError: if ``data`` is not a mapping, names unknown fields or holds invalid values.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"a {cls.__name__} must be a JSON object, got {type(data).__name__}")
        unknown = set(data) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"unknown {cls.__name__} fields: {sorted(unknown)}")
        try:
            return cls(**data)
        except TypeError as err:  # e.g. a list where a number belongs
            raise ValueError(f"invalid {cls.__name__}: {err}") from err

    def _normalise(self, name: str, value: Any) -> None:
        """Store a normalised field value from ``__post_init__`` (the dataclass is frozen)."""
        object.__setattr__(self, name, value)
