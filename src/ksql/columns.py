"""The catalog's storage: the column specs, the string tables that give modules, sections,
namespaces and sources their small-int codes, and :class:`Columns`, a consistent view of a
loaded catalog that queries and renderers read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ksql.batch import ADDR_NONE, INT_NONE
from ksql.names import NameColumn

UNKNOWN_LETTER = ord("?")


class StringTable:
    """Strings interned to dense integer codes."""

    def __init__(self, initial: Iterable[str] = ()) -> None:
        self.strings: list[str] = []
        self.codes: dict[str, int] = {}
        for s in initial:
            self.code(s)

    def code(self, s: str) -> int:
        c = self.codes.get(s)
        if c is None:
            c = self.codes[s] = len(self.strings)
            self.strings.append(s)
        return c

    def encode(self, values: Sequence[str]) -> npt.NDArray[np.uint32]:
        for s in set(values):
            self.code(s)
        return np.fromiter(map(self.codes.__getitem__, values), dtype=np.uint32, count=len(values))

    def __len__(self) -> int:
        return len(self.strings)


SPECS: dict[str, tuple[Any, Any]] = {
    # column -> (dtype, fill value for unused capacity)
    "name": (np.object_, None),
    "module": (np.uint32, 0),
    "addr": (np.uint64, ADDR_NONE),
    "type": (np.uint8, UNKNOWN_LETTER),
    "size": (np.int64, INT_NONE),
    "section": (np.uint32, 0),
    "bind": (np.uint8, 0),
    "kind": (np.uint8, 0),
    "export": (np.uint8, 0),
    "namespace": (np.uint32, 0),
    "crc": (np.int64, INT_NONE),
    "undefined": (np.bool_, False),
    "source": (np.uint32, 0),
}


@dataclass(frozen=True, slots=True)
class Columns:
    """A consistent view of the catalog's columns (all of length ``n``)."""

    n: int
    name: NameColumn
    module: npt.NDArray[np.uint32]
    addr: npt.NDArray[np.uint64]
    type: npt.NDArray[np.uint8]
    size: npt.NDArray[np.int64]
    section: npt.NDArray[np.uint32]
    bind: npt.NDArray[np.uint8]
    kind: npt.NDArray[np.uint8]
    export: npt.NDArray[np.uint8]
    namespace: npt.NDArray[np.uint32]
    crc: npt.NDArray[np.int64]
    undefined: npt.NDArray[np.bool_]
    source: npt.NDArray[np.uint32]
