"""The import CRCs of a run of modules (:mod:`.batch`): every file's ``__versions`` read as
one numpy table and matched to its undefined symbols, one dict per file; and the section
reader :mod:`ksql.kernel.modinfo`'s rules take for one file of a run."""

from __future__ import annotations

from itertools import accumulate, repeat
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ksql.errors import SourceError
from ksql.kernel.modinfo import MODULE_NAME_LEN, extended_crcs

from .reader import SHT_NOBITS
from .slips import SLIPS

if TYPE_CHECKING:
    from .batch import Run


def expected_crcs(
    run: Run,
    fid: npt.NDArray[np.int64],
    names: list[str],
    undefined: npt.NDArray[np.bool_],
    crc: npt.NDArray[np.int64],
) -> set[int]:
    """The CRC each import expects, set in ``crc`` for the ``undefined`` rows (file ``fid``,
    name ``names``), from every file's ``__versions`` at once (and the extended modversions
    of 6.14+, file by file): :func:`.modinfo.expected_crcs`. Returns the files whose
    extended records could not be read."""
    odd: set[int] = set()
    pieces: list[bytes] = []
    owners: list[int] = []
    extended: dict[int, dict[str, int]] = {}
    for i in range(len(run.files)):
        index = run.index(i, "__versions")
        if index is not None:
            versions = Sections(run, i).section_bytes(index)
            versions = versions[: len(versions) - len(versions) % MODULE_NAME_LEN]
            pieces.append(versions)
            owners.append(len(versions) // MODULE_NAME_LEN)
        else:
            owners.append(0)
        if run.index(i, "__version_ext_crcs") is not None:
            try:
                extended[i] = extended_crcs(Sections(run, i))
            except SLIPS:
                odd.add(i)
    rows = np.flatnonzero(undefined)
    if not len(rows) or (not pieces and not extended):
        return odd
    width = 8 if run.is64 else 4
    record = np.dtype([("crc", run.word), ("name", f"S{MODULE_NAME_LEN - width}")])
    table = np.frombuffer(b"".join(pieces), record)
    raw: list[bytes] = table["name"].tolist()  # numpy's S dtype drops the NUL padding
    names_of = b"\0".join(raw).decode("utf-8", "replace").split("\0")
    if len(names_of) != len(raw):  # bytes after a name's NUL: cut record by record
        names_of = [n.split(b"\0", 1)[0].decode("utf-8", "replace") for n in raw]
    crcs = (table["crc"] & 0xFFFFFFFF).tolist()
    starts = [0, *accumulate(owners)]
    wanted = [names[j] for j in rows.tolist()]
    ranges = np.searchsorted(fid[rows], np.arange(len(owners) + 1)).tolist()
    found: list[int] = []
    for i in range(len(owners)):
        a, b = ranges[i], ranges[i + 1]
        if a == b:
            continue
        # One dict per file, built and read at C speed: keys of (file, name) tuples
        # cost 3x (190 k records in Debian's 6.1 modules).
        expected = dict(
            zip(
                names_of[starts[i] : starts[i + 1]],
                crcs[starts[i] : starts[i + 1]],
                strict=True,
            )
        )
        expected.pop("", None)  # an empty record names nothing
        expected.update(extended.get(i, {}))
        found.extend(map(expected.get, wanted[a:b], repeat(-1)))
    hits = np.array(found, dtype=np.int64)
    hit = hits >= 0
    crc[rows[hit]] = hits[hit]
    return odd


class Sections:
    """What :mod:`ksql.kernel.modinfo`'s rules read of one file of a run."""

    def __init__(self, run: Run, i: int) -> None:
        self.run, self.i = run, i
        self.base = int(run.secbase[i])
        self.data = run.files[i].data
        self.little = run.files[i].header.little

    def index(self, name: str) -> int | None:
        return self.run.index(self.i, name)

    def section_bytes(self, index: int) -> bytes:
        run, row = self.run, self.base + index
        if run.types[row] == SHT_NOBITS:
            return b""
        start, size = run.offsets[row], run.sizes[row]
        if start + size > len(self.data):
            raise SourceError(self.run.files[self.i].path, f"section {index} runs past the end")
        return bytes(self.data[start : start + size])

    def u32(self, chunk: bytes) -> int:
        return int.from_bytes(chunk[:4], "little" if self.little else "big")
