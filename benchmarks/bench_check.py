"""Benchmark ``ksql check`` against the references, in the same run.

Run on demand (not a pytest test)::

    .venv/bin/python benchmarks/bench_check.py [--corpus DIR] [--repeat N] [--quick]

- One module (tests/data/m1.ko) against Debian's 6.1 Module.symvers, the whole ``ksql check``
  process, warm (the load cache holds the catalog): goal 0.1 s. References in the same run:
  ``ksql --version`` (Python start-up and argument parsing) and ``modprobe --dump-modversions``
  (kmod reading the module's ``__versions``; what a user's pipeline starts from).
- Debian's whole module tree (4,022 modules) against itself and Module.symvers, warm and cold,
  against ``depmod -n -e -E Module.symvers`` (kmod) on the same tree: goal ``<=`` depmod.
  Warm runs and depmod's alternate, and each side's best is compared.

And the ten slowest imports of the warm one-module check (``python -X importtime``).
Both sides' verdicts are compared (an empty "disagrees" set on the unedited tree).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from functools import partial
from pathlib import Path

from _common import (
    COLD,
    WARM,
    best_in,
    best_of,
    cache_mode,
    corpus_dir,
    ksql_argv,
    ms,
    private_cache,
    ratio,
    run,
    section,
    table,
)
from _imports import import_top

REPO = Path(__file__).resolve().parent.parent
RELEASE = "6.1.0-50-amd64"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--corpus")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="one module only")
    args = ap.parse_args()
    corpus = corpus_dir(args.corpus)
    symvers = corpus / "Module.symvers"
    config = corpus / f"config-{RELEASE}"
    m1 = REPO / "tests" / "data" / "m1.ko"
    ksql = ksql_argv()
    rows = []
    with private_cache():
        one = [*ksql, "check", str(m1), "-s", str(symvers), "--config", str(config), "-q"]
        single = {}
        for mode in (COLD, WARM):
            t, proc = best_in(mode, args.repeat, lambda: run(one))
            assert proc.returncode == 0, proc.stderr
            single[mode] = t
            rows.append([f"check m1.ko ({mode})", ms(t), "goal 100 ms"])
        t_version, _ = best_of(args.repeat, lambda: run([*ksql, "--version"]))
        rows.append(["ksql --version", ms(t_version), ""])
        modprobe = shutil.which("modprobe") or "/usr/sbin/modprobe"
        if Path(modprobe).exists():
            t_mp, _ = best_of(args.repeat, lambda: run([modprobe, "--dump-modversions", str(m1)]))
            rows.append(["modprobe --dump-modversions m1.ko", ms(t_mp), ""])
            rows.append(["ratio check m1.ko (warm) / modprobe", ratio(single[WARM], t_mp), ""])
        rows.append(["ratio check m1.ko (warm) / --version", ratio(single[WARM], t_version), ""])
        with cache_mode(WARM):
            top = import_top(one)
        if not args.quick:
            rows += tree_rows(ksql, corpus, symvers, config, args.repeat)
    print(section("ksql check", table(["what", "time", "note"], rows)))
    title = "Ten slowest imports of the warm one-module check (self time, median of 5)"
    print(section(title, table(["module", "self", "cumulative"], top)))
    return 0


def tree_rows(
    ksql: list[str], corpus: Path, symvers: Path, config: Path, repeat: int
) -> list[list[str]]:
    depmod = shutil.which("depmod") or "/usr/sbin/depmod"
    tree = [*ksql, "check", str(corpus / "modules"), "-s", str(symvers)]
    tree += ["--config", str(config), "-q"]
    rows = []
    times = {}
    t, proc = best_in(COLD, 1, lambda: run(tree))
    assert proc.returncode == 0 and not proc.stdout, (proc.returncode, proc.stdout[:500])
    times[COLD] = t
    if not Path(depmod).exists():
        times[WARM], proc = best_in(WARM, repeat, lambda: run(tree))
        assert proc.returncode == 0 and not proc.stdout, (proc.returncode, proc.stdout[:500])
        rows += [[f"check the 4,022-module tree ({m})", ms(times[m]), ""] for m in (COLD, WARM)]
        return rows
    root = Path(tempfile.mkdtemp(prefix="ksql-bench-depmod-"))
    (root / "lib/modules").mkdir(parents=True)
    (root / "lib/modules" / RELEASE).symlink_to(corpus / "modules")
    argv = [depmod, "-n", "-b", str(root), "-e", "-E", str(symvers), RELEASE]
    # Warm ksql and depmod alternate, run by run, so that this VM's drifts in speed (a
    # third within minutes) hit both alike; each side's best is kept.
    with cache_mode(WARM):
        run(tree)  # fills the cache
        best = {WARM: float("inf"), "depmod": float("inf")}
        for _ in range(repeat):
            for side, cmd in ((WARM, tree), ("depmod", argv)):
                t, proc = best_of(1, partial(run, cmd))
                best[side] = min(best[side], t)
                if side == WARM:
                    assert proc.returncode == 0 and not proc.stdout, proc.stdout[:500]
                else:
                    assert "disagrees" not in proc.stderr
                    assert "unknown symbol" not in proc.stderr
    shutil.rmtree(root)
    times[WARM], t_d = best[WARM], best["depmod"]
    rows += [[f"check the 4,022-module tree ({m})", ms(times[m]), ""] for m in (COLD, WARM)]
    rows.append(["depmod -n -e -E Module.symvers (same tree)", ms(t_d), "goal: ksql <= this"])
    for mode in (COLD, WARM):
        rows.append([f"ratio tree check ({mode}) / depmod", ratio(times[mode], t_d), ""])
    return rows


if __name__ == "__main__":
    sys.exit(main())
