"""The ELF source: nm-exact symbols, exports (flavour, namespace, CRC) across kernel
versions, imports with expected CRCs, .modinfo fields, compressed modules, directories."""

from __future__ import annotations

import gzip
import lzma
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import zstandard

from ksql.catalog import Catalog
from ksql.errors import SourceError
from ksql.model import ExportKind
from ksql.plugins.elf import kexports
from ksql.plugins.elf.reader import ElfImage
from tests.conftest import DATA, names, nm_lines

Load = Callable[..., Catalog]
GPL, SYM = ExportKind.EXPORT_SYMBOL_GPL, ExportKind.EXPORT_SYMBOL
SEED_NM = {"m1.ko": "m1.nm.txt", "m2.ko": "m2.nm.txt"}


@pytest.mark.parametrize(
    ("binary", "nm_output"),
    [
        ("m1.ko", "m1.nm.txt"),
        ("m2.ko", "m2.nm.txt"),
        ("m3-6.1/m3.ko", "m3-6.1/m3.ko.nm.txt"),
        ("m3-6.1/m3.o", "m3-6.1/m3.o.nm.txt"),
        ("m3-6.12/m3.ko", "m3-6.12/m3.ko.nm.txt"),
        ("m3-6.12/m3.o", "m3-6.12/m3.o.nm.txt"),
    ],
)
def test_rows_are_nm_exact(load: Load, binary: str, nm_output: str) -> None:
    expected = (DATA / nm_output).read_text().splitlines()
    if binary in SEED_NM:  # the seed files were written by plain `nm`, sorted by name
        assert sorted(nm_lines(load(DATA / binary)), key=lambda s: s[19:]) == expected
    else:
        assert nm_lines(load(DATA / binary)) == expected


@pytest.mark.skipif(not (shutil.which("gcc") and shutil.which("nm")), reason="needs gcc, nm")
def test_every_nm_letter_matches_binutils(tmp_path: Path, load: Load) -> None:
    obj = tmp_path / "nmkinds.o"
    subprocess.run(
        ["gcc", "-c", "-O1", "-fcommon", "-o", str(obj), str(DATA / "nmkinds.c")], check=True
    )
    expected = subprocess.run(["nm", "-p", str(obj)], capture_output=True, text=True, check=True)
    lines = nm_lines(load(obj))
    assert lines == expected.stdout.splitlines()
    assert {line[17] for line in lines} >= set("aNntbrAWiTUwCDVR")


def test_seed_query_on_m2_ko(load: Load) -> None:
    cat = load(DATA / "m2.ko")
    assert names(cat, "exported and module=m2 and type=D") == ["rday_3"]
    (sym,) = cat.lookup("rday_3")
    assert (sym.addr, sym.size, sym.section, sym.crc) == (0, 4, ".data", 0x291BCCCD)
    merged = load(DATA / "m2.ko", DATA / "seed.Module.symvers")
    (sym,) = merged.lookup("rday_3")
    assert sym.crc == 0x291BCCCD and [s.split(":")[0] for s in sym.sources] == ["elf", "symvers"]


def test_m1_imports_are_nms_undefined(load: Load) -> None:
    expected = [
        line.split()[-1]
        for line in (DATA / "m1.nm.txt").read_text().splitlines()
        if line.split()[0] == "U"
    ]
    cat = load(DATA / "m1.ko")
    assert sorted(names(cat, "undefined and module=m1")) == sorted(expected)
    # __versions: the CRC m1 was built against, on each import it lists. The numbers are
    # the section's own (objcopy --only-section=__versions, 64-byte entries: u64 CRC, name);
    # _printk's and jiffies' equal the 6.1 Module.symvers excerpt's.
    crcs = {s.name: s.crc for s in cat.symbols(range(len(cat))) if s.undefined}
    assert crcs == {
        "__fentry__": 0xBDFB6DBB,
        "_printk": 0x92997ED8,
        "jiffies": 0x15BA50A6,
        "__x86_return_thunk": 0x5B8239CA,
    }


