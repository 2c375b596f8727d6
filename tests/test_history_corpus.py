"""Fidelity on real Debian ABIs, each pair of consecutive ones: two 6.1 ABIs, the newest 6.1
to the newest 6.12, 6.12 to the newest 7.x (``scripts/fetch-corpus.sh`` caches their
Module.symvers in ``<corpus>/../history/<abi>/``; ``KSQL_HISTORY`` names another such
directory): ``ksql diff`` equals a ``sort``/``join``/``comm`` of the files for every change
kind, ``--policy suse`` fails exactly what ``ksymvers compare`` fails, and the Parquet
dataset answers "since when"."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ksql.cli import main

pytestmark = pytest.mark.corpus


def _abis() -> list[Path]:
    root = os.environ.get("KSQL_HISTORY")
    if not root and os.environ.get("KSQL_CORPUS"):
        root = str(Path(os.environ["KSQL_CORPUS"]).parent / "history")
    if not root:
        return []
    found = sorted(Path(root).glob("*/Module.symvers"), key=lambda p: _version(p.parent.name))
    return [p.parent for p in found]


def _version(abi: str) -> list[int]:
    """6.1.0-50-amd64 -> [6, 1, 0, 50]; 6.12.117+deb12-amd64 -> [6, 12, 117, 12]."""
    return [int(x) for x in re.findall(r"\d+", abi)]


def _pairs() -> list[tuple[Path, Path]]:
    """Consecutive ABIs of the cache: two 6.1 ABIs, 6.1 -> 6.12, 6.12 -> 7.x."""
    abis = [a / "Module.symvers" for a in _abis()]
    return list(pairwise(abis))


@pytest.fixture(scope="module", params=range(3), ids=["6.1", "6.1-to-6.12", "6.12-to-7"])
def pair(request: pytest.FixtureRequest) -> tuple[Path, Path]:
    pairs = _pairs()
    if len(pairs) <= request.param:
        pytest.skip("these ABIs' Module.symvers are not fetched: run scripts/fetch-corpus.sh")
    return pairs[request.param]


# name, crc, module, kind, namespace per line, sorted by name: what join and comm compare.
# A CRC of 0x00000000 is modpost's "none" (a kernel built without CONFIG_MODVERSIONS, as
# Debian's 7.x: scripts/mod/modpost.c write_dump prints s->crc, 0 unless crc_valid). A
# module is its file's name with "-" read as "_" (KBUILD_MODNAME): a module whose source
# directory moved (6.12's drivers/crypto/intel/qat/...) or whose file went from
# cros_ec_sensors_core to cros-ec-sensors-core (7.x) is the same module, not a move.
HAND = r"""
key() {
  awk -F'\t' '{print $2"\t"$1"\t"$3"\t"$4"\t"$5}' "$1" | LC_ALL=C sort -t"$(printf '\t')" -k1,1
}
key "$1" > old.k; key "$2" > new.k
cut -f1 old.k > old.n; cut -f1 new.k > new.n
LC_ALL=C comm -13 old.n new.n | sed 's/^/added /'
LC_ALL=C comm -23 old.n new.n | sed 's/^/removed /'
LC_ALL=C join -t"$(printf '\t')" old.k new.k | awk -F'\t' '
  $2 != $6 && $2 != "0x00000000" && $6 != "0x00000000" { print "crc " $1 }
  $4 == "EXPORT_SYMBOL" && $8 == "EXPORT_SYMBOL_GPL" { print "plain-to-gpl " $1 }
  $4 == "EXPORT_SYMBOL_GPL" && $8 == "EXPORT_SYMBOL" { print "gpl-to-plain " $1 }
  $5 == "" && $9 != "" { print "namespace-added " $1 }
  $5 != "" && $9 == "" { print "namespace-removed " $1 }
  $5 != "" && $9 != "" && $5 != $9 {
    if ($5 ~ /^module:/ && $9 ~ /^module:/) print "modules-changed " $1
    else print "namespace-changed " $1 }
  { m = $3; sub(/.*\//, "", m); gsub(/-/, "_", m); n = $7; sub(/.*\//, "", n); gsub(/-/, "_", n) }
  m != n { print "moved " $1 }'
"""


def run(*argv: str | Path) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([str(a) for a in argv])
    return code, out.getvalue()


def test_diff_equals_join_and_comm(pair: tuple[Path, Path], tmp_path: Path) -> None:
    hand = subprocess.run(
        ["sh", "-c", HAND, "hand", *map(str, pair)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    expected = sorted(tuple(line.split(" ")) for line in hand if line)
    code, out = run("diff", *pair, "-f", "json")
    got = sorted((c["kind"], c["name"]) for c in json.loads(out)["changes"])
    assert got == expected
    assert len(got) > 100 and code == 1  # Debian's ABI bumps change CRCs


def test_policy_suse_as_ksymvers(pair: tuple[Path, Path], tmp_path: Path) -> None:
    # ksymvers compare fails a removal, a CRC change and EXPORT_SYMBOL -> _GPL, per name.
    _, out = run("diff", *pair, "-f", "json")
    breaking = sorted(
        {
            c["name"]
            for c in json.loads(out)["changes"]
            if c["kind"] in ("removed", "crc", "plain-to-gpl")
        }
    )
    assert run("diff", *pair, "--policy", "suse", "-f", "symbols") == (
        1 if breaking else 0,
        "".join(n + "\n" for n in breaking),
    )
    rules = tmp_path / "severities"
    # "* PASS" alone is a NAMESPACE rule (all capitals: "*".upper() == "*"), as ksymvers
    # reads it: it tolerates only namespaced exports.
    rules.write_text("* PASS\n")
    assert run("diff", *pair, "--rules", rules)[0] == (1 if breaking else 0)
    rules.write_text("SYMBOL * PASS\n")
    code, short = run("diff", *pair, "-f", "short", "--rules", rules)
    assert code == 0 and short.splitlines()[-1].startswith("Changes tolerated by rules: ")


def test_since_when_over_parquet(pair: tuple[Path, Path], tmp_path: Path) -> None:
    for path in pair:
        abi = path.parent.name
        assert run("export", tmp_path, "-s", path, "--release", abi)[0] == 0
    _, out = run("diff", *pair, "-f", "json")
    added = [c["name"] for c in json.loads(out)["changes"] if c["kind"] == "added"]
    if not added:
        pytest.skip("no export added between these two ABIs")
    _, csv = run("history", tmp_path, f"name={added[0]} and exported", "--by", "name", "-f", "csv")
    first = csv.splitlines()[1].split(",")[2]
    assert first == pair[1].parent.name


def test_recipe_on_two_abis(pair: tuple[Path, Path], tmp_path: Path) -> None:
    """scripts/history-dataset.sh on the two cached ABIs (no download: the cache holds
    them) writes one Parquet file per ABI with the package version."""
    abis = [p.parent.name for p in pair]
    script = Path(__file__).parent.parent / "scripts" / "history-dataset.sh"
    env = os.environ | {
        "KSQL_HISTORY_ABIS": " ".join(abis),
        "KSQL": f"{sys.executable} -m ksql",
    }
    done = subprocess.run(
        ["sh", str(script), str(tmp_path / "ds"), str(pair[0].parent.parent)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert [line.split("/")[-3] for line in done.stdout.splitlines()] == [
        f"release={abi}" for abi in abis
    ]
    code, out = run("history", tmp_path / "ds", "exported", "-f", "csv")
    counts = [int(line.split(",")[2]) for line in out.splitlines()[1:]]
    assert code == 0 and counts == [len(p.read_text().splitlines()) for p in pair]
    version = (pair[1].parent / "version").read_text().strip()
    files = sorted((tmp_path / "ds").glob(f"release={abis[1]}/*/symbols.parquet"))
    assert pq.read_table(files[0], columns=["distro_version"])[0][0].as_py() == version
