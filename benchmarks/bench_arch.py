"""Benchmark a non-x86 module tree (Debian trixie's riscv64 6.12 by default) against
binutils-multiarch's ``nm -p`` on the same files, in the same run.

Run on demand (not a pytest test)::

    .venv/bin/python benchmarks/bench_arch.py [--kernel DIR] [--repeat N]

``DIR`` is one ``<arch corpus>/<abi>`` directory of scripts/fetch-arch-corpus.sh (default: the
riscv64 one under ``$KSQL_ARCH_CORPUS`` or ``$KSQL_CORPUS/../arch``). Debian ships these
modules xz-compressed, which nm cannot read, so the tree is first decompressed once into a
temporary directory (untimed); nm and ksql then read the same uncompressed files. Measured:
``find | xargs nm -p`` (one core, and two), ``load_catalog`` of the tree cold
(``KSQL_NO_CACHE=1``) and warm, and a whole ``ksql query`` process; plus ksql on the original
``.ko.xz`` tree (decompressing as it reads). Checked: ksql's row count equals nm's symbol
lines. Target (issue 12): the cold load in at most 2x nm's time with nm's row count.
"""

from __future__ import annotations

import argparse
import lzma
import os
import sys
import tempfile
from pathlib import Path

from _common import (
    COLD,
    WARM,
    Checks,
    Targets,
    best_in,
    best_of,
    first_int,
    ksql_argv,
    mode_label,
    ms,
    num,
    private_cache,
    ratio,
    run,
    section,
    table,
)

from ksql.loading import load_catalog
from ksql.pluginmanager import load_plugins

TARGET = 2.0  # load_catalog(tree) cold / find | xargs nm -p


def default_kernel() -> Path | None:
    root = os.environ.get("KSQL_ARCH_CORPUS")
    if not root and os.environ.get("KSQL_CORPUS"):
        root = str(Path(os.environ["KSQL_CORPUS"]).parent / "arch")
    if not root:
        return None
    found = sorted(Path(root).glob("*-riscv64"))
    return found[-1] if found else None


def decompressed(tree: Path, into: Path) -> int:
    """Every ``.ko``/``.ko.xz`` of ``tree`` as a plain ``.ko`` under ``into``; the count."""
    n = 0
    for path in sorted(tree.rglob("*")):
        if not path.name.endswith((".ko", ".ko.xz")):
            continue
        out = into / path.relative_to(tree).with_name(path.name.removesuffix(".xz"))
        out.parent.mkdir(parents=True, exist_ok=True)
        data = path.read_bytes()
        out.write_bytes(lzma.decompress(data) if path.suffix == ".xz" else data)
        n += 1
    return n


def nm_command(root: Path, jobs: int) -> list[str]:
    xargs = f"xargs -0 -P{jobs} -n200" if jobs > 1 else "xargs -0"
    return ["sh", "-c", f"find '{root}' -name '*.ko' -print0 | {xargs} nm -p"]


def nm_symbols(stdout: str) -> int:
    """Symbol lines of a multi-file ``nm -p``: not the blank lines nor ``file.ko:`` headers."""
    return sum(1 for line in stdout.splitlines() if line and not line.endswith(".ko:"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kernel", help="an <arch corpus>/<abi> directory")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    kernel = Path(args.kernel) if args.kernel else default_kernel()
    if kernel is None or not (kernel / "modules").is_dir():
        print("bench_arch: no foreign-architecture kernel: run KSQL_FETCH_ARCH=riscv64 "
              "scripts/fetch-corpus.sh or pass --kernel DIR", file=sys.stderr)  # fmt: skip
        return 2
    checks, targets = Checks(other="nm"), Targets()
    plugins = load_plugins()
    with tempfile.TemporaryDirectory() as tmp, private_cache():
        plain = Path(tmp) / "modules"
        files = decompressed(kernel / "modules", plain)
        nm_s, nm_proc = best_of(args.repeat, lambda: run(nm_command(plain, 1)))
        nm2_s, _ = best_of(args.repeat, lambda: run(nm_command(plain, 2)))
        nm_rows = nm_symbols(nm_proc.stdout) if nm_proc.returncode == 0 else None
        checks.agree("nm -p exit status", nm_proc.returncode == 0, nm_proc.stderr[:200])
        body = [["find | xargs nm -p (one core)", "-", num(nm_rows), ms(nm_s), "1.00x", ""]]
        body.append(
            ["find | xargs -P2 nm -p (two cores)", "-", "", ms(nm2_s), ratio(nm2_s, nm_s), ""]
        )
        for label, tree in (
            ("load_catalog([modules])", plain),
            ("  ... on the .ko.xz tree", kernel / "modules"),
        ):
            for mode in (COLD, WARM):
                load_s, rows = best_in(
                    mode, args.repeat, lambda t=tree: len(load_catalog([str(t)], plugins))
                )
                checks.verdict(f"{label} rows ({mode})", rows, nm_rows, exact=True)
                verdict = ""
                if tree == plain:
                    verdict = targets.verdict(f"{label} / nm -p", mode, load_s / nm_s, TARGET, "x")
                body.append(
                    [label, mode_label(mode), num(rows), ms(load_s), ratio(load_s, nm_s), verdict]
                )
        argv = [*ksql_argv(), "query", "", "-s", str(plain), "--format", "count"]
        for mode in (COLD, WARM):
            proc_s, proc = best_in(mode, args.repeat, lambda: run(argv))
            rows = first_int(proc)
            checks.verdict(f"ksql process count ({mode})", rows, nm_rows, exact=True)
            label = "ksql query '' -s DIR -f count (process)"
            body.append([label, mode_label(mode), num(rows), ms(proc_s), ratio(proc_s, nm_s), ""])
    title = f"{kernel.name}: {files:,} modules, nm and ksql on the same files"
    print(section(title, table(["step", "mode", "rows", "best", "ksql/nm", "target"], body)))
    print(f"\ncpus available: {len(os.sched_getaffinity(0))}; repeat {args.repeat}")
    print(targets.summary())
    print(checks.summary())
    return 1 if checks.failures else 0


if __name__ == "__main__":
    sys.exit(main())
