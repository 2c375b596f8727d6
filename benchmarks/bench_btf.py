"""Benchmark the BTF source: decoding all of a vmlinux BTF into catalog rows, cold, against
dwarves' ``pfunct`` and ``bpftool btf dump ... format raw`` on the same file.

Run on demand (not a pytest test)::

    .venv/bin/python benchmarks/bench_btf.py [FILE] [--repeat N]

FILE defaults to /sys/kernel/btf/vmlinux. Measured, each the best of ``--repeat`` runs:
``Btf`` + ``rows`` in-process, ``load_catalog`` in-process with the load cache off
(``KSQL_NO_CACHE=1``), the same load warm (the BTF row store in a fresh private cache
directory, after one untimed load fills it), and whole ``pfunct -F btf --prototypes`` and
``bpftool`` processes (pfunct runs once: it takes a minute; ``--no-pfunct`` skips it).
Times are CPU seconds, ours (``time.process_time``) and the reference processes' (user +
system), each the best of ``--repeat``. Target: the cold load within 0.3 s.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ["KSQL_NO_CACHE"] = "1"

from ksql.loading import load_catalog
from ksql.plugins.btf.blob import read_blob
from ksql.plugins.btf.reader import Btf
from ksql.plugins.btf.rows import rows

TARGET = 0.3  # seconds, the cold load of a whole vmlinux BTF


def best(n: int, fn: object) -> float:
    times = []
    for _ in range(n):
        start = time.process_time()
        fn()  # type: ignore[operator]
        times.append(time.process_time() - start)
    return min(times)


def process(argv: list[str]) -> float | None:
    """CPU seconds (user + system) of a whole reference process, like ours: on a shared
    machine wall time measures the neighbours."""
    if not shutil.which(argv[0]):
        return None
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", default="/sys/kernel/btf/vmlinux")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-pfunct", action="store_true", help="skip pfunct (a minute)")
    args = parser.parse_args()
    path = Path(args.file)
    data = read_blob(path)
    decode = best(args.repeat, lambda: Btf(path, data))
    btf = Btf(path, data)
    to_rows = best(args.repeat, lambda: rows(btf, "vmlinux"))
    count = len(rows(btf, "vmlinux"))
    load = best(args.repeat, lambda: load_catalog([f"btf:{path}"]))
    with tempfile.TemporaryDirectory(prefix="ksql-bench-btf-") as cache:
        os.chmod(cache, 0o700)
        os.environ.pop("KSQL_NO_CACHE")
        os.environ["KSQL_CACHE_DIR"] = cache
        load_catalog([f"btf:{path}"], use_cache=False)  # fills the BTF row store
        warm = best(args.repeat, lambda: load_catalog([f"btf:{path}"], use_cache=False))
        os.environ["KSQL_NO_CACHE"] = "1"
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
    pfunct = None if args.no_pfunct else process(["pfunct", "-F", "btf", "--prototypes", str(path)])
    print(f"{path}: {btf.count - 1} types, {count} rows (functions and per-CPU variables)")
    print(f"  decode (Btf)            {decode * 1000:8.1f} ms")
    print(f"  rows (decl strings)     {to_rows * 1000:8.1f} ms")
    print(
        f"  load_catalog, cold      {load * 1000:8.1f} ms   target {TARGET * 1000:.0f} ms: "
        f"{'meets' if load <= TARGET else 'MISSES'}"
    )
    print(f"  load_catalog, warm      {warm * 1000:8.1f} ms   (BTF row store)")
    for name, t in (("bpftool format raw", bpftool), ("pfunct --prototypes", pfunct)):
        if t is None:
            print(f"  {name:22}  (not installed)")
        else:
            print(f"  {name:22}  {t * 1000:8.1f} ms   ksql/{name.split()[0]} = {load / t:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
