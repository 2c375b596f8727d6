"""Benchmark ksql on real text symbol files against awk doing the same filter.

Run on demand (not a pytest test)::

    .venv/bin/python benchmarks/bench_text.py [--corpus DIR] [--modules DIR] [--repeat N]
                                              [--quick] [--strict]

The corpus is a cache directory holding ``Module.symvers`` and ``System.map`` of a real Debian
kernel (``--corpus``, else ``$KSQL_CORPUS``, else what ``scripts/fetch-corpus.sh .corpus``
prints). Unless ``--quick``, a ~1 M-row "distro kallsyms" file is built once and cached as
``DIR/kallsyms-distro.txt``: System.map plus, for every module of the linux-image package,
its defined ``nm`` symbols as kallsyms lines ``ADDR TYPE NAME<TAB>[module]``, upper-case where
the module has a ``__ksymtab_<name>`` label and lower-case otherwise (kernel/kallsyms.c
s_show). The modules come from ``--modules DIR`` (a ``lib/modules/<abi>`` tree) or from
``apt-get download linux-image-<abi>`` extracted into ``DIR/image``.

Measured, each the best of ``--repeat`` runs: in-process load and first-use index builds,
in-process queries, whole ``ksql`` processes against ``awk`` (counts are cross-checked;
a disagreement prints MISMATCH, and ``--strict`` turns it into exit status 1), and the
catalog's resident memory per row in a fresh process.

Every load (in-process and in ``ksql`` processes) is measured twice: cold, with the load
cache off (``KSQL_NO_CACHE=1``), and warm, with the cache in a private temporary directory
(``KSQL_CACHE_DIR``, removed at the end) after one untimed run that fills it. The memory
target is judged on the cold probe.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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

DISTRO_FILE = "kallsyms-distro.txt"
KSYMTAB = "__ksymtab_"
NM_JOBS = 2  # like xargs -P2
NM_BATCH = 200  # .ko files per nm process

SYSMAP = "System.map"
SYMVERS = "Module.symvers"
MERGED = "System.map+Module.symvers"
DISTRO = "kallsyms-distro"
TAB = "-F\t"


# -- corpus ----------------------------------------------------------------------------------


def modules_root(corpus: Path, arg: str | None) -> Path:
    """The ``lib/modules/<abi>`` tree: ``--modules``, else DIR/image (downloaded if absent)."""
    if arg:
        return Path(arg).expanduser().resolve()
    abi = corpus.name
    image = corpus / "image"
    found = _extracted_modules(image, abi)
    if found is not None:
        return found
    debs = corpus / "deb"
    debs.mkdir(exist_ok=True)
    package = f"linux-image-{abi}"
    print(f"bench: apt-get download {package} ...", file=sys.stderr)
    subprocess.run(["apt-get", "download", package], cwd=debs, check=True)
    deb = sorted(debs.glob(f"{package}_*.deb"))[-1]
    tmp = corpus / "image.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp)], check=True)
    tmp.rename(image)
    deb.unlink()
    found = _extracted_modules(image, abi)
    if found is None:
        raise SystemExit(f"bench: {deb.name} has no lib/modules/{abi}")
    return found


def _extracted_modules(image: Path, abi: str) -> Path | None:
    for base in (image / "lib" / "modules" / abi, image / "usr" / "lib" / "modules" / abi):
        if base.is_dir():
            return base
    return None


def find_modules(root: Path) -> list[Path]:
    """Every ``.ko`` under ``root`` (not following the build/source symlinks)."""
    found = []
    for top, _dirs, files in os.walk(root):
        found.extend(Path(top, f) for f in files if f.endswith(".ko"))
    return sorted(found)


def module_name(path: str) -> str:
    name = Path(path).name
    return name.removesuffix(".ko").replace("-", "_")


def nm_symbols(batch: Sequence[Path], text: str) -> Iterator[tuple[str, list[tuple[str, ...]]]]:
    """(module, defined symbols as (addr, letter, name)) per file of ``nm -p`` output;
    several files make nm print a ``FILE:`` header before each one's lines."""
    current: str | None = str(batch[0]) if len(batch) == 1 else None
    syms: list[tuple[str, ...]] = []
    for line in text.splitlines():
        if not line:
            continue
        if line.endswith(":") and " " not in line:
            if current is not None:
                yield module_name(current), syms
            current, syms = line[:-1], []
            continue
        addr, _, rest = line.partition(" ")
        letter, _, name = rest.partition(" ")
        if addr and letter != "U":  # a blank address: undefined (U, w, v)
            syms.append((addr, letter, name))
    if current is not None:
        yield module_name(current), syms


