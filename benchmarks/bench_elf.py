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

Every load (``load_catalog`` in-process and ``ksql`` processes) is measured twice: cold, with
the load cache off (``KSQL_NO_CACHE=1``), and warm, with the cache in a private temporary
directory (``KSQL_CACHE_DIR``, removed at the end) after one untimed run that fills it.
``read_file``/``read_tree`` never use the cache: they are always cold. The targets are judged
on the cold numbers (they are about decoding); warm verdicts are shown, labelled ``warm``.
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
    CACHE_NOTE,
    COLD,
    WARM,
    Checks,
    Targets,
    bench_memory,
    best_in,
    best_of,
    cache_mode,
    check_cache_modes,
    corpus_dir,
    first_int,
    ksql_argv,
    mode_label,
    ms,
    num,
    private_cache,
    ratio,
    rss_probe,
    run,
    section,
    table,
)

VMLINUX = "vmlinux"
MODULES = "modules"
# The smallest real ELF input (the seed module m1): the memory probe loads it first.
PRIMER = Path(__file__).resolve().parent.parent / "tests" / "data" / "m1.ko"
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


@dataclass(frozen=True, slots=True)
class Goal:
    """A target ratio against the nm reference, recorded in ``targets`` under ``what``."""

    what: str
    target: float
    targets: Targets


def target_cells(
    seconds: float | None, reference: float, mode: str, goal: Goal | None = None
) -> list[str]:
    """ksql/nm ratio, the target and whether it is met (judged cold; labelled warm)."""
    if goal is None:
        return [ratio(seconds, reference), "", ""]
    value = None if seconds is None else seconds / reference
    verdict = goal.targets.verdict(goal.what, mode, value, goal.target, "x")
    return [ratio(seconds, reference), f"<= {goal.target:.2f}x", verdict]


def timed_row(
    label: str,
    mode: str,
    rows: int | None,
    seconds: float,
    reference: float,
    goal: Goal | None = None,
) -> list[str]:
    """label, mode, rows, time, ksql/nm, target, verdict."""
    cells = target_cells(seconds, reference, mode, goal)
    return [label, mode_label(mode), num(rows), ms(seconds), *cells]


# -- a. vmlinux decode in-process ------------------------------------------------------------


def bench_decode(vmlinux: Path, repeat: int, checks: Checks, targets: Targets) -> tuple[str, float]:
    """Decoding vmlinux in-process against an ``nm -p vmlinux > /dev/null`` process; the
    load cold and warm."""
    from ksql.loading import load_catalog
    from ksql.pluginmanager import load_plugins
    from ksql.plugins.elf.files import read_file

    plugins_s, plugins = best_of(repeat, load_plugins)
    nm_s, nm_proc = best_of(repeat, lambda: quiet(["nm", "-p", str(vmlinux)]))
    note_failed(f"nm -p {vmlinux}", nm_proc, checks)
    io_s, data = best_of(repeat, vmlinux.read_bytes)
    decode_s, rows = best_in(COLD, repeat, lambda: read_file(vmlinux))
    n_rows = len(rows)
    del data, rows
    gc.collect()
    load = {}
    for mode in (COLD, WARM):
        t, cat = best_in(mode, repeat, lambda: load_catalog([str(vmlinux)], plugins))
        load[mode] = (t, len(cat))
        del cat
        gc.collect()
    (load_s, n_cat), (warm_s, n_warm) = load[COLD], load[WARM]
    checks.agree("load_catalog([vmlinux]) rows, warm vs cold", n_warm == n_cat, f"{n_warm}")
    rest = max(load_s - decode_s, 0.0)
    goal = Goal("load_catalog([vmlinux]) / nm -p vmlinux", TARGET_DECODE, targets)
    load_label = "load_catalog([vmlinux], plugins)"
    body = [
        timed_row("Path.read_bytes() (I/O only)", "-", None, io_s, nm_s),
        timed_row("read_file(): ELF decode -> Batch", COLD, n_rows, decode_s, nm_s),
        timed_row(load_label, COLD, n_cat, load_s, nm_s, goal),
        timed_row("  minus read_file (sink + catalog; 0 = noise)", COLD, None, rest, nm_s),
        timed_row(load_label, WARM, n_warm, warm_s, nm_s, goal),
    ]
    headers = ["step", "mode", "rows", "ksql", "ksql/nm", "target", "verdict"]
    text = "\n".join(
        [
            f"load_plugins(): {ms(plugins_s)} (best; not included below)",
            f"nm -p vmlinux > /dev/null (subprocess, wall): {ms(nm_s)}",
            table(headers, body, left=2),
        ]
    )
    return text, nm_s


# -- b. whole processes on vmlinux -----------------------------------------------------------


