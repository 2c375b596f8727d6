"""Real files, parsed completely and checked against awk: the running kernel's
/proc/kallsyms (always there) and a Debian 6.1 kernel's Module.symvers and System.map
(KSQL_CORPUS, fetched by scripts/fetch-corpus.sh)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from ksql.catalog import Catalog
from ksql.model import ExportKind
from ksql.query.compiler import compile_query
from tests.conftest import names, nm_lines

Load = Callable[..., Catalog]


def awk(program: str, path: Path, *opts: str) -> str:
    return subprocess.run(
        ["awk", *opts, program, str(path)], capture_output=True, text=True, check=True
    ).stdout


def count(cat: Catalog, query: str) -> int:
    return compile_query(query).count(cat)


def test_proc_kallsyms_completely(tmp_path: Path, load: Load) -> None:
    copy = tmp_path / "kallsyms"
    copy.write_bytes(Path("/proc/kallsyms").read_bytes())
    cat = load(f"kallsyms:{copy}")
    assert len(cat) == int(awk("END { print NR }", copy))
    assert count(cat, "type=T") == int(awk('$2 == "T" { n++ } END { print n + 0 }', copy))
    assert count(cat, "module=vmlinux") == int(awk("NF == 3 { n++ } END { print n + 0 }", copy))
    tagged = int(awk("NF == 4 { n++ } END { print n + 0 }", copy))
    assert count(cat, "not module=vmlinux") == tagged
    ksymtab = int(awk("$3 ~ /^__ksymtab_/ { n++ } END { print n + 0 }", copy))
    assert count(cat, "exported and module=vmlinux") == ksymtab


@pytest.mark.corpus
def test_debian_module_symvers(corpus: Path, load: Load) -> None:
    path = corpus / "Module.symvers"
    cat = load(path)
    total = int(awk("END { print NR }", path))
    assert len(cat) == total > 20_000
    for kind in ("EXPORT_SYMBOL", "EXPORT_SYMBOL_GPL"):
        expected = int(awk(f'$4 == "{kind}" {{ n++ }} END {{ print n }}', path, "-F\t"))
        assert count(cat, f"export={kind}") == expected
    assert count(cat, "exported") == total
    for ns in ("DMA_BUF", "USB_STORAGE"):
        expected = int(awk(f'$5 == "{ns}" {{ n++ }} END {{ print n }}', path, "-F\t"))
        assert count(cat, f"namespace={ns}") == expected > 0
    assert count(cat, "module=vmlinux") == int(
        awk('$3 == "vmlinux" { n++ } END { print n }', path, "-F\t")
    )
    modules = awk('{ sub(".*/", "", $3); gsub("-", "_", $3); print $3 }', path, "-F\t")
    assert set(cat.module_names()) == set(modules.split())
    assert count(cat, "crc=0") == 0 and count(cat, "crc>=0") == total


@pytest.mark.corpus
def test_debian_system_map(corpus: Path, load: Load) -> None:
    path = corpus / "System.map"
    if not path.exists():
        pytest.skip("corpus has no System.map (KSQL_CORPUS_DBG=0)")
    cat = load(path)
    assert len(cat) == int(awk("END { print NR }", path))
    n_dupes = int(
        subprocess.run(
            f"awk '{{print $3}}' {path} | sort | uniq -d | wc -l",
            shell=True,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    rows_by_name: dict[str, int] = {}
    for name in cat.columns().name:
        rows_by_name[name] = rows_by_name.get(name, 0) + 1
    # Static functions sharing a name stay distinct rows (1,125 names in 6.1.0-56).
    assert sum(1 for v in rows_by_name.values() if v > 1) == n_dupes > 1000
    # Exports seen through __ksymtab_ labels and section ranges = vmlinux in Module.symvers.
    symvers = corpus / "Module.symvers"
    for kind in ("EXPORT_SYMBOL", "EXPORT_SYMBOL_GPL"):
        expected = awk(f'$3 == "vmlinux" && $4 == "{kind}" {{ print $2 }}', symvers, "-F\t")
        assert sorted(names(cat, f"export={kind}")) == sorted(expected.split())


@pytest.mark.corpus
def test_debian_system_map_with_symvers(corpus: Path, load: Load) -> None:
    if not (corpus / "System.map").exists():
        pytest.skip("corpus has no System.map")
    cat = load(corpus / "System.map", corpus / "Module.symvers")
    vmlinux_exports = count(cat, "exported and module=vmlinux")
    assert vmlinux_exports == count(cat, "exported and module=vmlinux and addr>=0 and crc>=0")
    (printk,) = (s for s in cat.lookup("_printk") if s.exported)
    assert printk.export is ExportKind.EXPORT_SYMBOL and printk.addr and printk.crc is not None


def symvers_rows(path: Path, vmlinux: bool) -> set[tuple[str, str, str, str, str]]:
    """(crc, name, module name, export, namespace) of Module.symvers' vmlinux or module rows."""
    rows = set()
    for line in path.read_text().splitlines():
        crc, name, module, export, namespace = line.split("\t")
        if (module == "vmlinux") == vmlinux:
            rows.add((crc, name, module.rsplit("/", 1)[-1].replace("-", "_"), export, namespace))
    return rows