def kallsyms_lines(module: str, syms: list[tuple[str, ...]]) -> str:
    """kernel/kallsyms.c s_show: a module symbol's letter is upper-case iff it is exported."""
    exported = {n[len(KSYMTAB) :] for _a, _l, n in syms if n.startswith(KSYMTAB)}
    return "".join(
        f"{a} {t.upper() if n in exported else t.lower()} {n}\t[{module}]\n" for a, t, n in syms
    )


def nm_batch(batch: Sequence[Path]) -> str:
    proc = subprocess.run(["nm", "-p", *map(str, batch)], capture_output=True, text=True)
    if proc.returncode and not proc.stdout:
        raise SystemExit(f"bench: nm failed: {proc.stderr.strip()}")
    return "".join(kallsyms_lines(m, s) for m, s in nm_symbols(batch, proc.stdout))


def distro_kallsyms(corpus: Path, modules_arg: str | None) -> Path:
    """DIR/kallsyms-distro.txt, built once: System.map, then every module's nm symbols."""
    out = corpus / DISTRO_FILE
    if out.exists():
        return out
    start = time.perf_counter()
    kos = find_modules(modules_root(corpus, modules_arg))
    if not kos:
        raise SystemExit("bench: no .ko files found (compressed modules are not handled)")
    batches = [kos[i : i + NM_BATCH] for i in range(0, len(kos), NM_BATCH)]
    tmp = out.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as f, ThreadPoolExecutor(NM_JOBS) as pool:
        system_map = (corpus / SYSMAP).read_text(encoding="utf-8")
        f.write(system_map if system_map.endswith("\n") else system_map + "\n")
        for text in pool.map(nm_batch, batches):
            f.write(text)
    tmp.rename(out)
    took = time.perf_counter() - start
    print(f"bench: built {out} from {len(kos)} modules in {took:.1f} s", file=sys.stderr)
    return out


# -- a. load ---------------------------------------------------------------------------------


def bench_load(
    sources: dict[str, list[Path]], repeat: int, checks: Checks
) -> tuple[str, dict[str, Any]]:
    """load_catalog per source, cold and warm, against an awk pass; returns the cold
    catalogs."""
    from ksql.loading import load_catalog
    from ksql.pluginmanager import load_plugins

    plugins_s, plugins = best_of(repeat, load_plugins)
    catalogs: dict[str, Any] = {}
    rows, index_rows = [], []
    for key, paths in sources.items():
        specs = [str(p) for p in paths]
        a, proc = best_of(repeat, lambda p=paths: run(["awk", "{f += NF} END {print NR}", *p]))
        lines = first_int(proc)
        for mode in (COLD, WARM):
            t, cat = best_in(mode, repeat, lambda specs=specs: load_catalog(specs, plugins))
            what = f"load {key} ({mode_label(mode)}): rows vs lines"
            check = checks.verdict(what, len(cat), lines, len(paths) == 1)
            if check == "approx":
                check = "merged"
            label = mode_label(mode)
            rows.append([key, label, num(len(cat)), ms(t), ms(a), ratio(t, a), num(lines), check])
            index_rows.append([key, label, *first_use_indexes(cat)])
            if mode == COLD:
                catalogs[key] = cat
            elif key in catalogs:
                n_cold = len(catalogs[key])
                checks.agree(f"load {key}: rows, warm vs cold", len(cat) == n_cold)
            del cat
    text = "\n".join(
        [
            f"load_plugins(): {ms(plugins_s)} (best; not included below)",
            table(
                [
                    "source",
                    "mode",
                    "rows",
                    "load_catalog",
                    "awk pass",
                    "ksql/awk",
                    "lines",
                    "check",
                ],
                rows,
                left=2,
            ),
            "",
            "First use after loading (once; later calls are cached in the catalog):",
            table(["catalog", "mode", "columns()", "name_order()"], index_rows, left=2),
        ]
    )
    return text, catalogs


def first_use_indexes(cat: Any) -> list[str]:
    out = []
    for build in (cat.columns, cat.name_order):
        start = time.perf_counter()
        build()
        out.append(ms(time.perf_counter() - start))
    return out


# -- b. in-process queries -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QuerySpec:
    query: str
    source: str
    awk: tuple[str, ...]  # awk arguments before the file(s)
    exact: bool = True


def _count(cond: str) -> str:
    return f"{cond} {{n++}} END {{print n + 0}}"