def bench_process(
    vmlinux: Path, nm_s: float, repeat: int, checks: Checks, targets: Targets
) -> tuple[str, int | None]:
    """Whole ``ksql`` processes against ``nm``, cold and warm; returns the table and the
    (cold) export count."""
    k0, kp = best_of(repeat, lambda: quiet([*ksql_argv(), "--version"]))
    n0, _ = best_of(repeat, lambda: quiet(["nm", "--version"]))
    note_failed("ksql --version", kp, checks)
    nm_p = "nm -p vmlinux > /dev/null"
    body = [["ksql --version", "-", "nm --version", ms(k0), ms(n0), *target_cells(k0, n0, "-"), ""]]
    count_label = "ksql query exported -s vmlinux --format count"
    goal = Goal(f"{count_label} (process) / nm -p vmlinux", TARGET_PROCESS, targets)
    count_argv = ksql_query("exported", vmlinux, "count")
    counts: dict[str, int | None] = {}
    for mode in (COLD, WARM):
        t, proc = best_in(mode, repeat, lambda: run(count_argv))
        note_failed(f"{count_label} ({mode_label(mode)})", proc, checks, (0, 1))
        counts[mode] = first_int(proc)
        cells = target_cells(t, nm_s, mode, goal)
        body.append(
            [count_label, mode_label(mode), nm_p, ms(t), ms(nm_s), *cells, num(counts[mode])]
        )
    checks.agree(
        "exported count on vmlinux, warm vs cold",
        counts[WARM] == counts[COLD],
        f"{counts[WARM]} != {counts[COLD]}",
    )
    nm_label = "ksql query '' -s vmlinux --format nm > /dev/null"
    nm_argv = ksql_query("", vmlinux, "nm")
    for mode in (COLD, WARM):
        t_nm, nm_proc = best_in(mode, repeat, lambda: quiet(nm_argv))
        note_failed(f"{nm_label} ({mode_label(mode)})", nm_proc, checks, (0, 1))
        cells = target_cells(t_nm, nm_s, mode)
        body.append([nm_label, mode_label(mode), nm_p, ms(t_nm), ms(nm_s), *cells, ""])
    headers = [
        "ksql process",
        "mode",
        "nm process",
        "ksql",
        "nm",
        "ksql/nm",
        "target",
        "verdict",
        "ksql n",
    ]
    return table(headers, body, left=3), counts[COLD]


# -- c. the module tree ----------------------------------------------------------------------


def bench_tree(root: Path, repeat: int, checks: Checks, targets: Targets) -> str:
    """Loading every module in-process and as a process against ``find | xargs nm -p``;
    the loads cold and warm."""
    from ksql.loading import load_catalog
    from ksql.pluginmanager import load_plugins
    from ksql.plugins.elf.files import module_files, read_tree

    plugins = load_plugins()
    nm_s, nm_proc = best_of(repeat, lambda: shell(nm_tree(root)))
    note_failed(nm_tree(root), nm_proc, checks)
    nm2_s, _ = best_of(repeat, lambda: shell(nm_tree(root, jobs=2)))
    walk_s, files = best_of(repeat, lambda: module_files(root))

    def rows_with(workers: int) -> int:
        return sum(len(r) for r in read_tree(files, workers=workers))

    w1_s, n1 = best_in(COLD, repeat, lambda: rows_with(1))
    w2_s, n2 = best_in(COLD, repeat, lambda: rows_with(2))
    checks.agree("read_tree rows, workers=1 vs 2", n1 == n2, f"{n1} != {n2}")
    body = [
        timed_row(f"module_files(): {len(files):,} files", "-", None, walk_s, nm_s),
        timed_row("read_tree(files, workers=1)", COLD, n1, w1_s, nm_s),
        timed_row("read_tree(files, workers=2)", COLD, n2, w2_s, nm_s),
    ]
    load_label = "load_catalog([modules], plugins)"
    goal = Goal(f"{load_label} / find | xargs nm -p", TARGET_TREE, targets)
    loaded: dict[str, int] = {}
    for mode in (COLD, WARM):
        load_s, loaded[mode] = best_in(
            mode, repeat, lambda: len(load_catalog([str(root)], plugins))
        )
        gc.collect()
        body.append(timed_row(load_label, mode, loaded[mode], load_s, nm_s, goal))
    checks.agree(
        "load_catalog([modules]) rows, warm vs cold",
        loaded[WARM] == loaded[COLD],
        f"{loaded[WARM]} != {loaded[COLD]}",
    )
    argv = ksql_query("exported", root, "count")
    process = "ksql query exported -s modules --format count (process)"
    goal = Goal(f"{process} / find | xargs nm -p", TARGET_TREE, targets)
    counts: dict[str, int | None] = {}
    for mode in (COLD, WARM):
        proc_s, proc = best_in(mode, repeat, lambda: run(argv))
        note_failed(f"{process} ({mode_label(mode)})", proc, checks, (0, 1))
        counts[mode] = first_int(proc)
        body.append(timed_row(process, mode, counts[mode], proc_s, nm_s, goal))
    checks.agree(
        "exported count on modules, warm vs cold",
        counts[WARM] == counts[COLD],
        f"{counts[WARM]} != {counts[COLD]}",
    )
    speed_up = ratio(w1_s, w2_s)
    cpus = len(os.sched_getaffinity(0))
    return "\n".join(
        [
            f"{nm_tree(root)} (shell, wall): {ms(nm_s)}",
            f"reference, nm on two cores ({nm_tree(Path('DIR'), jobs=2)}): {ms(nm2_s)}",
            f"read_tree speed-up, workers=2 over workers=1: {speed_up} (cpus available: {cpus})",
            table(["ksql", "mode", "rows", "best", "ksql/nm", "target", "verdict"], body, left=2),
        ]
    )


