"""The bulk resolution of a tree's imports (:mod:`ksql.check.bulk`) against the loader's
walk: a module it clears would get no finding from
:func:`~ksql.kernel.loader.resolve_imports`, on random kernels (owners proprietary or
missing a dependency, GPL-only and namespaced exports, CRCs equal, different or absent,
weak and missing symbols, GPL-compatible or proprietary modules)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ksql.check.bulk import TreeImports
from ksql.kernel.facts import Export, Import, KernelFacts, ModuleFacts
from ksql.kernel.loader import resolve_imports
from ksql.schema import INT_NONE

NAMES = [f"sym{i}" for i in range(6)]  # exported; "nowhere" is not
# Weighted towards clean imports, so that many modules are cleared and their walk is tried.
OWNERS = ["vmlinux", "vmlinux", "good", "blob", "orphan"]  # blob: proprietary; orphan: "gone"

exports = st.lists(
    st.tuples(
        st.sampled_from(OWNERS),
        st.booleans(),
        st.sampled_from(["", "", "", "NS"]),
        st.sampled_from([None, 1, 2]),
    ),
    min_size=len(NAMES),
    max_size=len(NAMES),
).map(lambda rows: dict(zip(NAMES, rows, strict=True)))
# (name, weak, the CRC recorded: K's own, another one or none)
imports = st.lists(
    st.tuples(
        st.sampled_from([*NAMES, "nowhere"]),
        st.booleans(),
        st.sampled_from(["same", "same", "same", "other", "none"]),
    ),
    max_size=4,
)
modules = st.lists(
    st.tuples(imports, st.sampled_from(["GPL", "Proprietary"]), st.booleans()),
    min_size=1,
    max_size=4,
)
Mods = list[tuple[list[tuple[str, bool, str]], str, bool]]


def _tree(
    mods: Mods, table: dict[str, tuple[str, bool, str, int | None]]
) -> tuple[list[ModuleFacts], TreeImports]:
    facts, names, weak, crcs, at = [], [], [], [], {}
    for i, (imps, lic, versions) in enumerate(mods):
        name = f"mod{i}"
        facts.append(ModuleFacts(f"/{name}.ko", name, license=lic, versions=versions))
        at[name] = slice(len(names), len(names) + len(imps))
        for n, w, how in imps:
            theirs = table[n][3] if n in table else None
            crc = {"same": theirs, "other": 7, "none": None}[how]
            names.append(n)
            weak.append(w)
            crcs.append(INT_NONE if crc is None else crc)
    return facts, TreeImports(names, np.array(weak, bool), np.array(crcs, np.int64), at)


@settings(max_examples=300, deadline=None)
@given(exports, modules)
def test_a_cleared_module_has_no_import_finding(
    table: dict[str, tuple[str, bool, str, int | None]], mods: Mods
) -> None:
    k = KernelFacts(
        exports={n: Export(n, o, g, ns, c) for n, (o, g, ns, c) in table.items()},
        proprietary=frozenset({"blob"}),
        depends={"orphan": ("gone",)},
        modules=frozenset({"good", "blob", "orphan"}),
        config={"CONFIG_MODVERSIONS": "y"},
    )
    facts, tree = _tree(mods, table)
    to_walk = tree.to_walk(facts, k)
    for mod in facts:
        full = ModuleFacts(
            mod.path,
            mod.name,
            license=mod.license,
            versions=mod.versions,
            imports=tree.of(mod.name),
        )
        assert all(isinstance(i, Import) for i in full.imports)
        if mod.name not in to_walk:
            assert resolve_imports(full, k) == []


def test_the_walk_is_asked_for_each_kind_of_trouble() -> None:
    k = KernelFacts(
        exports={
            "plain": Export("plain", crc=1),
            "gpl": Export("gpl", gpl=True, crc=1),
            "ns": Export("ns", namespace="NS", crc=1),
            "blob_fn": Export("blob_fn", owner="blob", crc=1),
        },
        proprietary=frozenset({"blob"}),
        modules=frozenset({"blob"}),
    )
    table = {n: ("vmlinux" if n != "blob_fn" else "blob", n == "gpl", "", 1) for n in k.exports}
    table["ns"] = ("vmlinux", False, "NS", 1)
    facts, tree = _tree(
        [
            ([("plain", False, "same"), ("gpl", False, "same")], "GPL", True),  # clean
            ([("plain", False, "other")], "GPL", True),  # CRC
            ([("gpl", False, "same")], "Proprietary", True),  # GPL-only, hidden
            ([("ns", False, "same")], "GPL", True),  # namespace
            ([("blob_fn", False, "same")], "GPL", True),  # proprietary owner
            ([("nowhere", True, "none")], "GPL", True),  # weak, missing: the walk says fine
            ([], "GPL", True),  # no imports
        ],
        table,
    )
    assert tree.to_walk(facts, k) == {"mod1", "mod2", "mod3", "mod4", "mod5"}