QUERIES = [
    QuerySpec("exported", SYMVERS, (TAB, "END {print NR}")),
    QuerySpec("exported", SYSMAP, (_count("$3 ~ /^__ksymtab_/"),), exact=False),
    QuerySpec("exported", DISTRO, (_count("$3 ~ /^__ksymtab_/"),), exact=False),
    QuerySpec("name=*printk*", SYSMAP, (_count("$3 ~ /printk/"),)),
    QuerySpec("name=*printk*", DISTRO, (_count("$3 ~ /printk/"),)),
    QuerySpec("type=T and module=vmlinux", SYSMAP, (_count('$2 == "T"'),)),
    QuerySpec("type=T and module=vmlinux", DISTRO, (_count('$2 == "T" && NF == 3'),)),
    QuerySpec(
        "gpl and namespace=DMA_BUF",
        SYMVERS,
        (TAB, _count('$4 == "EXPORT_SYMBOL_GPL" && $5 == "DMA_BUF"')),
    ),
    QuerySpec(
        "module=nvme*", SYMVERS, (TAB, '{m = $3; sub(/.*\\//, "", m)} ' + _count("m ~ /^nvme/"))
    ),
    QuerySpec("module=nvme*", DISTRO, (_count("$4 ~ /^\\[nvme/"),)),
    QuerySpec("name~^kmalloc", SYSMAP, (_count("$3 ~ /^kmalloc/"),)),
    QuerySpec("name~^kmalloc", DISTRO, (_count("$3 ~ /^kmalloc/"),)),
]


def bench_queries(
    sources: dict[str, list[Path]], catalogs: dict[str, Any], repeat: int, checks: Checks
) -> str:
    from ksql.query.compiler import compile_query

    rows = []
    for spec in QUERIES:
        if spec.source not in catalogs:
            continue
        cat = catalogs[spec.source]

        def query(q: str = spec.query, c: Any = cat) -> int:
            plan = compile_query(q)
            return len(plan.rows(c))

        t, n = best_of(repeat, query)
        argv = ["awk", *spec.awk, *map(str, sources[spec.source])]
        a, proc = best_of(repeat, lambda argv=argv: run(argv))
        theirs = first_int(proc)
        check = checks.verdict(f"query {spec.query!r} @ {spec.source}", n, theirs, spec.exact)
        rows.append(
            [
                spec.query,
                spec.source,
                ms(t),
                ms(a),
                ratio(t, a),
                num(n),
                num(theirs),
                check,
            ]
        )
    return table(
        ["query", "catalog", "ksql in-proc", "awk process", "ksql/awk", "ksql n", "awk n", "check"],
        rows,
    )


# -- c. whole processes ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProcSpec:
    query: str
    source: str
    fmt: str  # ksql --format: count compares numbers; others compare the lines
    awk: tuple[str, ...]


PROCESSES = [
    ProcSpec("type=T", SYSMAP, "count", (_count('$2 == "T"'),)),
    ProcSpec("gpl", SYMVERS, "count", (TAB, _count('$4 == "EXPORT_SYMBOL_GPL"'))),
    ProcSpec("name=*printk*", SYSMAP, "names", ("$3 ~ /printk/ {print $3}",)),
    ProcSpec("name~^kmalloc", SYSMAP, "nm", ("$3 ~ /^kmalloc/",)),
    ProcSpec("type=T", DISTRO, "count", (_count('$2 == "T"'),)),
    ProcSpec("name=*printk*", DISTRO, "names", ("$3 ~ /printk/ {print $3}",)),
    ProcSpec("module=nvme*", DISTRO, "count", (_count("$4 ~ /^\\[nvme/"),)),
    ProcSpec("module=nvme*", DISTRO, "nm", ("$4 ~ /^\\[nvme/",)),
]


def bench_processes(sources: dict[str, list[Path]], repeat: int, checks: Checks) -> str:
    ksql = ksql_argv()
    k0, _ = best_of(repeat, lambda: run([*ksql, "--version"]))
    a0, _ = best_of(repeat, lambda: run(["awk", "BEGIN {}"]))
    startup = "(startup: ksql --version / awk 'BEGIN {}')"
    rows = [[startup, "", mode_label("-"), ms(k0), ms(a0), ratio(k0, a0), "", "", ""]]
    for spec in PROCESSES:
        if spec.source not in sources:
            continue
        files = [str(p) for p in sources[spec.source]]
        kargv = [
            *ksql,
            "query",
            spec.query,
            *(a for f in files for a in ("-s", f)),
            "--format",
            spec.fmt,
        ]
        a, aproc = best_of(repeat, lambda argv=["awk", *spec.awk, *files]: run(argv))
        for mode in (COLD, WARM):
            t, kproc = best_in(mode, repeat, lambda kargv=kargv: run(kargv))
            what = (
                f"ksql query {spec.query!r} -s {spec.source} --format {spec.fmt} "
                f"({mode_label(mode)})"
            )
            ours, theirs, check = compare_outputs(what, spec.fmt, kproc, aproc, checks)
            rows.append(
                [
                    f"{spec.query} --format {spec.fmt}",
                    spec.source,
                    mode_label(mode),
                    ms(t),
                    ms(a),
                    ratio(t, a),
                    ours,
                    theirs,
                    check,
                ]
            )
    return table(
        [
            "ksql query",
            "file",
            "mode",
            "ksql process",
            "awk process",
            "ksql/awk",
            "ksql n",
            "awk n",
            "check",
        ],
        rows,
        left=3,
    )