# -- d. cross-checks -------------------------------------------------------------------------


def check_ksymtab(vmlinux: Path, exported: int | None, checks: Checks) -> list[str]:
    """ksql's export count on vmlinux against nm's ``__ksymtab_`` labels."""
    proc = run(["nm", "-p", str(vmlinux)])
    labels = sum(
        1 for line in proc.stdout.splitlines() if line.rpartition(" ")[2].startswith(KSYMTAB)
    )
    what = "exported on vmlinux [cold] vs nm's __ksymtab_ labels"
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


def check_symvers(
    source: Path, symvers: Path, vmlinux: bool, checks: Checks, mode: str = COLD
) -> list[str]:
    """Exports (name, module, kind, namespace, CRC) from ``source`` against Module.symvers;
    ksql run in cache mode ``mode``."""
    with cache_mode(mode):
        ours = ksql_exports(source, checks)
    theirs = symvers_exports(symvers, vmlinux)
    only_ours, only_theirs = ours - theirs, theirs - ours
    which = "vmlinux" if vmlinux else "module"
    what = (
        f"exports of {source.name} [{mode_label(mode)}] vs Module.symvers {which} rows "
        "(name, kind, ns, crc)"
    )
    detail = (
        f"{only_ours.total():,} only in ksql, e.g. {list(only_ours)[:EXAMPLES]}; "
        f"{only_theirs.total():,} only in Module.symvers, e.g. {list(only_theirs)[:EXAMPLES]}"
    )
    verdict = checks.agree(what, not only_ours and not only_theirs, detail)
    common = (ours & theirs).total()
    return [what, num(ours.total()), num(theirs.total()), f"{verdict} ({common:,} agree)"]


def bench_checks(corpus: Path, exported: int | None, quick: bool, checks: Checks) -> str:
    """The cross-checks, on decoded (cold) output; vmlinux's nm lines and the exports also
    once more warm, read back from the cache (filled first)."""
    vmlinux, symvers, modules = corpus / VMLINUX, corpus / SYMVERS, corpus / MODULES
    big = [vmlinux] if quick else [vmlinux, modules]
    rows = [check_ksymtab(vmlinux, exported, checks)]
    groups: dict[str, list[Path]] = {"vmlinux [cold]": [vmlinux]}
    if not quick:
        sample = ko_files(modules)[::SAMPLE_EVERY][:SAMPLE_SIZE]
        groups[f"{len(sample)} modules (every {SAMPLE_EVERY}th) [cold]"] = sample
    with cache_mode(COLD):
        rows.extend(check_nm_lines(groups, checks))
    with cache_mode(WARM):
        for source in big:  # fill the cache (a hit when the timings above filled it)
            note_failed(
                f"fill the cache: {source.name}",
                quiet(ksql_query("", source, "count")),
                checks,
                (0, 1),
            )
        rows.extend(check_nm_lines({f"vmlinux [{mode_label(WARM)}]": [vmlinux]}, checks))
    if symvers.is_file():
        for mode in (COLD, WARM):
            for source in big:
                rows.append(check_symvers(source, symvers, source == vmlinux, checks, mode))
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
        *CACHE_NOTE,
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
    p.add_argument("--rss-primer", action="append", metavar="PATH", help=argparse.SUPPRESS)
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
        rss_probe(args.rss_probe, args.rss_primer or ())
        return 0
    corpus = corpus_dir(args.corpus)
    require(corpus, args.quick)
    vmlinux, modules = corpus / VMLINUX, corpus / MODULES
    repeat = max(1, args.repeat)
    checks, targets = Checks(other="nm"), Targets()
    print(header(corpus, args.quick, repeat), flush=True)
    with private_cache():
        decode, nm_s = bench_decode(vmlinux, repeat, checks, targets)
        title = "a. vmlinux decode in-process vs an nm -p process, cold and warm"
        print(section(title, decode), flush=True)
        process, exported = bench_process(vmlinux, nm_s, repeat, checks, targets)
        print(
            section("b. Whole process on vmlinux (wall time), cold and warm", process), flush=True
        )
        if not args.quick:
            tree = bench_tree(modules, repeat, checks, targets)
            title = "c. Every module: ksql vs find | xargs nm -p, cold and warm"
            print(section(title, tree), flush=True)
        crosschecks = bench_checks(corpus, exported, args.quick, checks)
        print(section("d. Cross-checks", crosschecks), flush=True)
        key = VMLINUX if args.quick else "modules + vmlinux"
        paths = [vmlinux] if args.quick else [modules, vmlinux]
        memory = bench_memory(__file__, key, paths, checks, targets, primer=[PRIMER])
        print(section("e. Memory", memory), flush=True)
        check_cache_modes(checks)
    print(section("Summary", f"{targets.summary()}\n{checks.summary()}"))
    return 1 if args.strict and checks.failures else 0


if __name__ == "__main__":
    sys.exit(main())
