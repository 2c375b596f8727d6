"""Many modules decoded as one run (plugins/elf/batch.py) give the rows, module metadata and
problems that decoding each file on its own gives, in the same order: on the corpus's every
module, on other architectures, and on runs broken by files that cannot join them."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from ksql.coded import Coded
from ksql.errors import SourceError
from ksql.plugins.elf.batch import read_many
from ksql.plugins.elf.files import module_files, read_file
from ksql.sink import Batch
from ksql.storage import StringTable
from tests.conftest import DATA

M2 = (DATA / "m2.ko").read_bytes()


def one_by_one(paths: Sequence[Path]) -> Batch:
    parts, problems = [], []
    for path in paths:
        try:
            parts.append(read_file(path))
        except SourceError as exc:
            problems.append(str(exc))
    batch = Batch.concat(parts)
    batch.problems.extend(problems)
    return batch


def assert_same(got: Batch, want: Batch) -> None:
    assert got.columns.keys() == want.columns.keys()
    for key, expected in want.columns.items():
        value = got.columns[key]
        if isinstance(expected, np.ndarray):
            assert value.dtype == expected.dtype, key
            assert np.array_equal(value, expected), key
        else:
            assert list(value) == list(expected), key
    assert got.module_info == want.module_info
    assert got.problems == want.problems
    assert got.notes == want.notes


def in_runs(paths: Sequence[Path], size: int = 48) -> Batch:
    return Batch.concat([read_many(paths[i : i + size]) for i in range(0, len(paths), size)])


def test_seed_modules_as_one_run() -> None:
    paths = [DATA / "m1.ko", DATA / "m2.ko", DATA / "m3-6.1/m3.ko", DATA / "m3-6.12/m3.ko"]
    got = read_many(paths)
    assert_same(got, one_by_one(paths))
    assert {"m1", "m2", "m3"} <= set(got["module"])
    assert int((got["export"] > 0).sum()) >= 3


def test_files_that_cannot_join_a_run_keep_their_place(tmp_path: Path) -> None:
    """Every way out of a run: not ELF, truncated, linked (ET_DYN), another machine, a
    string table that is not NUL-terminated, a name that is not ASCII, a symbol whose name
    lies past its string table. The rows stay in file order, the errors are the one-file
    path's."""
    files = {
        "a.ko": M2,
        "far.ko": _name_past_strtab(M2),  # fails late, on its own: before text.ko's error
        "text.ko": b"not an ELF file at all\n",
        "short.ko": M2[:100],
        "image.elf": (DATA / "arch/Image-arm64.elf").read_bytes(),
        "b.ko": (DATA / "m1.ko").read_bytes(),
        "open.ko": _strtab_unterminated(M2),
        "accent.ko": M2.replace(b"rday_2\0", b"rd\xe9y_2\0"),
        "c.ko": (DATA / "m3-6.12/m3.ko").read_bytes(),
        "d.ko": M2,
    }
    paths = []
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        paths.append(tmp_path / name)
    got, want = read_many(paths), one_by_one(paths)
    assert_same(got, want)
    assert [p.split(": ")[0].rsplit("/", 1)[-1] for p in want.problems] == [
        "far.ko",
        "text.ko",
        "short.ko",
    ]
    assert "rd\udce9y_2" in got["name"]  # the accented file decoded on its own


def _strtab_unterminated(data: bytes) -> bytes:
    """``data`` with .strtab's last byte (a NUL) made an 'x'."""
    from ksql.plugins.elf.reader import ElfImage

    image = ElfImage("m2.ko", data)
    sh = image.sections[image.index(".strtab")]
    end = int(sh["offset"]) + int(sh["size"]) - 1
    return data[:end] + b"x" + data[end + 1 :]


def _name_past_strtab(data: bytes) -> bytes:
    """``data`` with the last symbol's name offset past .strtab's end."""
    from ksql.plugins.elf.reader import ElfImage

    image = ElfImage("m2.ko", data)
    symtab = image.sections[image.index(".symtab")]
    strtab = image.sections[image.index(".strtab")]
    last = int(symtab["offset"]) + int(symtab["size"]) - 24
    return data[:last] + (int(strtab["size"]) + 5).to_bytes(4, "little") + data[last + 4 :]


