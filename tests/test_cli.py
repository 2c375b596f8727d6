"""``ksql query`` and ``ksql sources``: output formats, exit codes, error lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ksql.cli import main
from tests.conftest import DATA

SEED = str(DATA / "kallsyms-m2-excerpt.txt")
SEED_SYMVERS = str(DATA / "seed.Module.symvers")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_seed_query_prints_kallsyms_lines(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "query", "exported and module=m2 and type=D", "-s", SEED) == (
        0,
        "ffffffffa00f6570 D rday_3\t[m2]\n",
        "",
    )


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("names", "rday_3\n"),
        ("count", "1\n"),
        (
            "csv",
            "name,module,addr,type,size,section,bind,kind,export,namespace,crc,bits,exported,gpl,"
            "defined,undefined,decl,exported_at,defined_at,declared_at,source\n"
            f"rday_3,m2,0xffffffffa00f6570,D,,,unknown,object,EXPORT_SYMBOL,,0x291bcccd,64,true,"
            f"false,true,false,,,,,kallsyms:{SEED};symvers:{SEED_SYMVERS}\n",
        ),
    ],
)
def test_formats(capsys: pytest.CaptureFixture[str], fmt: str, expected: str) -> None:
    code, out, _ = run(capsys, "query", "rday_3", "-s", SEED, "-s", SEED_SYMVERS, "-f", fmt)
    assert (code, out) == (0, expected)


def test_json_rows_use_field_names(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "query", "rday_*", "-s", SEED, "--format", "json")
    assert code == 0
    rows = json.loads(out)
    assert [(r["name"], r["type"], r["exported"], r["addr"]) for r in rows] == [
        ("rday_3", "D", True, "0xffffffffa00f6570"),
        ("rday_2", "d", False, "0xffffffffa00f656c"),
    ]
    assert rows[0]["license"] is None  # every field is there, .modinfo ones too


def test_ndjson_is_one_object_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "query", "rday_* order by name", "-s", str(DATA / "m2.ko"), "-f", "ndjson"
    )
    lines = out.splitlines()
    assert code == 0 and len(lines) == 2
    first = json.loads(lines[0])
    assert (first["name"], first["addr"], first["license"], first["exported"]) == (
        "rday_2",
        "0x4",
        ["Dual BSD/GPL"],
        False,
    )


def test_table_shows_every_column_unabridged(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "query", "rday_3", "-s", SEED, "-s", SEED_SYMVERS, "-f", "table")
    assert code == 0
    header, row = out.splitlines()[:2]
    assert header.split() == ["addr", "type", "name", "module", "export", "namespace", "crc"]
    assert row.split() == ["ffffffffa00f6570", "D", "rday_3", "m2", "EXPORT_SYMBOL", "0x291bcccd"]


def test_format_choices_are_the_renderers(capsys: pytest.CaptureFixture[str]) -> None:
    from ksql.render import RENDERERS

    with pytest.raises(SystemExit):
        main(["query", "x", "-f", "fancy"])
    choices = ", ".join(repr(f) for f in RENDERERS)
    assert capsys.readouterr().err.endswith(f"invalid choice: 'fancy' (choose from {choices})\n")


def test_no_match_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "query", "name=nothing", "-s", SEED) == (1, "", "")
    assert run(capsys, "query", "name=nothing", "-s", SEED, "-f", "count") == (1, "0\n", "")


def test_bad_query_exits_2_with_caret(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "query", "exported and module=", "-s", SEED)
    assert (code, out) == (2, "")
    assert err == (
        "ksql: unexpected end of query; expected a word or a quoted string (column 21)\n"
        "  exported and module=\n"
        "                      ^\n"
    )


def test_bad_source_line_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "Module.symvers"
    src.write_text(
        "0x00000001\ta\tvmlinux\tEXPORT_SYMBOL\t\n0x00000002\tb\tvmlinux\tEXPORT_SYMBOL_WHAT\t\n"
    )
    code, out, err = run(capsys, "query", "exported", "-s", str(src))
    assert (code, out) == (2, "")
    assert err.startswith(f"ksql: {src}:2: unknown export kind 'EXPORT_SYMBOL_WHAT'")
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("/nonexistent/kallsyms", "ksql: /nonexistent/kallsyms: no such file or directory\n"),
        (
            "elfish:/tmp",
            "ksql: elfish:/tmp: no source type 'elfish' "
            "(known: btf, elf, kallsyms, symvers, tree)\n",
        ),
        (
            str(DATA / "m1.c"),
            f"ksql: {DATA / 'm1.c'}: not a symbol source ksql recognises (known types: "
            f"btf, elf, kallsyms, symvers, tree; force one with -s TYPE:{DATA / 'm1.c'})\n",
        ),
    ],
)
def test_source_errors(capsys: pytest.CaptureFixture[str], spec: str, message: str) -> None:
    assert run(capsys, "query", "x", "-s", spec) == (2, "", message)


def test_forced_type(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "query", "rday_3", "-s", f"kallsyms:{SEED}", "-f", "names")
    assert (code, out) == (0, "rday_3\n")


def test_sources_lists_plugins_and_rows(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "sources", "-s", SEED, "-s", SEED_SYMVERS)
    assert code == 0
    assert out.splitlines() == [
        "plugins:",
        "  btf        BTF: /sys/kernel/btf/*, .btf dumps (-s btf:FILE also reads an ELF's .BTF)"
        "  [btf]",
        "  elf        vmlinux, modules (.ko, .ko.xz/.zst/.gz), .o files, module directories  [elf]",
        "  kallsyms   /proc/kallsyms, System.map and nm output (text)  [kallsyms]",
        "  symvers    Module.symvers (modpost's export list: CRC, module, export kind, "
        "namespace)  [symvers]",
        "  tree       kernel source tree or headers tree: export, definition, declaration "
        "sites  [tree]",
        "sources:",
        f"  {SEED}: kallsyms, 4 rows",
        f"  {SEED_SYMVERS}: symvers, 1 rows",
        "catalog: 4 symbols in 1 modules",
        "kernel: an unknown release (kallsyms-m2-excerpt.txt, seed.Module.symvers)",
    ]


def test_default_sources_are_the_running_kernels(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "sources")
    assert code == 0
    assert "  /proc/kallsyms: kallsyms, " in out
    # The symvers plugin always names this file; the line must say whether it is there.
    symvers = Path(f"/lib/modules/{os.uname().release}/build/Module.symvers")
    (line,) = [x for x in out.splitlines() if x.startswith(f"  {symvers}: ")]
    if symvers.exists():
        assert line.startswith(f"  {symvers}: symvers, ") and line.endswith(" rows")
    else:
        assert line == f"  {symvers}: not found"
    # The running kernel's BTF, read last (what each symbol is).
    btf = Path("/sys/kernel/btf/vmlinux")
    (btf_line,) = [x for x in out.splitlines() if x.startswith(f"  {btf}: ")]
    assert (
        btf_line.startswith(f"  {btf}: btf, ") if btf.exists() else btf_line.endswith("not found")
    )


def test_python_dash_m_and_console_script() -> None:
    for argv in ([sys.executable, "-m", "ksql"], [str(Path(sys.executable).parent / "ksql")]):
        proc = subprocess.run(
            [*argv, "query", "exported", "-s", SEED, "-f", "names"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert (proc.returncode, proc.stdout, proc.stderr) == (0, "rday_3\n", "")


def test_broken_pipe_is_quiet() -> None:
    proc = subprocess.run(
        f"{sys.executable} -m ksql query '' -s {DATA / 'System.map-6.1-excerpt'} | head -1",
        shell=True,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.stderr == ""
    assert proc.stdout.count("\n") == 1


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("fmt", ["nm", "count"])
def test_a_full_disk_is_an_error_not_a_bug(fmt: str) -> None:
    """The answer is written while rendering (nm) or only when the process ends (count, one
    buffered line): both are a clear error and exit 2."""
    source = str(DATA / "System.map-6.1-excerpt")
    with open("/dev/full", "wb") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "ksql", "query", "", "-s", source, "-f", fmt],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
    assert (proc.returncode, proc.stderr) == (
        2,
        "ksql: cannot write the output: No space left on device\n",
    )


def _ksql(*argv: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "ksql", *argv], input=stdin, capture_output=True, check=False
    )


def test_a_source_on_standard_input() -> None:
    symvers = (DATA / "Module.symvers-6.1-excerpt").read_bytes()
    proc = _ksql("query", "gpl and namespace=DMA_BUF", "-s", "-", "-f", "names", stdin=symvers)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, b"dma_buf_export\n", b"")
    proc = _ksql("query", "x", "-s", "kallsyms:-", stdin=b"garbage\n")
    assert (proc.returncode, proc.stderr) == (
        2,
        b"ksql: standard input:1: expected 'ADDRESS TYPE NAME[<TAB>[MODULE]]' or 'U NAME', "
        b"got a line shaped 'WORD'\n",
    )


def test_a_source_through_a_pipe() -> None:
    # bash's <(...) is a pipe: read once, whatever its size (the 4 KiB sniff is not lost).
    big = " ".join(str(DATA / n) for n in ["System.map-6.1-excerpt"] * 400)
    proc = subprocess.run(
        ["bash", "-c", f'"$0" -m ksql query _text -s <(cat {big}) -f count', sys.executable],
        capture_output=True,
        check=False,
    )
    assert (proc.returncode, proc.stdout) == (0, b"400\n")  # every line, past the first 4 KiB


@pytest.mark.parametrize(
    ("text", "allow_remote", "expected"),
    [
        ("2087", False, ("127.0.0.1", 2087)),
        ("127.0.0.1:2087", False, ("127.0.0.1", 2087)),
        ("localhost:2087", False, ("localhost", 2087)),
        ("[::1]:2087", False, ("::1", 2087)),
        ("127.0.0.2:2087", False, ("127.0.0.2", 2087)),
        ("0.0.0.0:2087", True, ("0.0.0.0", 2087)),
        ("example.org:2087", True, ("example.org", 2087)),
    ],
)
def test_tcp_address(text: str, allow_remote: bool, expected: tuple[str, int]) -> None:
    from ksql.lsp.listen import tcp_address

    assert tcp_address(text, allow_remote=allow_remote) == expected


@pytest.mark.parametrize(
    ("address", "error"),
    [
        ("0.0.0.0:2087", "0.0.0.0 is not a loopback address"),
        ("[::]:2087", ":: is not a loopback address"),
        ("192.168.1.5:2087", "192.168.1.5 is not a loopback address"),
        ("example.org:2087", "example.org is not a loopback address"),
        ("127.0.0.1:port", "expected [HOST:]PORT"),
        ("127.0.0.1:70000", "expected [HOST:]PORT"),
    ],
)
def test_lsp_tcp_refuses_remote_addresses(
    capsys: pytest.CaptureFixture[str], address: str, error: str
) -> None:
    code, out, err = run(capsys, "lsp", "--tcp", address)
    assert (code, out) == (2, "")
    assert err.startswith(f"ksql: --tcp {address}: {error}")
    assert err.count("\n") == 1
    if "loopback" in error:
        assert "--allow-remote" in err


SEED_M2 = str(DATA / "m2.ko")


def test_python_m_ksql_never_imports_the_working_directory(tmp_path: Path) -> None:
    marker = tmp_path / "imported"
    for module in ("lark", "tree_sitter", "numpy", "pluggy"):
        (tmp_path / f"{module}.py").write_text(
            f"open({str(marker)!r}, 'a').write({module!r})\nraise ImportError('not me')\n"
        )
    proc = subprocess.run(
        [sys.executable, "-m", "ksql", "query", "name=rday_3", "-f", "names", "-s", SEED_M2],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert not marker.exists(), marker.read_text()
    assert (proc.returncode, proc.stdout) == (0, "rday_3\n")
