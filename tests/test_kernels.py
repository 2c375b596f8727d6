"""``-k RELEASE`` / ``-b ROOT``: a kernel's files found under a root, for every command."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ksql.catalog import Catalog
from ksql.cli import main
from ksql.errors import KsqlError
from ksql.kernels import Selection, describe, installed, select
from ksql.pluginmanager import Plugins
from ksql.source import Kernel
from tests.conftest import DATA

RELEASE = "6.1.0-50-amd64"


def make_root(root: Path, release: str = RELEASE) -> Path:
    """The layout Debian's packages install: System.map and config in /boot, modules under
    /lib/modules/RELEASE, whose ``build`` is an absolute link to the headers package."""
    (root / "boot").mkdir(parents=True, exist_ok=True)
    shutil.copy(DATA / "System.map-6.1-excerpt", root / f"boot/System.map-{release}")
    (root / f"boot/config-{release}").write_text("CONFIG_MODULES=y\n")
    extra = root / f"lib/modules/{release}/kernel/extra"
    extra.mkdir(parents=True)
    shutil.copy(DATA / "m1.ko", extra)
    shutil.copy(DATA / "m2.ko", extra)
    headers = root / f"usr/src/linux-headers-{release}"
    headers.mkdir(parents=True)
    shutil.copy(DATA / "Module.symvers-6.1-excerpt", headers / "Module.symvers")
    (root / f"lib/modules/{release}/build").symlink_to(f"/usr/src/linux-headers-{release}")
    return root


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_root(tmp_path / "root")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_sources_lists_the_kernels_files(capsys: pytest.CaptureFixture[str], root: Path) -> None:
    code, out, err = run(capsys, "sources", "-b", str(root))
    listing = out[out.index("sources for") :].replace(str(root), "ROOT")
    assert (code, err) == (0, "")
    assert listing == (
        f"sources for kernel {RELEASE} under ROOT:\n"
        f"  elf:ROOT/lib/modules/{RELEASE}: elf, 47 rows\n"
        f"  symvers:ROOT/usr/src/linux-headers-{RELEASE}/Module.symvers: symvers, 7 rows\n"
        f"  kallsyms:ROOT/boot/System.map-{RELEASE}: kallsyms, 23 rows\n"
        f"  ROOT/usr/lib/debug/boot/vmlinux-{RELEASE}: not found\n"
        "catalog: 70 symbols in 4 modules\n"
        f"kernel: {RELEASE} under ROOT (ROOT/lib/modules/{RELEASE}, Module.symvers,"
        f" System.map-{RELEASE})\n"
    )


def test_query_reads_the_selected_kernel(capsys: pytest.CaptureFixture[str], root: Path) -> None:
    """The module tree (imports with the CRC they expect, m2's export with its own CRC),
    System.map's address and Module.symvers' export kind and CRC merged into one row."""
    code, out, _ = run(
        capsys, "query", "name=_printk or module=m2 and exported", "-k", RELEASE,
        "-b", str(root), "-f", "csv",
    )  # fmt: skip
    tree = f"elf:{root}/lib/modules/{RELEASE}"
    assert (code, out.splitlines()[1:]) == (
        0,
        [
            f"_printk,m1,,U,0,,global,notype,,,0x92997ed8,64,false,false,false,true,,,,,{tree}",
            f"rday_3,m2,0x0,D,4,.data,global,object,EXPORT_SYMBOL,,0x291bcccd,64,true,false,"
            f"true,false,,,,,{tree}",
            f"_printk,m2,,U,0,,global,notype,,,0x92997ed8,64,false,false,false,true,,,,,{tree}",
            "_printk,vmlinux,0xffffffff81a07e3d,T,,,global,function,EXPORT_SYMBOL,,0x92997ed8,"
            f"64,true,false,true,false,,,,,symvers:{root}/usr/src/linux-headers-{RELEASE}/"
            f"Module.symvers;kallsyms:{root}/boot/System.map-{RELEASE}",
        ],
    )


def test_named_sources_join_the_kernels(capsys: pytest.CaptureFixture[str], root: Path) -> None:
    code, out, _ = run(
        capsys, "query", "rday_3", "-b", str(root), "-s", str(DATA / "seed.Module.symvers")
    )
    assert (code, out) == (0, "0000000000000000 D rday_3\t[m2]\n")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["-k", "6.1.0-50-amd46"],
            "ksql: -k 6.1.0-50-amd46: no artifacts of that kernel under ROOT (looked for"
            " ROOT/usr/lib/debug/boot/vmlinux-6.1.0-50-amd46, ROOT/lib/modules/6.1.0-50-amd46,"
            " ROOT/lib/modules/6.1.0-50-amd46/build/Module.symvers,"
            " ROOT/boot/System.map-6.1.0-50-amd46); did you mean '6.1.0-50-amd64'?"
            " installed: 6.1.0-50-amd64\n",
        ),
        (["-k", "../etc"], "ksql: -k '../etc': expected a kernel release such as RUNNING\n"),
    ],
)
def test_bad_release(
    capsys: pytest.CaptureFixture[str], root: Path, argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, "query", "x", *argv, "-b", str(root))
    expected = message.replace("ROOT", str(root)).replace("RUNNING", os.uname().release)
    assert (code, out, err) == (2, "", expected)


def test_basedir_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert run(capsys, "query", "x", "-b", str(tmp_path / "nope")) == (
        2,
        "",
        f"ksql: -b {tmp_path / 'nope'}: no such directory\n",
    )
    assert run(capsys, "sources", "-b", str(tmp_path)) == (
        2,
        "",
        f"ksql: -b {tmp_path}: no kernel there (no lib/modules/* or boot/System.map-*)\n",
    )
    make_root(tmp_path, "6.1.0-50-amd64")
    make_root(tmp_path, "6.12.9-amd64")
    assert run(capsys, "sources", "-b", str(tmp_path)) == (
        2,
        "",
        f"ksql: -b {tmp_path}: 2 kernels (6.1.0-50-amd64, 6.12.9-amd64); pick one with -k\n",
    )
    assert installed(tmp_path) == ["6.1.0-50-amd64", "6.12.9-amd64"]


def test_proc_and_sys_only_for_the_running_kernel(
    plugins: Plugins, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Kernel, "current", classmethod(lambda cls: cls(RELEASE, "x86_64")))
    under_root = select(None, str(root), plugins)
    assert not under_root.kernel.running
    assert not [s for s in under_root.specs if s.split(":", 1)[1].startswith(("/proc", "/sys"))]
    if Path("/proc/kallsyms").exists():
        here = select(None, None, plugins)
        assert here.kernel.running and here.kernel.release == RELEASE
        assert "kallsyms:/proc/kallsyms" in here.specs


def test_kconfig_is_the_kernels(plugins: Plugins, root: Path) -> None:
    assert select(RELEASE, str(root), plugins).kconfig == root / f"boot/config-{RELEASE}"


@pytest.mark.parametrize(
    ("links", "asked", "expected"),
    [
        ({"lib/modules/K/build": "/usr/src/h"}, "/lib/modules/K/build/M", "usr/src/h/M"),
        ({"lib/modules/K/build": "../../../usr/src/h"}, "/lib/modules/K/build/M", "usr/src/h/M"),
        ({"boot/up": "../../../../.."}, "/boot/up/etc/x", "etc/x"),  # never above the root
        ({}, "/boot/System.map-K", "boot/System.map-K"),
    ],
)
def test_links_stay_inside_the_root(
    tmp_path: Path, links: dict[str, str], asked: str, expected: str
) -> None:
    for link, target in links.items():
        (tmp_path / link).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / link).symlink_to(target)
    assert Kernel("K", "x86_64", tmp_path).path(asked) == tmp_path / expected


def test_describe_names_release_and_files() -> None:
    loaded = [("kallsyms:/boot/System.map-6.12.9-amd64", 5), ("symvers:/x/Module.symvers", 2)]
    catalog = Catalog(loaded=loaded)
    assert describe(catalog, None) == "6.12.9-amd64 (System.map-6.12.9-amd64, Module.symvers)"
    assert describe(Catalog(loaded=[("kallsyms:/tmp/a.txt", 1)]), None) == (
        "an unknown release (a.txt)"
    )
    chosen = Selection(Kernel("6.1.0-9-arm64", "aarch64", Path("/img")), (), ())
    assert describe(catalog, chosen).startswith("6.1.0-9-arm64 under /img (")


def test_every_source_command_takes_kernel_options() -> None:
    from ksql.cli import build_parser

    parser = build_parser()
    for command in ("query", "sources", "repl", "lsp"):
        args = parser.parse_args(
            [command, *(["q"] if command == "query" else []), "-k", "R", "-b", "/"]
        )
        assert (args.kernel, args.basedir) == ("R", "/")


def test_corpus_kernel_matches_its_module_symvers(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Debian's vmlinux (from the -dbg package's path) and its USB modules export exactly
    what the kernel's Module.symvers lists for them."""
    release = next(p.name[len("config-") :] for p in corpus.glob("config-*"))
    (tmp_path / "usr/lib/debug/boot").mkdir(parents=True)
    # links resolve inside the root as chroot resolves them: link files, not directories
    vmlinux = tmp_path / f"usr/lib/debug/boot/vmlinux-{release}"
    try:
        os.link(corpus / "vmlinux", vmlinux)
    except OSError:  # another file system
        shutil.copy(corpus / "vmlinux", vmlinux)
    usb = "kernel/drivers/usb"  # a part of the tree keeps the test quick
    shutil.copytree(
        corpus / "modules" / usb,
        tmp_path / f"lib/modules/{release}/{usb}",
        copy_function=os.symlink,
    )
    code, out, _ = run(capsys, "query", "exported", "-b", str(tmp_path), "-f", "count")
    modules = [line.split("\t")[2] for line in (corpus / "Module.symvers").read_text().splitlines()]
    expected = sum(m == "vmlinux" or m.startswith("drivers/usb/") for m in modules)
    assert (code, out) == (0, f"{expected}\n")


def test_kernel_error_is_a_ksql_error(plugins: Plugins, tmp_path: Path) -> None:
    with pytest.raises(KsqlError):
        select("", None, plugins)
