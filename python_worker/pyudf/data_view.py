"""PyFlink's data views for accumulators: ``ListView`` and ``MapView``.

In PyFlink a view declared with ``DataTypes.LIST_VIEW``/``MAP_VIEW`` may be
backed by state; pyudf keeps accumulators in the worker's memory (and pickles
them to merge across workers), so a view is the plain list or dict behind
PyFlink's interface: code written against it runs unchanged.
"""
from __future__ import annotations

from typing import Any, Dict, Generic, ItemsView, Iterable, Iterator, KeysView, List, TypeVar, ValuesView

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")


class DataView:
    """What ListView and MapView have in common, as in PyFlink."""

    def clear(self) -> None:
        raise NotImplementedError


class ListView(DataView, Generic[T]):
    """A list of values in an accumulator: ``get``, ``add``, ``add_all``, ``clear``."""

    def __init__(self) -> None:
        self._list: List[T] = []

    def get(self) -> Iterable[T]:
        return self._list

    def add(self, value: T) -> None:
        self._list.append(value)

    def add_all(self, values: Iterable[T]) -> None:
        self._list.extend(values)

    def clear(self) -> None:
        self._list = []

    def __iter__(self) -> Iterator[T]:
        return iter(self._list)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ListView) and list(self) == list(other)

    def __hash__(self) -> int:  # mutable, as a list: not hashable
        raise TypeError("unhashable type: 'ListView'")

    def __repr__(self) -> str:
        return f"ListView({self._list!r})"


class MapView(DataView, Generic[K, V]):
    """A map in an accumulator: ``get``, ``put``, ``put_all``, ``remove``, ``contains``,
    ``items``/``keys``/``values``, ``is_empty``, ``clear``, and ``view[key]``."""

    def __init__(self) -> None:
        self._dict: Dict[K, V] = {}

    def get(self, key: K) -> V:
        return self._dict[key]

    def put(self, key: K, value: V) -> None:
        self._dict[key] = value

    def put_all(self, dict_value: Dict[K, V]) -> None:
        self._dict.update(dict_value)

    def remove(self, key: K) -> None:
        del self._dict[key]

    def contains(self, key: K) -> bool:
        return key in self._dict

    def items(self) -> ItemsView[K, V]:
        return self._dict.items()

    def keys(self) -> KeysView[K]:
        return self._dict.keys()

    def values(self) -> ValuesView[V]:
        return self._dict.values()

    def is_empty(self) -> bool:
        return not self._dict

    def clear(self) -> None:
        self._dict.clear()

    def __getitem__(self, key: K) -> V:
        return self.get(key)

    def __setitem__(self, key: K, value: V) -> None:
        self.put(key, value)

    def __delitem__(self, key: K) -> None:
        self.remove(key)

    def __contains__(self, key: object) -> bool:
        return key in self._dict

    def __iter__(self) -> Iterator[K]:
        return iter(self._dict)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MapView) and self._dict == other._dict

    def __hash__(self) -> int:
        raise TypeError("unhashable type: 'MapView'")

    def __repr__(self) -> str:
        return f"MapView({self._dict!r})"


__all__ = ["DataView", "ListView", "MapView"]