@pytest.mark.parametrize("where", ["__init__", "batch"])
def test_a_slip_the_run_did_not_foresee_decodes_each_file_alone(
    monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """Should the run's code itself fail on some file (an IndexError its checks missed), the
    tree still loads: every file of that run is decoded on its own."""
    from ksql.plugins.elf import batch

    def slip(*_args: object) -> None:
        raise IndexError("a slip")

    paths = [DATA / "m1.ko", DATA / "m2.ko", DATA / "m3-6.1/m3.ko"]
    want = one_by_one(paths)
    monkeypatch.setattr(batch.Run, where, slip)
    assert_same(read_many(paths), want)


def test_a_run_of_one_and_an_empty_run() -> None:
    assert_same(read_many([DATA / "m2.ko"]), one_by_one([DATA / "m2.ko"]))
    assert len(read_many([])) == 0


@pytest.mark.parametrize(
    ("prefix", "field", "value"),
    [
        ("__ksymtab_", "shndx", 0x7FFF),  # a label in no section: no export
        ("__kstrtabns_", "value", 1 << 40),  # a namespace label past its section
        ("__crc_", "value", 1 << 40),  # a CRC label past its section
        ("__crc_", "shndx", 0xFFF1),  # an absolute CRC label: its value is the CRC
    ],
)
def test_crafted_export_labels_read_alike(
    tmp_path: Path, prefix: str, field: str, value: int
) -> None:
    """Labels the run's reader cannot take (the one-file reader then reads the ksymtab
    entries themselves) or takes another way; both paths agree."""
    crafted = tmp_path / "m2x.ko"
    crafted.write_bytes(_label_changed(M2, prefix, field, value))
    paths = [DATA / "m1.ko", crafted, DATA / "m2.ko"]
    got = read_many(paths)
    assert_same(got, one_by_one(paths))
    assert not got.problems


@pytest.mark.parametrize("section", ["__kcrctab", "__ksymtab_strings"])
def test_a_section_far_past_the_file_reads_alike(tmp_path: Path, section: str) -> None:
    """A CRC or namespace section whose offset is near 2**64: no wrap-around lets its labels
    read bytes elsewhere; both paths give the same rows."""
    from ksql.plugins.elf.reader import ElfImage

    image = ElfImage("m2.ko", M2)
    index = image.index(section)
    if index is None:
        pytest.skip(f"m2.ko has no {section}")
    at = 0x28 + 0  # e_shoff's place in Elf64_Ehdr
    shoff = int.from_bytes(M2[at : at + 8], "little")
    field = shoff + 64 * index + 24  # sh_offset in Elf64_Shdr
    crafted = tmp_path / "far.ko"
    crafted.write_bytes(M2[:field] + (2**64 - 8).to_bytes(8, "little") + M2[field + 8 :])
    paths = [DATA / "m1.ko", crafted, DATA / "m2.ko"]
    assert_same(read_many(paths), one_by_one(paths))


def _label_changed(data: bytes, prefix: str, field: str, value: int) -> bytes:
    """``data`` with the first ``prefix`` label's ``shndx`` or ``value`` set to ``value``."""
    from ksql.plugins.elf.reader import ElfImage

    image = ElfImage("m2.ko", data)
    syms = image.symbols()
    assert syms is not None
    row = next(i for i, n in enumerate(syms.name) if n.startswith(prefix))
    entry = int(image.sections[image.index(".symtab")]["offset"]) + 24 * row
    at, width = (entry + 6, 2) if field == "shndx" else (entry + 8, 8)
    return data[:at] + value.to_bytes(width, "little") + data[at + width :]


def test_the_corpus_modules_decode_alike(corpus: Path) -> None:
    paths = module_files(corpus / "modules")
    got = in_runs(paths)
    assert_same(got, one_by_one(paths))
    assert len(got) > 700_000 and int((got["export"] > 0).sum()) > 14_000


ARCH = Path(os.environ.get("KSQL_CORPUS", "/nonexistent")).parent / "arch"


@pytest.mark.parametrize(
    "kernel", sorted(p.name for p in ARCH.glob("*") if (p / "modules").is_dir()) or ["(none)"]
)
def test_other_architectures_decode_alike(kernel: str) -> None:
    if kernel == "(none)":
        pytest.skip("no foreign-architecture kernels (scripts/fetch-corpus.sh)")
    paths = module_files(ARCH / kernel / "modules")[:: int(os.environ.get("KSQL_ARCH_SAMPLE", "8"))]
    assert_same(in_runs(paths), one_by_one(paths))


def test_coded_columns() -> None:
    a = Coded(["x", "y", "x"], [0, 1, 2, 1])
    assert a == ["x", "y", "x", "y"] and len(a) == 4 and a[2] == "x"
    assert a.count("x") == 2 and "y" in a and "z" not in a
    assert a[1:3] == ["y", "x"] and a.take(np.array([3, 0])) == ["y", "x"]
    both = Coded.concat([a, Coded.repeat("z", 2)])
    assert both == ["x", "y", "x", "y", "z", "z"]
    assert Coded.of(["p", "q", "p"]).table == ["p", "q"]
    table = StringTable([""])
    codes = table.encode(Coded(["unused", "b", "a", "b"], [1, 2, 3]))
    assert [table.strings[c] for c in codes.tolist()] == ["b", "a", "b"]
    assert "unused" not in table.strings  # only the strings rows use join the table