@pytest.mark.parametrize("kernel", ["m3-6.1", "m3-6.12"])
def test_exports_match_modpost(load: Load, kernel: str) -> None:
    """Flavour, namespace and CRC read from the .ko equal what modpost wrote."""
    cat = load(DATA / kernel / "m3.ko")
    rows = {
        (s.name, s.export.label, s.namespace, f"0x{s.crc:08x}")
        for s in cat.symbols(compile_rows(cat, "exported"))
    }
    symvers = {
        (f[1], f[3], f[4], f[0])
        for f in (
            line.split("\t") for line in (DATA / kernel / "Module.symvers").read_text().splitlines()
        )
    }
    assert rows == symvers


def compile_rows(cat: Catalog, query: str) -> list[int]:
    from ksql.query.compiler import compile_query

    return compile_query(query).rows(cat).tolist()


def test_namespace_from_the_relocated_ksymtab_entry() -> None:
    """6.5+ reads the namespace through the entry's RELA relocation when no
    __kstrtabns_ label says it (ddb5cdbafaaa)."""
    path = DATA / "m3-6.12" / "m3.ko"
    image = ElfImage(path, path.read_bytes())
    syms = image.symbols()
    assert syms is not None
    labels = {
        n[len("__ksymtab_") :]: i for i, n in enumerate(syms.name) if n.startswith("__ksymtab_")
    }
    label = labels["ksql_ns"]
    tables = kexports._Tables(image, syms, labels)
    assert tables.namespace(label) == "KSQL_TEST"
    assert tables.kind(label) is GPL


def test_export_symbol_section_of_an_object_file(load: Load) -> None:
    """A 6.5+ .o has no ksymtab yet, only .export_symbol (license, namespace)."""
    cat = load(DATA / "m3-6.12" / "m3.o")
    got = {(s.name, s.export, s.namespace) for s in cat.symbols(compile_rows(cat, "exported"))}
    assert got == {("ksql_plain", SYM, ""), ("ksql_gpl", GPL, ""), ("ksql_ns", GPL, "KSQL_TEST")}


def test_modinfo_fields(load: Load) -> None:
    cat = load(DATA / "m1.ko", DATA / "m2.ko", DATA / "m3-6.12" / "m3.ko")
    assert cat.module_info["m3"]["import_ns"] == ["DMA_BUF"]
    assert names(cat, 'license="Dual BSD/GPL" and exported') == ["rday_3"]
    assert names(cat, "import_ns=DMA_BUF and undefined and name=dma_buf_*") == [
        "dma_buf_get",
        "dma_buf_put",
    ]
    assert names(cat, "description~exporting and exported") == ["rday_3"]
    assert names(cat, "vermagic=6.12* and exported order by name") == [
        "ksql_gpl",
        "ksql_ns",
        "ksql_plain",
    ]


@pytest.mark.parametrize(
    ("suffix", "compress"),
    [
        (".ko.xz", lambda b: lzma.compress(b, check=lzma.CHECK_CRC32)),
        (".ko.gz", gzip.compress),
        (".ko.zst", lambda b: zstandard.ZstdCompressor().compress(b)),
    ],
)
def test_compressed_modules(
    tmp_path: Path, load: Load, suffix: str, compress: Callable[[bytes], bytes]
) -> None:
    target = tmp_path / f"m2{suffix}"
    target.write_bytes(compress((DATA / "m2.ko").read_bytes()))
    assert nm_lines(load(target)) == nm_lines(load(DATA / "m2.ko"))
    broken = tmp_path / f"broken{suffix}"
    broken.write_bytes(target.read_bytes()[:40])
    with pytest.raises(SourceError, match=f"{broken}: cannot decompress"):
        load(f"elf:{broken}")


