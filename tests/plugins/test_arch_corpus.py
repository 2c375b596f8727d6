"""Debian's real kernels for other architectures (scripts/fetch-arch-corpus.sh, cached in
``<corpus>/../arch/<abi>/`` or ``KSQL_ARCH_CORPUS``): modules nm-exact against
binutils-multiarch's ``nm -p``, their exports (flavour, namespace, CRC) and the CRCs their
imports expect equal that architecture's Module.symvers, and an ELF vmlinux where the image
package ships one (ppc64el, mips64el).

CI checks every ``KSQL_ARCH_SAMPLE``-th module (default 40) of each kernel;
``KSQL_ARCH_SAMPLE=1`` checks every module (the README's numbers come from that run).
"""

from __future__ import annotations

import lzma
import os
import shutil
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from ksql.catalog import Catalog
from ksql.kernel.modules import VMLINUX, module_name_of_file, normalize_module_name
from ksql.render import shown
from tests.conftest import binutils_knows, nm_lines

Load = Callable[..., Catalog]
Export = tuple[str, str, str, str, str]  # module, name, EXPORT_*, namespace, crc


def _arch_corpus() -> Path | None:
    explicit = os.environ.get("KSQL_ARCH_CORPUS")
    if explicit:
        return Path(explicit)
    corpus = os.environ.get("KSQL_CORPUS")
    return Path(corpus).parent / "arch" if corpus else None


def _kernels() -> list[str]:
    root = _arch_corpus()
    if root is None or not root.is_dir():
        return []
    return sorted(
        d.name
        for d in root.iterdir()
        if (d / "Module.symvers").is_file() and (d / "modules").is_dir()
    )


KERNELS = _kernels() or ["(none)"]
SAMPLE = int(os.environ.get("KSQL_ARCH_SAMPLE", "40"))


@pytest.fixture
def kernel(request: pytest.FixtureRequest) -> Path:
    root = _arch_corpus()
    if request.param == "(none)" or root is None:
        pytest.skip(
            "no foreign-architecture kernels: run scripts/fetch-corpus.sh (KSQL_FETCH_ARCH)"
            " or set KSQL_ARCH_CORPUS"
        )
    return root / str(request.param)


def modules_of(kernel: Path) -> list[Path]:
    """The kernel's module files, sorted; every SAMPLE-th one."""
    every = sorted(p for p in (kernel / "modules").rglob("*") if p.name.endswith((".ko", ".ko.xz")))
    return every[::SAMPLE]


def plain_elf(path: Path, tmp: Path) -> Path:
    """An uncompressed copy for nm (trixie ships .ko.xz)."""
    if path.suffix != ".xz":
        return path
    out = tmp / path.name.removesuffix(".xz")
    out.write_bytes(lzma.decompress(path.read_bytes()))
    return out