def export_rows(cat: Catalog) -> set[tuple[str, str, str, str, str]]:
    return {
        (
            f"0x{s.crc:08x}" if s.crc is not None else "",
            s.name,
            s.module,
            s.export.label,
            s.namespace,
        )
        for s in cat.symbols(compile_query("exported").rows(cat).tolist())
    }


@pytest.mark.corpus
def test_debian_vmlinux_exports_equal_module_symvers(corpus: Path, load: Load) -> None:
    if not (corpus / "vmlinux").exists():
        pytest.skip("corpus has no vmlinux (KSQL_CORPUS_DBG=0)")
    cat = load(corpus / "vmlinux")
    expected = symvers_rows(corpus / "Module.symvers", vmlinux=True)
    assert export_rows(cat) == expected
    assert len(expected) > 10_000
    kinds = {
        k: sum(1 for r in expected if r[3] == k) for k in ("EXPORT_SYMBOL", "EXPORT_SYMBOL_GPL")
    }
    assert count(cat, "export=EXPORT_SYMBOL") == kinds["EXPORT_SYMBOL"]
    assert count(cat, "gpl") == kinds["EXPORT_SYMBOL_GPL"]
    assert count(cat, "name=kallsyms_lookup_name and defined and not exported") == 1


@pytest.mark.corpus
def test_debian_module_tree_exports_equal_module_symvers(corpus: Path, load: Load) -> None:
    if not (corpus / "modules").is_dir():
        pytest.skip("corpus has no modules/")
    cat = load(corpus / "modules")
    assert not cat.problems
    assert export_rows(cat) == symvers_rows(corpus / "Module.symvers", vmlinux=False)
    assert count(cat, "gpl and namespace=USB_STORAGE") > 0
    assert count(cat, "module=usb_storage and license=GPL") > 0


@pytest.mark.corpus
@pytest.mark.skipif(not shutil.which("nm"), reason="needs binutils' nm")
def test_debian_binaries_are_nm_exact(corpus: Path, load: Load) -> None:
    files = sorted((corpus / "modules").rglob("*.ko"))[::97]
    if (corpus / "vmlinux").exists():
        files.append(corpus / "vmlinux")
    assert files
    for path in files:
        cat = load(f"elf:{path}")
        ours = nm_lines(cat)
        theirs = subprocess.run(
            ["nm", "-p", str(path)], capture_output=True, text=True, check=True
        ).stdout.splitlines()
        assert ours == theirs, path


@pytest.mark.corpus
def test_repl_on_a_real_module_symvers(corpus: Path) -> None:
    import sys

    from ksql.loading import load_catalog
    from ksql.pluginmanager import load_plugins
    from ksql.query.complete import complete

    path = corpus / "Module.symvers"
    proc = subprocess.run(
        [sys.executable, "-m", "ksql", "repl", "-s", str(path)],
        input=".count gpl and namespace=DMA_BUF\n.count module=usb_storage\n",
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    dma = int(awk('$5 == "DMA_BUF" { n++ } END { print n }', path, "-F\t"))
    usb = int(awk("$3 ~ /usb-storage$/ { n++ } END { print n }", path, "-F\t"))
    assert proc.stdout.split() == [str(dma), str(usb)]
    cat = load_catalog([str(path)], load_plugins())
    cat.name_order()
    assert "DMA_BUF" in [c.text for c in complete("namespace=D", 11, cat).candidates]
    assert [c.text for c in complete("dma_buf_ge", 10, cat).candidates] == ["dma_buf_get"]