def test_directory_reports_bad_files_and_loads_the_rest(tmp_path: Path, load: Load) -> None:
    tree = tmp_path / "kernel" / "drivers"
    tree.mkdir(parents=True)
    shutil.copy(DATA / "m1.ko", tree / "m1.ko")
    (tree / "m2.ko.xz").write_bytes(lzma.compress((DATA / "m2.ko").read_bytes()))
    (tree / "bad.ko").write_text("not an ELF file\n")
    (tmp_path / "build").symlink_to(DATA)  # like /lib/modules/<rel>/build: not followed
    cat = load(tmp_path)
    assert sorted(cat.module_names()) == ["m1", "m2"]
    assert cat.problems == [
        f"{tree / 'bad.ko'}: at byte offset 0: not an ELF file (no \\x7fELF magic)"
    ]


LINUX_7_2 = DATA / "linux-7.2"


@pytest.mark.parametrize(
    "module", ["videobuf2-memops", "industrialio-triggered-buffer", "snd-hda-cirrus-scodec"]
)
def test_linux_7_2_kflagstab_modules(load: Load, module: str) -> None:
    """7.1+ modules (Debian sid's 7.2.13, xz-compressed): every export in __ksymtab, GPL-only
    as bit 0 of __kflagstab (55fcb926b6d8), no MODVERSIONS CRCs. Same as modpost wrote."""
    path = LINUX_7_2 / f"{module}.ko.xz"
    image = ElfImage(path, lzma.decompress(path.read_bytes()))
    assert image.index("__kflagstab") is not None and image.index("__ksymtab_gpl") is None
    cat = load(path)
    assert nm_lines(cat) == (LINUX_7_2 / f"{module}.ko.nm.txt").read_text().splitlines()
    rows = {
        (s.name, s.export.label, s.namespace) for s in cat.symbols(compile_rows(cat, "exported"))
    }
    symvers = {
        (f[1], f[3], f[4])
        for f in (
            line.split("\t") for line in (LINUX_7_2 / "Module.symvers").read_text().splitlines()
        )
        if f[2].endswith("/" + module)
    }
    assert rows == symvers and len(rows) >= 1
    assert {s.crc for s in cat.symbols(compile_rows(cat, "exported"))} == {None}


def test_name_heads_stop_at_each_name_s_end() -> None:
    from ksql.plugins.elf.reader import heads

    strtab = b"\0ab\0.Lx\0_.L_long\0"
    offsets = np.array([0, 1, 4, 5, 8], dtype=np.uint32)
    assert heads(strtab, offsets).tolist() == [
        [0, 0, 0, 0],
        [ord("a"), ord("b"), 0, 0],  # the next name's bytes are not read into this one
        [ord("."), ord("L"), ord("x"), 0],
        [ord("L"), ord("x"), 0, 0],  # an offset into the middle of a name (shared tails)
        [ord("_"), ord("."), ord("L"), ord("_")],  # the last name: padding, no overrun
    ]


def test_the_readers_elf_constants_are_pyelftools() -> None:
    """The numpy reader spells include/uapi/linux/elf.h's values out (pyelftools' tables
    cost ~23 ms to import); they are pyelftools' own."""
    from elftools.elf.constants import SH_FLAGS, SHN_INDICES
    from elftools.elf.enums import ENUM_E_TYPE, ENUM_SH_TYPE_BASE

    from ksql.plugins.elf import reader

    for name in ("SHT_SYMTAB", "SHT_RELA", "SHT_NOBITS", "SHT_SYMTAB_SHNDX"):
        assert getattr(reader, name) == ENUM_SH_TYPE_BASE[name]
    for name in ("SHF_WRITE", "SHF_ALLOC", "SHF_EXECINSTR"):
        assert getattr(reader, name) == getattr(SH_FLAGS, name)
    for name in ("SHN_UNDEF", "SHN_LORESERVE", "SHN_ABS", "SHN_COMMON", "SHN_XINDEX"):
        assert getattr(reader, name) == getattr(SHN_INDICES, name)
    for name in ("ET_REL", "ET_EXEC", "ET_DYN"):
        assert getattr(reader, name) == ENUM_E_TYPE[name]
