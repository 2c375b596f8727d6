"""Benchmark ksql's ELF source on a real vmlinux and module tree against GNU nm.

Run on demand (not a pytest test)::

    .venv/bin/python benchmarks/bench_elf.py [--corpus DIR] [--repeat N] [--quick] [--strict]

The corpus is the cache directory of ``scripts/fetch-corpus.sh`` (``--corpus``, else
``$KSQL_CORPUS``, else what ``scripts/fetch-corpus.sh .corpus`` prints): a Debian ``vmlinux``
stripped of debug info, ``modules/`` (the extracted ``lib/modules/<abi>``) and
``Module.symvers``. ``--quick`` leaves the module tree out.

Measured, each the best of ``--repeat`` runs, as ksql/nm ratios against the targets:
decoding vmlinux in-process (``read_file``, ``load_catalog``) against an ``nm -p vmlinux``
process, whole ``ksql query`` processes, loading every module (one and two worker processes,
``load_catalog``, a ``ksql`` process) against ``find | xargs nm -p``, and the catalog's
resident memory per row in a fresh process. Cross-checked: the export count against nm's
``__ksymtab_`` labels, ``--format nm`` lines against ``nm -p`` lines (vmlinux and every 20th
module), and exports with CRCs against ``Module.symvers``. A disagreement prints MISMATCH;
``--strict`` turns it into exit status 1.
"""

from __future__ import annotations

import argparse
import csv
import gc
import os
import platform
import shlex
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from _common import (
    Checks,
    bench_memory,
    best_of,
    corpus_dir,
    first_int,
    ksql_argv,
    meets,
    ms,
    num,
    ratio,
    rss_probe,
    run,
    section,
    table,
)

VMLINUX = "vmlinux"
MODULES = "modules"
SYMVERS = "Module.symvers"
KSYMTAB = "__ksymtab_"
TARGET_DECODE = 1.0  # load_catalog(vmlinux) / nm -p vmlinux
TARGET_PROCESS = 3.0  # ksql process on vmlinux / nm -p vmlinux
TARGET_TREE = 1.0  # loading every module / find | xargs nm -p
SAMPLE_EVERY = 20
SAMPLE_SIZE = 200
NM_BATCH = 200  # .ko files per nm process for the two-job reference
EXAMPLES = 3  # differences shown per check


# -- processes -------------------------------------------------------------------------------


