"""The cache's entry format: what is written reads back equal, and a forged or cut file is a
:class:`BadEntry`, never an object array or a read past the end."""

from __future__ import annotations

import errno
import io
import json
import mmap
import zlib
from pathlib import Path

import numpy as np
import pytest

from ksql.entryfile import MAGIC, BadEntry, mapped, read, write


def _roundtrip(members: dict[str, np.ndarray], meta: object = None) -> tuple[dict, object]:
    f = io.BytesIO()
    write(f, members, meta)
    data = f.getvalue()
    return read(data)


def test_members_and_meta_read_back_equal() -> None:
    members = {
        "a.addr": np.arange(5, dtype=np.uint64) * 7,
        "a.empty": np.zeros(9, dtype=np.uint8),  # one value throughout: stored as a fill
        "a.known": np.array([True, False, True]),
        "blob": np.frombuffer(b"\nab\ncd\n", dtype=np.uint8),
        "starts": np.array([0, 3, 6], dtype=np.int64),
    }
    got, meta = _roundtrip(members, {"tables": {"module": ["", "m1"]}})
    assert meta == {"tables": {"module": ["", "m1"]}}
    assert set(got) == set(members)
    for k, v in members.items():
        assert got[k].dtype == v.dtype and got[k].tolist() == v.tolist(), k
    assert got["a.empty"].strides == (0,)  # no room per row


def _forged(table: list[list[object]], body: bytes = b"") -> bytes:
    header = json.dumps({"members": table, "meta": {}}).encode()
    head = MAGIC + len(header).to_bytes(8, "little") + header
    data = head + bytes(-len(head) % 64) + body
    return data + zlib.crc32(data).to_bytes(4, "little")


CASES = {
    "object dtype": _forged([["a.x", "|O", 1, 0]], bytes(8)),
    "past the end": _forged([["a.x", "<u8", 100, 0]], bytes(8)),
    "negative count": _forged([["a.x", "<u8", -1, 0]], bytes(8)),
    "not an entry": b"PK\x03\x04" + bytes(100),
    "header longer than file": MAGIC + (10**9).to_bytes(8, "little"),
    "bad json": _forged([]).replace(b'"members"', b'"membrs" '),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_forged_or_cut_entry_is_refused(case: str) -> None:
    data = CASES[case]
    with pytest.raises(BadEntry):
        read(data)


@pytest.mark.parametrize("cut", [1, 4, 70, 200])
def test_a_cut_or_flipped_entry_fails_its_crc(cut: int) -> None:
    f = io.BytesIO()
    write(f, {"a.x": np.arange(50, dtype=np.uint32)}, {"k": 1})
    data = f.getvalue()
    with pytest.raises(BadEntry):
        read(data[:-cut])
    flipped = bytearray(data)
    flipped[-cut - 1] ^= 1
    with pytest.raises(BadEntry):
        read(bytes(flipped))


def test_a_member_table_of_the_wrong_shape_is_refused() -> None:
    data = _forged([["a.x", "<u8"]])
    with pytest.raises(BadEntry):
        read(data)


def test_a_mapped_file_reads_as_its_bytes_and_an_empty_one_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "entry"
    with path.open("wb") as f:
        write(f, {"a.x": np.arange(50, dtype=np.uint32)}, {"k": 1})
    with path.open("rb") as f:
        got, meta = read(mapped(f))
    assert meta == {"k": 1} and got["a.x"].tolist() == list(range(50))
    assert not got["a.x"].flags.writeable  # a view of the mapping, not a copy
    path.write_bytes(b"")
    with path.open("rb") as f, pytest.raises(BadEntry):
        mapped(f)


def test_a_file_system_without_mmap_reads_the_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "entry"
    with path.open("wb") as f:
        write(f, {"a.x": np.arange(5, dtype=np.uint32)}, {"k": 1})

    def no_mmap(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENODEV, "No such device")

    monkeypatch.setattr(mmap, "mmap", no_mmap)
    with path.open("rb") as f:
        data = mapped(f)
    assert isinstance(data, bytes)
    got, meta = read(data)
    assert meta == {"k": 1} and got["a.x"].tolist() == [0, 1, 2, 3, 4]
