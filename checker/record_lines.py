"""The {field: line} map of one record, compact (a large inventory holds one per person and group)."""

from __future__ import annotations

import functools
import struct
from collections.abc import Iterator, Mapping

_LINE = struct.Struct("<I")


class Lines(Mapping[str, int]):
    """{field: line} of one record, compact: a large inventory holds one per person and group, and as
    a dict each took ~500 bytes (most lines are numbers past 256, each its own int object). The lines
    are 4-byte little-endian numbers in one bytes object, which a cache stores and reads back as is."""

    __slots__ = ("_keys", "_lines")

    def __init__(self, lines: Mapping[str, int]) -> None:
        self._keys = _shared_keys(tuple(lines))
        self._lines = struct.pack(f"<{len(self._keys)}I", *lines.values())

    def __getitem__(self, key: str) -> int:
        try:
            index = self._keys.index(key)
        except ValueError:
            raise KeyError(key) from None
        return int(_LINE.unpack_from(self._lines, 4 * index)[0])

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"Lines({dict(self)!r})"

    def parts(self) -> tuple[tuple[str, ...], bytes]:
        """The names and the lines, for a cache to store (checker.incremental)."""
        return self._keys, self._lines

    @classmethod
    def from_parts(cls, keys: tuple[str, ...], lines: bytes) -> Lines:
        """Lines from parts() (a tuple of names, their lines packed: one number per name)."""
        if len(lines) != 4 * len(keys):
            raise ValueError("field lines do not match their names")
        made = cls.__new__(cls)
        made._keys = keys
        made._lines = lines
        return made


@functools.lru_cache(maxsize=4096)
def _shared_keys(keys: tuple[str, ...]) -> tuple[str, ...]:
    """One tuple per set of field names (records of one kind nearly all have the same)."""
    return keys