def nm(path: Path) -> list[str] | None:
    """binutils' ``nm -p`` lines, with names that are not printable escaped as ksql prints
    them (README, Security and limits: arm64's GCC local labels such as ``.L14472\\x021``
    hold a \\x02 byte); None when this nm does not read the machine."""
    if not binutils_knows(path):
        return None
    proc = subprocess.run(["nm", "-p", str(path)], capture_output=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return [shown(line) for line in proc.stdout.decode("utf-8", "surrogateescape").splitlines()]


def symvers(kernel: Path) -> list[list[str]]:
    """Module.symvers lines: CRC, name, module path, EXPORT_*, namespace."""
    text = (kernel / "Module.symvers").read_text()
    return [line.split("\t") for line in text.splitlines()]


def symvers_exports(kernel: Path, modules: set[str]) -> set[Export]:
    out = set()
    for crc, name, path, kind, ns in symvers(kernel):
        module = VMLINUX if path == VMLINUX else normalize_module_name(path)
        if module in modules:
            out.add((module, name, kind, ns, crc))
    return out


def exports(cat: Catalog) -> set[Export]:
    from ksql.query.compiler import compile_query

    return {
        (s.module, s.name, s.export.label, s.namespace, f"0x{s.crc:08x}")
        for s in cat.symbols(compile_query("exported").rows(cat).tolist())
    }


def differences(ours: Iterable[str], theirs: Iterable[str]) -> str:
    a, b = list(ours), list(theirs)
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return f"line {i + 1}: ksql {x!r}, nm {y!r}"
    return f"ksql {len(a)} lines, nm {len(b)}"


needs_nm = pytest.mark.skipif(shutil.which("nm") is None, reason="needs binutils' nm")


@needs_nm
@pytest.mark.corpus
@pytest.mark.parametrize("kernel", KERNELS, indirect=True)
def test_modules_are_nm_exact(kernel: Path, load: Load, tmp_path: Path) -> None:
    sample = modules_of(kernel)
    assert sample, f"{kernel}/modules has no .ko files"
    wrong = []
    for path in sample:
        elf = plain_elf(path, tmp_path)
        theirs = nm(elf)
        if theirs is None:
            pytest.skip(f"this nm does not read {path.name}'s machine: install binutils-multiarch")
        ours = nm_lines(load(f"elf:{path}"))
        if ours != theirs:
            wrong.append(f"{path.name}: {differences(ours, theirs)}")
    assert wrong == [], f"{len(wrong)} of {len(sample)} modules differ from nm -p"


@pytest.mark.corpus
@pytest.mark.parametrize("kernel", KERNELS, indirect=True)
def test_module_exports_equal_module_symvers(kernel: Path, load: Load) -> None:
    sample = modules_of(kernel)
    cat = load(*(f"elf:{p}" for p in sample))
    loaded = {module_name_of_file(p.name) for p in sample}
    assert set(cat.module_names()) == loaded
    ours = exports(cat)
    theirs = symvers_exports(kernel, loaded)
    assert ours == theirs
    if SAMPLE == 1:  # the whole tree: every module line of Module.symvers
        assert len(ours) == sum(1 for f in symvers(kernel) if f[2] != VMLINUX)


@pytest.mark.corpus
@pytest.mark.parametrize("kernel", KERNELS, indirect=True)
def test_import_crcs_are_the_exporters(kernel: Path, load: Load) -> None:
    """Each import's CRC (``__versions``, what ``modprobe --dump-modversions`` prints) is the
    CRC Module.symvers gives the exporter, for the symbols this kernel itself exports."""
    from ksql.query.compiler import compile_query

    crcs = {name: int(crc, 16) for crc, name, _path, _kind, _ns in symvers(kernel)}
    cat = load(*(f"elf:{p}" for p in modules_of(kernel)))
    imports = [
        (s.name, s.crc)
        for s in cat.symbols(compile_query("undefined").rows(cat).tolist())
        if s.crc is not None and s.name in crcs
    ]
    assert imports, "no import carries a CRC"
    assert [(n, c) for n, c in imports if crcs[n] != c] == []


@pytest.mark.corpus
@pytest.mark.parametrize("kernel", KERNELS, indirect=True)
def test_vmlinux(kernel: Path, load: Load) -> None:
    """An ELF vmlinux from the image package (ppc64el) or the -dbg package
    (``KSQL_FETCH_ARCH_DBG=1``): named vmlinux, nm-exact, its exports equal Module.symvers'
    vmlinux lines."""
    vmlinux = kernel / "vmlinux"
    if not vmlinux.is_file():
        pytest.skip(
            f"{kernel.name}'s image package ships no ELF vmlinux "
            "(KSQL_FETCH_ARCH_DBG=1 fetches the -dbg package's)"
        )
    cat = load(f"elf:{vmlinux}")
    assert cat.module_names() == [VMLINUX]
    assert exports(cat) == symvers_exports(kernel, {VMLINUX})
    theirs = nm(vmlinux)
    if theirs is not None:
        ours = nm_lines(cat)
        assert ours == theirs, differences(ours, theirs)