def quiet(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` with its output thrown away (``> /dev/null``), keeping stderr."""
    return subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def shell(command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, shell=True, stderr=subprocess.PIPE, text=True)


def nm_tree(root: Path, jobs: int = 1) -> str:
    """``find ROOT -name '*.ko' | xargs nm -p > /dev/null``; with ``jobs`` > 1, that many nm
    processes at a time."""
    xargs = "xargs" if jobs <= 1 else f"xargs -P{jobs} -n {NM_BATCH}"
    return f"find {shlex.quote(str(root))} -name '*.ko' | {xargs} nm -p > /dev/null"


def ksql_query(query: str, source: Path, fmt: str) -> list[str]:
    return [*ksql_argv(), "query", query, "-s", str(source), "--format", fmt]


def note_failed(
    what: str, proc: subprocess.CompletedProcess[str], checks: Checks, ok: Sequence[int] = (0,)
) -> None:
    """Record a process that exited with a status outside ``ok``."""
    if proc.returncode not in ok:
        err = (proc.stderr or "").strip()[-300:]
        checks.failures.append(f"{what}: exit {proc.returncode}: {err}")


def ko_files(root: Path) -> list[Path]:
    """Every ``.ko`` under ``root``, sorted (what ``find -name '*.ko'`` sees)."""
    found = []
    for top, _dirs, files in os.walk(root):
        found.extend(Path(top, f) for f in files if f.endswith(".ko"))
    return sorted(found)


def target_cells(seconds: float | None, reference: float, target: float | None) -> list[str]:
    """ksql/nm ratio, the target and whether it is met."""
    if target is None:
        return [ratio(seconds, reference), "", ""]
    value = None if seconds is None else seconds / reference
    return [ratio(seconds, reference), f"<= {target:.2f}x", meets(value, target)]


def timed_row(
    label: str, rows: int | None, seconds: float, reference: float, target: float | None = None
) -> list[str]:
    """label, rows, time, ksql/nm, target, verdict."""
    return [label, num(rows), ms(seconds), *target_cells(seconds, reference, target)]


# -- a. vmlinux decode in-process ------------------------------------------------------------


def bench_decode(vmlinux: Path, repeat: int, checks: Checks) -> tuple[str, float]:
    """Decoding vmlinux in-process against an ``nm -p vmlinux > /dev/null`` process."""
    from ksql.plugins.elf.files import read_file

    from ksql.loading import load_catalog
    from ksql.pluginmanager import load_plugins

    plugins_s, plugins = best_of(repeat, load_plugins)
    nm_s, nm_proc = best_of(repeat, lambda: quiet(["nm", "-p", str(vmlinux)]))
    note_failed(f"nm -p {vmlinux}", nm_proc, checks)
    io_s, data = best_of(repeat, vmlinux.read_bytes)
    decode_s, rows = best_of(repeat, lambda: read_file(vmlinux))
    load_s, cat = best_of(repeat, lambda: load_catalog([str(vmlinux)], plugins))
    n_rows, n_cat = len(rows), len(cat)
    del data, rows, cat
    gc.collect()
    rest = max(load_s - decode_s, 0.0)
    body = [
        timed_row("Path.read_bytes() (I/O only)", None, io_s, nm_s),
        timed_row("read_file(): ELF decode -> Rows", n_rows, decode_s, nm_s),
        timed_row("load_catalog([vmlinux], plugins)", n_cat, load_s, nm_s, TARGET_DECODE),
        timed_row("  minus read_file (sink + catalog; 0 = noise)", None, rest, nm_s),
    ]
    text = "\n".join(
        [
            f"load_plugins(): {ms(plugins_s)} (best; not included below)",
            f"nm -p vmlinux > /dev/null (subprocess, wall): {ms(nm_s)}",
            table(["step", "rows", "ksql", "ksql/nm", "target", "verdict"], body, left=1),
        ]
    )
    return text, nm_s


# -- b. whole processes on vmlinux -----------------------------------------------------------


def bench_process(
    vmlinux: Path, nm_s: float, repeat: int, checks: Checks
) -> tuple[str, int | None]:
    """Whole ``ksql`` processes against ``nm``; returns the table and the export count."""
    k0, kp = best_of(repeat, lambda: quiet([*ksql_argv(), "--version"]))
    n0, _ = best_of(repeat, lambda: quiet(["nm", "--version"]))
    note_failed("ksql --version", kp, checks)
    count_argv = ksql_query("exported", vmlinux, "count")
    t, proc = best_of(repeat, lambda: run(count_argv))
    note_failed("ksql query exported -s vmlinux --format count", proc, checks, (0, 1))
    exported = first_int(proc)
    nm_argv = ksql_query("", vmlinux, "nm")
    t_nm, nm_proc = best_of(repeat, lambda: quiet(nm_argv))
    note_failed("ksql query '' -s vmlinux --format nm", nm_proc, checks, (0, 1))
    body = [
        ["ksql --version", "nm --version", ms(k0), ms(n0), *target_cells(k0, n0, None), ""],
        [
            "ksql query exported -s vmlinux --format count",
            "nm -p vmlinux > /dev/null",
            ms(t),
            ms(nm_s),
            *target_cells(t, nm_s, TARGET_PROCESS),
            num(exported),
        ],
        [
            "ksql query '' -s vmlinux --format nm > /dev/null",
            "nm -p vmlinux > /dev/null",
            ms(t_nm),
            ms(nm_s),
            *target_cells(t_nm, nm_s, None),
            "",
        ],
    ]
    headers = ["ksql process", "nm process", "ksql", "nm", "ksql/nm", "target", "verdict", "ksql n"]
    return table(headers, body), exported


# -- c. the module tree ----------------------------------------------------------------------


def bench_tree(root: Path, repeat: int, checks: Checks) -> str:
    """Loading every module in-process and as a process against ``find | xargs nm -p``."""
    from ksql.plugins.elf.files import module_files, read_tree

    from ksql.loading import load_catalog
    from ksql.pluginmanager import load_plugins

    plugins = load_plugins()
    nm_s, nm_proc = best_of(repeat, lambda: shell(nm_tree(root)))
    note_failed(nm_tree(root), nm_proc, checks)
    nm2_s, _ = best_of(repeat, lambda: shell(nm_tree(root, jobs=2)))
    walk_s, files = best_of(repeat, lambda: module_files(root))

    def rows_with(workers: int) -> int:
        return sum(len(r) for r in read_tree(files, workers=workers))

    w1_s, n1 = best_of(repeat, lambda: rows_with(1))
    w2_s, n2 = best_of(repeat, lambda: rows_with(2))
    checks.agree("read_tree rows, workers=1 vs 2", n1 == n2, f"{n1} != {n2}")
    load_s, n_cat = best_of(repeat, lambda: len(load_catalog([str(root)], plugins)))
    gc.collect()
    argv = ksql_query("exported", root, "count")
    proc_s, proc = best_of(repeat, lambda: run(argv))
    note_failed("ksql query exported -s modules --format count", proc, checks, (0, 1))
    process = "ksql query exported -s modules --format count (process)"
    body = [
        timed_row(f"module_files(): {len(files):,} files", None, walk_s, nm_s),
        timed_row("read_tree(files, workers=1)", n1, w1_s, nm_s),
        timed_row("read_tree(files, workers=2)", n2, w2_s, nm_s),
        timed_row("load_catalog([modules], plugins)", n_cat, load_s, nm_s, TARGET_TREE),
        timed_row(process, first_int(proc), proc_s, nm_s, TARGET_TREE),
    ]
    speed_up = ratio(w1_s, w2_s)
    cpus = len(os.sched_getaffinity(0))
    return "\n".join(
        [
            f"{nm_tree(root)} (shell, wall): {ms(nm_s)}",
            f"reference, nm on two cores ({nm_tree(Path('DIR'), jobs=2)}): {ms(nm2_s)}",
            f"read_tree speed-up, workers=2 over workers=1: {speed_up} (cpus available: {cpus})",
            table(["ksql", "rows", "best", "ksql/nm", "target", "verdict"], body, left=1),
        ]
    )


# -- d. cross-checks -------------------------------------------------------------------------


def check_ksymtab(vmlinux: Path, exported: int | None, checks: Checks) -> list[str]:
    """ksql's export count on vmlinux against nm's ``__ksymtab_`` labels."""
    proc = run(["nm", "-p", str(vmlinux)])
    labels = sum(
        1 for line in proc.stdout.splitlines() if line.rpartition(" ")[2].startswith(KSYMTAB)
    )
    what = "exported on vmlinux vs nm's __ksymtab_ labels"
    return [what, num(exported), num(labels), checks.verdict(what, exported, labels, exact=True)]


@dataclass(frozen=True, slots=True)
class NmDiff:
    """One file's ``--format nm`` lines against ``nm -p``: counts and the first difference."""

    path: Path
    ours: int
    theirs: int
    first: str | None  # None: identical


def nm_diff(path: Path) -> NmDiff:
    kproc = run(ksql_query("", path, "nm"))
    if kproc.returncode not in (0, 1):
        return NmDiff(path, 0, 0, f"ksql exit {kproc.returncode}: {kproc.stderr.strip()[-200:]}")
    # kallsyms-style lines; a module's end in <TAB>[module], which nm does not print
    ours = [line.split("\t", 1)[0] for line in kproc.stdout.splitlines()]
    theirs = run(["nm", "-p", str(path)]).stdout.splitlines()
    return NmDiff(path, len(ours), len(theirs), first_difference(ours, theirs))


def first_difference(ours: list[str], theirs: list[str]) -> str | None:
    for i, (a, b) in enumerate(zip(ours, theirs, strict=False)):
        if a != b:
            return f"line {i + 1}: ksql {a!r} != nm {b!r}"
    if len(ours) != len(theirs):
        return f"ksql {len(ours):,} lines, nm {len(theirs):,}"
    return None


def check_nm_lines(files: dict[str, list[Path]], checks: Checks) -> list[list[str]]:
    """Per group of files: every line of ``ksql --format nm`` equals ``nm -p``, in order."""
    out = []
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        for label, paths in files.items():
            diffs = list(pool.map(nm_diff, paths))
            bad = [d for d in diffs if d.first is not None]
            what = f"nm lines, {label}"
            detail = f"{len(bad)}/{len(diffs)} files differ; " + "; ".join(
                f"{d.path.name} {d.first}" for d in bad[:EXAMPLES]
            )
            ours, theirs = sum(d.ours for d in diffs), sum(d.theirs for d in diffs)
            agree = f"{len(diffs) - len(bad)}/{len(diffs)} files"
            verdict = checks.agree(what, not bad, detail)
            out.append([what, num(ours), num(theirs), f"{verdict} ({agree})"])
    return out


Export = tuple[str, str, str, str, int | None]  # name, module, kind, namespace, crc


def symvers_exports(path: Path, vmlinux: bool) -> Counter[Export]:
    """Module.symvers rows (CRC, name, module path, kind, namespace) of vmlinux or of the
    modules, the module named by its path's last part with '-' -> '_'."""
    out: Counter[Export] = Counter()
    for line in path.read_text(encoding="utf-8").splitlines():
        crc, name, where, kind, ns = (line.split("\t") + [""] * 5)[:5]
        module = where.rpartition("/")[2].replace("-", "_")
        if (module == VMLINUX) == vmlinux:
            out[(name, module, kind, ns, int(crc, 16) if crc else None)] += 1
    return out


def ksql_exports(source: Path, checks: Checks) -> Counter[Export]:
    proc = run(ksql_query("exported", source, "csv"))
    note_failed(f"ksql query exported -s {source.name} --format csv", proc, checks, (0, 1))
    out: Counter[Export] = Counter()
    for r in csv.DictReader(proc.stdout.splitlines()):
        crc = int(r["crc"], 0) if r["crc"] else None
        out[(r["name"], r["module"], r["export"], r["namespace"], crc)] += 1
    return out


def check_symvers(source: Path, symvers: Path, vmlinux: bool, checks: Checks) -> list[str]:
    """Exports (name, module, kind, namespace, CRC) from ``source`` against Module.symvers."""
    ours, theirs = ksql_exports(source, checks), symvers_exports(symvers, vmlinux)
    only_ours, only_theirs = ours - theirs, theirs - ours
    which = "vmlinux" if vmlinux else "module"
    what = f"exports of {source.name} vs Module.symvers {which} rows (name, kind, ns, crc)"
    detail = (
        f"{only_ours.total():,} only in ksql, e.g. {list(only_ours)[:EXAMPLES]}; "
        f"{only_theirs.total():,} only in Module.symvers, e.g. {list(only_theirs)[:EXAMPLES]}"
    )
    verdict = checks.agree(what, not only_ours and not only_theirs, detail)
    common = (ours & theirs).total()
    return [what, num(ours.total()), num(theirs.total()), f"{verdict} ({common:,} agree)"]


def bench_checks(corpus: Path, exported: int | None, quick: bool, checks: Checks) -> str:
    vmlinux, symvers = corpus / VMLINUX, corpus / SYMVERS
    rows = [check_ksymtab(vmlinux, exported, checks)]
    groups: dict[str, list[Path]] = {"vmlinux": [vmlinux]}
    if not quick:
        sample = ko_files(corpus / MODULES)[::SAMPLE_EVERY][:SAMPLE_SIZE]
        groups[f"{len(sample)} modules (every {SAMPLE_EVERY}th)"] = sample
    rows.extend(check_nm_lines(groups, checks))
    if symvers.is_file():
        rows.append(check_symvers(vmlinux, symvers, True, checks))
        if not quick:
            rows.append(check_symvers(corpus / MODULES, symvers, False, checks))
    else:
        rows.append([f"exports vs {SYMVERS}", "-", "-", "skipped (no file)"])
    return table(["check", "ksql", "reference", "verdict"], rows, left=1)


# -- main ------------------------------------------------------------------------------------


def header(corpus: Path, quick: bool, repeat: int) -> str:
    import numpy

    nm_version = run(["nm", "--version"]).stdout.splitlines()[:1] or ["nm"]
    vmlinux = corpus / VMLINUX
    lines = [
        "ksql ELF-source benchmark",
        f"corpus:  {corpus}",
        f"python:  {platform.python_version()}, numpy {numpy.__version__}; {nm_version[0]}; "
        f"cpus {os.cpu_count()}",
        f"host:    {platform.node()} {platform.release()}; best of {repeat} runs per timing",
        f"file:    {VMLINUX:<16} {vmlinux.stat().st_size / 2**20:7.1f} MiB",
    ]
    if not quick:
        kos = ko_files(corpus / MODULES)
        size = sum(p.stat().st_size for p in kos)
        lines.append(f"modules: {len(kos):,} .ko files, {size / 2**20:,.1f} MiB")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--corpus",
        metavar="DIR",
        help="corpus cache dir (default: $KSQL_CORPUS or scripts/fetch-corpus.sh .corpus)",
    )
    p.add_argument("--repeat", type=int, default=3, metavar="N", help="best of N (default 3)")
    p.add_argument("--quick", action="store_true", help="vmlinux only, no module tree")
    p.add_argument("--strict", action="store_true", help="exit 1 on any MISMATCH")
    p.add_argument("--rss-probe", nargs="+", metavar="PATH", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def require(corpus: Path, quick: bool) -> None:
    """nm and the corpus files this run needs, or exit."""
    if shutil.which("nm") is None:
        raise SystemExit("bench: nm (binutils) not found")
    needed = [corpus / VMLINUX] + ([] if quick else [corpus / MODULES])
    for p in needed:
        if not p.exists():
            raise SystemExit(f"bench: {p} is missing (scripts/fetch-corpus.sh makes it)")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.rss_probe:
        rss_probe(args.rss_probe)
        return 0
    corpus = corpus_dir(args.corpus)
    require(corpus, args.quick)
    vmlinux, modules = corpus / VMLINUX, corpus / MODULES
    repeat = max(1, args.repeat)
    checks = Checks(other="nm")
    print(header(corpus, args.quick, repeat), flush=True)
    decode, nm_s = bench_decode(vmlinux, repeat, checks)
    print(section("a. vmlinux decode in-process vs an nm -p process", decode), flush=True)
    process, exported = bench_process(vmlinux, nm_s, repeat, checks)
    print(section("b. Whole process on vmlinux (wall time)", process), flush=True)
    if not args.quick:
        tree = bench_tree(modules, repeat, checks)
        print(section("c. Every module: ksql vs find | xargs nm -p", tree), flush=True)
    print(section("d. Cross-checks", bench_checks(corpus, exported, args.quick, checks)))
    key, paths = (VMLINUX, [vmlinux]) if args.quick else ("modules + vmlinux", [modules, vmlinux])
    print(section("e. Memory", bench_memory(__file__, key, paths, checks)))
    print(section("Summary", checks.summary()))
    return 1 if args.strict and checks.failures else 0


if __name__ == "__main__":
    sys.exit(main())