def compare_outputs(
    what: str,
    fmt: str,
    kproc: subprocess.CompletedProcess[str],
    aproc: subprocess.CompletedProcess[str],
    checks: Checks,
) -> tuple[str, str, str]:
    if kproc.returncode not in (0, 1):
        checks.failures.append(f"{what}: exit {kproc.returncode}: {kproc.stderr.strip()}")
        return "error", "-", "MISMATCH"
    if fmt == "count":
        ours, theirs = first_int(kproc), first_int(aproc)
        check = checks.verdict(what, ours, theirs, exact=True)
        return num(ours), num(theirs), check
    kl, al = kproc.stdout.splitlines(), aproc.stdout.splitlines()
    check = checks.verdict(what, len(kl), len(al), exact=True)
    if check == "ok" and sorted(kl) != sorted(al):
        diff = sorted(set(kl) ^ set(al))[:3]
        checks.failures.append(f"{what}: same count, different lines, e.g. {diff}")
        check = "MISMATCH"
    return num(len(kl)), num(len(al)), check + (" (lines)" if check == "ok" else "")


# -- main ------------------------------------------------------------------------------------


def header(corpus: Path, sources: dict[str, list[Path]], repeat: int) -> str:
    import numpy

    awk = shutil.which("awk") or "awk"
    files = {p for paths in sources.values() for p in paths}
    lines = [
        "ksql text-source benchmark",
        f"corpus:  {corpus}",
        f"python:  {platform.python_version()}, numpy {numpy.__version__}; "
        f"awk: {os.path.realpath(awk)}; nm jobs {NM_JOBS}; cpus {os.cpu_count()}",
        f"host:    {platform.node()} {platform.release()}; best of {repeat} runs per timing",
        *CACHE_NOTE,
    ]
    for p in sorted(files):
        lines.append(f"file:    {p.name:<22} {p.stat().st_size / 2**20:7.1f} MiB")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--corpus",
        metavar="DIR",
        help="corpus cache dir (default: $KSQL_CORPUS or scripts/fetch-corpus.sh .corpus)",
    )
    p.add_argument(
        "--modules",
        metavar="DIR",
        help="an extracted lib/modules/<abi> tree (default: download linux-image)",
    )
    p.add_argument("--repeat", type=int, default=3, metavar="N", help="best of N (default 3)")
    p.add_argument("--quick", action="store_true", help="skip the ~1 M-row distro file")
    p.add_argument("--strict", action="store_true", help="exit 1 on any MISMATCH")
    p.add_argument("--rss-probe", nargs="+", metavar="PATH", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.rss_probe:
        rss_probe(args.rss_probe)
        return 0
    if shutil.which("awk") is None:
        raise SystemExit("bench: awk not found")
    corpus = corpus_dir(args.corpus)
    sysmap, symvers = corpus / SYSMAP, corpus / SYMVERS
    for p in (sysmap, symvers):
        if not p.is_file():
            raise SystemExit(f"bench: {p} is missing")
    sources = {SYSMAP: [sysmap], SYMVERS: [symvers], MERGED: [sysmap, symvers]}
    if not args.quick:
        sources[DISTRO] = [distro_kallsyms(corpus, args.modules)]
    repeat = max(1, args.repeat)
    checks, targets = Checks(), Targets()
    print(header(corpus, sources, repeat), flush=True)
    with private_cache():
        run_benchmarks(sources, repeat, checks, targets)
        check_cache_modes(checks)
    print(section("Summary", f"{targets.summary()}\n{checks.summary()}"))
    return 1 if args.strict and checks.failures else 0


def run_benchmarks(
    sources: dict[str, list[Path]], repeat: int, checks: Checks, targets: Targets
) -> None:
    load_text, catalogs = bench_load(sources, repeat, checks)
    title = "a. Load in-process: load_catalog([path], load_plugins()), cold and warm"
    print(section(title, load_text), flush=True)
    with cache_mode(COLD):
        queries = bench_queries(sources, catalogs, repeat, checks)
    print(
        section(
            "b. Queries in-process: compile_query(q).rows(cat) on the cold-loaded catalogs, "
            "vs awk on the file",
            queries,
        ),
        flush=True,
    )
    catalogs.clear()
    gc.collect()
    print(
        section(
            "c. Whole process: ksql query ... vs awk (wall time), cold and warm",
            bench_processes(sources, repeat, checks),
        ),
        flush=True,
    )
    mem_key = DISTRO if DISTRO in sources else MERGED
    memory = bench_memory(__file__, mem_key, sources[mem_key], checks, targets)
    print(section("d. Memory", memory), flush=True)


if __name__ == "__main__":
    sys.exit(main())
