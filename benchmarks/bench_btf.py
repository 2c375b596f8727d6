"""Benchmark the BTF source: decoding all of a vmlinux BTF into catalog rows, cold, against
dwarves' ``pfunct`` and ``bpftool btf dump ... format raw`` on the same file.

Run on demand (not a pytest test)::

    .venv/bin/python benchmarks/bench_btf.py [FILE] [--repeat N]

FILE defaults to /sys/kernel/btf/vmlinux. Measured, each the best of ``--repeat`` runs:
``Btf`` + ``rows`` in-process, ``load_catalog`` in-process with the load cache off
(``KSQL_NO_CACHE=1``), and whole ``pfunct -F btf --prototypes`` and ``bpftool`` processes
(pfunct runs once: it takes tens of seconds). Target: the cold load within 0.3 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

os.environ["KSQL_NO_CACHE"] = "1"

from ksql.plugins.btf.blob import read_blob
from ksql.plugins.btf.reader import Btf
from ksql.plugins.btf.rows import rows

from ksql.loading import load_catalog

TARGET = 0.3  # seconds, the cold load of a whole vmlinux BTF


def best(n: int, fn: object) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def process(argv: list[str]) -> float | None:
    if not shutil.which(argv[0]):
        return None
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", default="/sys/kernel/btf/vmlinux")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    path = Path(args.file)
    data = read_blob(path)
    decode = best(args.repeat, lambda: Btf(path, data))
    btf = Btf(path, data)
    to_rows = best(args.repeat, lambda: rows(btf, "vmlinux"))
    count = len(rows(btf, "vmlinux"))
    load = best(args.repeat, lambda: load_catalog([f"btf:{path}"]))
    bpftool = min(
        filter(
            None,
            (
                process(["bpftool", "btf", "dump", "file", str(path), "format", "raw"])
                for _ in range(args.repeat)
            ),
        ),
        default=None,
    )
    pfunct = process(["pfunct", "-F", "btf", "--prototypes", str(path)])
    print(f"{path}: {btf.count - 1} types, {count} rows (functions and per-CPU variables)")
    print(f"  decode (Btf)            {decode * 1000:8.1f} ms")
    print(f"  rows (decl strings)     {to_rows * 1000:8.1f} ms")
    print(
        f"  load_catalog, cold      {load * 1000:8.1f} ms   target {TARGET * 1000:.0f} ms: "
        f"{'meets' if load <= TARGET else 'MISSES'}"
    )
    for name, t in (("bpftool format raw", bpftool), ("pfunct --prototypes", pfunct)):
        if t is None:
            print(f"  {name:22}  (not installed)")
        else:
            print(f"  {name:22}  {t * 1000:8.1f} ms   ksql/{name.split()[0]} = {load / t:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
