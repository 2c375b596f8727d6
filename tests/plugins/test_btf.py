"""The BTF source: blobs built here kind by kind (both byte orders, split BTF, unknown kinds,
truncation), and the real thing -- every prototype of Debian 6.1's vmlinux BTF and of this
machine's /sys/kernel/btf/vmlinux compared with dwarves' ``pfunct``."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ksql.catalog import Catalog
from ksql.errors import SourceError
from ksql.plugins.btf import bases
from ksql.plugins.btf.reader import Btf, is_split
from ksql.plugins.btf.rows import rows
from ksql.sink import Batch
from tests.conftest import names

CORPUS = Path(os.environ.get("KSQL_CORPUS", "/nonexistent"))
RUNNING = Path("/sys/kernel/btf/vmlinux")

# btf.h kinds
INT, PTR, ARRAY, STRUCT, UNION, ENUM, FWD, TYPEDEF, VOLATILE, CONST, RESTRICT = range(1, 12)
FUNC, FUNC_PROTO, VAR, DATASEC, FLOAT, DECL_TAG, TYPE_TAG, ENUM64 = range(12, 20)


class Blob:
    """A BTF blob under construction: ``add`` a type, get its id; ``bytes()`` the blob."""

    def __init__(self, base: Blob | None = None) -> None:
        self.base = base
        self.records: list[list[int]] = []
        self.strings = b"" if base else b"\0"
        self.first_id = base.next_id if base else 1
        self.str_start = base.str_start + len(base.strings) if base else 0

    @property
    def next_id(self) -> int:
        return self.first_id + len(self.records)

    def s(self, text: str) -> int:
        if not text:
            return 0
        off = self.str_start + len(self.strings)
        self.strings += text.encode() + b"\0"
        return off

    def add(
        self, kind: int, name: str, ref: int, *extra: int, vlen: int = 0, kflag: int = 0
    ) -> int:
        info = kflag << 31 | kind << 24 | vlen
        self.records.append([self.s(name), info, ref, *extra])
        return self.next_id - 1

    def bytes(self, order: str = "<") -> bytes:
        types = b"".join(struct.pack(f"{order}{len(r)}I", *r) for r in self.records)
        header = struct.pack(
            f"{order}HBBI4I", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(self.strings)
        )
        return header + types + self.strings


def sample() -> tuple[Blob, dict[str, str]]:
    """One of each kind, and the declarations pfunct would print for its functions."""
    b = Blob()
    int_ = b.add(INT, "int", 4, 1 << 24 | 32)
    char = b.add(INT, "char", 1, 1 << 24 | 8)
    bool_ = b.add(INT, "_Bool", 1, 4 << 24 | 8)
    ulong = b.add(INT, "long unsigned int", 8, 64)
    cchar = b.add(CONST, "", char)
    pcchar = b.add(PTR, "", cchar)
    ppchar = b.add(PTR, "", b.add(PTR, "", char))
    dev = b.add(STRUCT, "device", 8, b.s("id"), int_, 0, vlen=1)
    pdev = b.add(PTR, "", dev)
    cpdev = b.add(CONST, "", pdev)
    pcpdev = b.add(PTR, "", cpdev)
    size_t = b.add(TYPEDEF, "size_t", ulong)
    b.add(UNION, "u", 4, b.s("a"), int_, 0, vlen=1)
    fwd_union = b.add(FWD, "later", 0, kflag=1)
    color = b.add(ENUM, "color", 4, b.s("RED"), 0, vlen=1)
    big = b.add(ENUM64, "big", 8, b.s("HUGE"), 0, 1, vlen=1)
    flt = b.add(FLOAT, "double", 8)
    vint = b.add(VOLATILE, "", int_)
    rptr = b.add(RESTRICT, "", b.add(PTR, "", int_))
    arr = b.add(ARRAY, "", 0, int_, int_, 4)
    tagged = b.add(PTR, "", b.add(TYPE_TAG, "user", 0))
    cb_proto = b.add(FUNC_PROTO, "", int_, 0, pdev, 0, 0, vlen=2)  # int (*)(struct device *, ...)
    pcb = b.add(PTR, "", cb_proto)
    protos = {
        "kfree": (0, [("object", b.add(PTR, "", b.add(CONST, "", 0)))]),
        "strlen": (size_t, [("s", pcchar)]),
        "get": (pdev, [("fd", int_), ("env", ppchar), ("", pcpdev)]),
        "visit": (int_, [("cb", pcb), ("data", 0)]),  # a void parameter: varargs
        "none": (bool_, []),
        "mix": (color, [("e", big), ("x", flt), ("v", vint), ("r", rptr), ("a", arr)]),
        "more": (
            0,
            [("u", b.add(PTR, "", fwd_union)), ("t", tagged), ("p", b.add(PTR, "", cpdev))],
        ),
    }
    for name, (ret, params) in protos.items():
        words = [w for pname, t in params for w in (b.s(pname), t)]
        proto = b.add(FUNC_PROTO, "", ret, *words, vlen=len(params))
        b.add(FUNC, name, proto, vlen=1)
    b.add(DECL_TAG, "kfunc", proto, 0xFFFFFFFF)
    var = b.add(VAR, "runqueues", dev, 1)
    names = b.add(VAR, "names", b.add(ARRAY, "", 0, pcchar, int_, 3), 1)
    b.add(DATASEC, ".data..percpu", 64, var, 0, 8, names, 8, 24, vlen=2)
    expected = {
        "kfree": "void kfree(const void  * object)",
        "strlen": "size_t strlen(const char  * s)",
        "get": "struct device * get(int fd, char * * env, struct device * const *)",
        "visit": "int visit(int (*cb)(struct device *, ...), ...)",
        "none": "bool _Bool none(void)",
        "mix": "enum color mix(enum big e, single double x, volatile int  v, "
        "int * restrict  r, int a)",
        "more": "void more(union later * u, void * t, struct device * const * p)",
        "runqueues": "struct device runqueues",
        "names": "const char  * names[3]",
    }
    return b, expected


def decls(batch: Batch) -> dict[str, str]:
    return dict(zip(batch["name"], batch["decl"], strict=True))


@pytest.mark.parametrize("order", ["<", ">"])
def test_every_kind_in_both_byte_orders(order: str) -> None:
    blob, expected = sample()
    batch = rows(Btf("x.btf", blob.bytes(order)), "vmlinux")
    assert decls(batch) == expected
    assert not batch.notes


def test_the_source_recognises_a_raw_blob_and_merges_by_name(
    tmp_path: Path, load: Callable[..., Catalog]
) -> None:
    blob, expected = sample()
    path = tmp_path / "vmlinux.btf"
    path.write_bytes(blob.bytes())
    catalog = load(path)
    found = {s.name: (s.module, s.decl, s.kind.label) for s in catalog.symbols(range(len(catalog)))}
    assert found["strlen"] == ("vmlinux", expected["strlen"], "function")
    assert found["runqueues"] == ("vmlinux", expected["runqueues"], "object")
    assert sorted(names(catalog, 'decl~"struct device \\\\*"')) == ["get", "more", "visit"]


@pytest.fixture
def no_bases() -> Iterator[None]:
    bases.forget()
    yield
    bases.forget()


def test_split_btf_continues_its_base(tmp_path: Path, no_bases: None) -> None:
    base, _ = sample()
    (tmp_path / "vmlinux").write_bytes(base.bytes())
    split = Blob(base)
    dev_ptr = 10  # the base's struct device *
    proto = split.add(FUNC_PROTO, "", 1, split.s("dev"), dev_ptr, vlen=1)
    split.add(FUNC, "probe", proto)
    data = split.bytes()
    assert is_split(data) and not is_split(base.bytes())
    module = tmp_path / "my-mod"
    module.write_bytes(data)
    from ksql.plugins.btf.load import load_btf
    from ksql.sink import RowSink

    sink = RowSink("btf")
    load_btf(module, sink)  # no base read yet: one note, no rows
    (batch,) = sink.batches()
    assert len(batch) == 0
    assert batch.notes == [
        f"{module}: module BTF skipped: no vmlinux BTF to continue from (load a vmlinux "
        "or /sys/kernel/btf/vmlinux of the same kernel before it)"
    ]
    load_btf(tmp_path / "vmlinux", sink)
    load_btf(module, sink)
    batch = Batch.concat(sink.batches())
    assert decls(batch)["probe"] == "int probe(struct device * dev)"
    assert batch["module"][-1] == "my_mod"


def test_an_unknown_kind_ends_the_walk_with_one_note() -> None:
    blob, _ = sample()
    blob.records.insert(3, [0, 25 << 24, 0])
    btf = Btf("x.btf", blob.bytes())
    assert btf.count == 4
    assert btf.notes == [
        f"x.btf: BTF kind 25 (type 4) is unknown to ksql; it and the "
        f"{sum(map(len, blob.records[3:]))} words of types after it are skipped"
    ]
    assert len(rows(btf, "vmlinux")) == 0


@pytest.mark.parametrize(
    ("cut", "message", "offset"),
    [
        (lambda d: d[:10], "truncated BTF header", 10),
        (lambda d: b"\x00\x00" + d[2:], "not BTF (no 0xeB9F magic)", 0),
        (lambda d: d[:2] + b"\x02" + d[3:], "BTF version 02, ksql reads 1", 2),
        (lambda d: d[:-5], "BTF string section", 16),
        (
            lambda d: d[:24] + d[24:28] + struct.pack("<I", 4 << 24 | 0xFFFF) + d[32:],
            "runs past",
            24,
        ),
    ],
)
def test_corrupt_blobs_are_source_errors_with_an_offset(
    cut: Callable[[bytes], bytes], message: str, offset: int
) -> None:
    blob, _ = sample()
    with pytest.raises(SourceError) as err:
        Btf("x.btf", cut(blob.bytes()))
    assert message in err.value.message
    assert err.value.offset == offset


def pfunct_prototypes(path: Path) -> list[str]:
    out = subprocess.run(
        ["pfunct", "-F", "btf", "--prototypes", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return sorted(line.removesuffix(";") for line in out.splitlines())


def ours(path: Path) -> list[str]:
    from ksql.plugins.btf.blob import read_blob

    batch = rows(Btf(path, read_blob(path)), "vmlinux")
    return sorted(d for d, k in zip(batch["decl"], batch["kind"], strict=True) if k == 1)


# pfunct 1.24 does not know BTF_KIND_TYPE_TAG (5.17) and prints an <ERROR...> for a
# parameter typed through one (bpf_arena's __arena pointers); ksql sees through the tag,
# as dwarves 1.25+ do. These lines are the only differences found.
PFUNCT_124_TYPE_TAG = "<ERROR("


@pytest.mark.corpus
@pytest.mark.skipif(not shutil.which("pfunct"), reason="needs dwarves' pfunct")
@pytest.mark.parametrize("which", ["corpus", "running"])
def test_prototypes_are_pfunct_s_byte_for_byte(which: str) -> None:
    path = CORPUS / "vmlinux" if which == "corpus" else RUNNING
    if not path.exists() or not os.access(path, os.R_OK):
        pytest.skip(f"{path} is not readable")
    theirs = pfunct_prototypes(path)
    mine = ours(path)
    differ_theirs = sorted(set(theirs) - set(mine))
    differ_mine = sorted(set(mine) - set(theirs))
    # pfunct prints a parameter list cut after an <ERROR...> on lines of their own.
    assert all(PFUNCT_124_TYPE_TAG in x or x.startswith(", ") for x in differ_theirs)
    assert len(differ_mine) == sum(PFUNCT_124_TYPE_TAG in x for x in differ_theirs)
    if which == "corpus":
        assert (len(mine), differ_mine, differ_theirs) == (44561, [], [])


def test_the_numpy_record_walk_finds_what_the_record_by_record_walk_finds() -> None:
    from ksql.plugins.btf.reader import record_starts

    blob, _ = sample()
    for order in "<>":
        btf = Btf("x.btf", blob.bytes(order))
        words = btf._words
        expected = [0]
        for record in blob.records[:-1]:
            expected.append(expected[-1] + len(record))
        found = record_starts(words)
        assert found is not None and found.tolist() == expected
    # An unknown kind or a record past the end: no answer, the record walk says why.
    blob.records.insert(3, [0, 25 << 24, 0])
    assert record_starts(Btf("x.btf", blob.bytes())._words) is None
    words = Btf("x.btf", sample()[0].bytes())._words
    assert record_starts(words[:-1]) is None


def test_decoded_rows_are_kept_between_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_bases: None
) -> None:
    from ksql.plugins.btf import store
    from ksql.plugins.btf.load import load_btf
    from ksql.sink import RowSink

    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    monkeypatch.setenv("KSQL_CACHE_DIR", str(cache))
    monkeypatch.delenv("KSQL_NO_CACHE", raising=False)
    blob, expected = sample()
    path = tmp_path / "vmlinux.btf"
    path.write_bytes(blob.bytes())

    def load_rows() -> Batch:
        sink = RowSink("btf")
        load_btf(path, sink)
        return Batch.concat(sink.batches())

    first = load_rows()
    (entry,) = cache.glob("btf-rows-*.npz")
    kept = store.load(path, "vmlinux")
    assert kept is not None
    assert decls(kept) == decls(first) == expected
    assert list(kept["kind"]) == list(first["kind"])
    assert kept["section"] == first["section"]
    entry.write_bytes(b"PK\x03\x04 damaged")  # a damaged entry is a miss, then rewritten
    assert store.load(path, "vmlinux") is None
    assert decls(load_rows()) == expected
    assert store.load(path, "vmlinux") is not None
    path.write_bytes(blob.bytes(">"))  # other bytes (new mtime/size/inode): another key
    os.utime(path, ns=(1, 1))
    assert store.load(path, "vmlinux") is None


@pytest.mark.corpus
def test_the_elf_source_decodes_btf_on_request(
    monkeypatch: pytest.MonkeyPatch, load: Callable[..., Catalog], no_bases: None
) -> None:
    vmlinux = CORPUS / "vmlinux"
    ko = CORPUS / "modules" / "kernel" / "drivers" / "net" / "dummy.ko"
    if not (vmlinux.exists() and ko.exists()):
        pytest.skip("needs the corpus vmlinux and dummy.ko")
    monkeypatch.setenv("KSQL_NO_CACHE", "1")
    plain = load(ko)
    assert not any(s.decl for s in plain.symbols(range(len(plain))))
    monkeypatch.setenv("KSQL_ELF_BTF", "1")
    alone = load(ko)  # split BTF without its base: one note, the ELF rows still there
    assert len(alone) == len(plain)
    assert any("module BTF skipped: no vmlinux BTF" in n for n in alone.notes)
    both = load(vmlinux, ko)
    found = {s.name: s for s in both.symbols(range(len(both)))}
    assert found["dma_buf_get"].decl == "struct dma_buf * dma_buf_get(int fd)"
    assert found["dma_buf_get"].export.label == "EXPORT_SYMBOL_GPL"
    assert found["dummy_validate"].decl.startswith("int dummy_validate(struct nlattr * * tb")
