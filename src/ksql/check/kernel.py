"""Kernel K for ``ksql check``: its exports (from a loaded catalog and from module files
checked against each other), its configuration, its release and vermagic, and
``sizeof(struct module)`` from its BTF -- gathered into :class:`KernelFacts`.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ksql.catalog import Catalog
from ksql.kernel.kbuild import read_config
from ksql.kernel.licenses import license_is_gpl_compatible
from ksql.kernel.loadchecks import vermagic_of
from ksql.kernel.loader import Export, KernelFacts, ModuleFacts
from ksql.kernel.modinfo import modinfo_values
from ksql.kernel.modules import VMLINUX
from ksql.kernel.version import kernel_version
from ksql.model import ExportKind
from ksql.schema import INT_NONE
from ksql.storage import NameColumn

_GPL_CODES = [int(k) for k in ExportKind if k.gpl_only]
_RELEASE = re.compile(r"(?:/lib/modules/|config-|System\.map-|vmlinux-|linux-headers-)([^/\s]+)")


def take_names(column: NameColumn, rows: npt.NDArray[np.intp]) -> list[str]:
    """``column.take(rows)`` from two whole-array reads of the offsets: about five times
    faster for the ~250,000 names of a tree's imports."""
    blob = column.blob
    lo = (column.starts[rows] + 1).tolist()
    hi = column.starts[rows + 1].tolist()
    return [blob[a:b] for a, b in zip(lo, hi, strict=True)]


class CatalogExports(Mapping[str, Export]):
    """The export ``find_symbol()`` would find for each name: vmlinux's first (it searches
    the core kernel's tables before the module list), else the first module's. Built lazily:
    one dictionary of names, an :class:`Export` only for the names asked about (a module
    imports tens of the ~25,000 exports). ``extra`` (modules checked against each other)
    overrides."""

    def __init__(self, catalog: Catalog) -> None:
        cols = catalog.columns()
        export = cols["export"]
        rows = np.flatnonzero((export != 0) & ~cols["undefined"])
        vmlinux = catalog.modules.codes.get(VMLINUX, -1)
        rows = rows[np.argsort(cols["module"][rows] != vmlinux, kind="stable")]
        names = take_names(cols.name, rows)
        self._at = {n: i for i, n in reversed(list(enumerate(names)))}  # the first wins
        self._rows = rows
        self._catalog = catalog
        self._made: dict[str, Export] = {}
        self.extra: dict[str, Export] = {}

    def __getitem__(self, name: str) -> Export:
        found = self.extra.get(name) or self._made.get(name)
        if found is not None:
            return found
        i = self._at[name]
        r = int(self._rows[i])
        cols = self._catalog.columns()
        crc = int(cols["crc"][r])
        made = self._made[name] = Export(
            name,
            self._catalog.modules.strings[int(cols["module"][r])],
            int(cols["export"][r]) in _GPL_CODES,
            self._catalog.namespaces.strings[int(cols["namespace"][r])],
            None if crc == INT_NONE else crc,
        )
        return made

    def materialize(self) -> dict[str, Export]:
        """Every export as a plain dictionary, built from whole columns at once: for a tree,
        whose imports ask about most names."""
        cols = self._catalog.columns()
        rows = self._rows
        modules = self._catalog.modules.strings
        spaces = self._catalog.namespaces.strings
        names = take_names(cols.name, rows)
        gpl = np.isin(cols["export"][rows], _GPL_CODES).tolist()
        crcs = cols["crc"][rows].tolist()
        owners = cols["module"][rows].tolist()
        nss = cols["namespace"][rows].tolist()
        out: dict[str, Export] = {}
        for i, name in enumerate(names):
            if name not in out:
                c = crcs[i]
                out[name] = Export(
                    name, modules[owners[i]], gpl[i], spaces[nss[i]], None if c == INT_NONE else c
                )
        out.update(self.extra)
        return out

    def get(self, name: str, default: Export | None = None) -> Export | None:  # type: ignore[override]
        if name in self.extra:
            return self.extra[name]
        if name in self._made:
            return self._made[name]
        if name not in self._at:
            return default
        return self[name]

    def __contains__(self, name: object) -> bool:
        return name in self.extra or name in self._at

    def __iter__(self) -> Iterator[str]:
        yield from self.extra
        yield from (n for n in self._at if n not in self.extra)

    def __len__(self) -> int:
        return len(self._at) + sum(1 for n in self.extra if n not in self._at)


def find_config(specs: Sequence[str], given: str | None) -> Path | None:
    """K's configuration: ``given``; else a ``.config`` / ``include/config/auto.conf``
    beside a source (a headers or build tree), ``/boot/config-<release>`` for a source in
    ``/lib/modules/<release>`` or named ``*-<release>``; with no source, the running
    kernel's ``/boot/config-$(uname -r)``."""
    if given:
        return Path(given)
    candidates: list[Path] = []
    paths = [Path(s.split(":", 1)[1] if _typed(s) else s) for s in specs]
    for p in paths:
        folder = p if p.is_dir() else p.parent
        candidates += [folder / ".config", folder / "include/config/auto.conf"]
        if (folder / "build").is_dir():
            candidates += [folder / "build/.config", folder / "build/include/config/auto.conf"]
        m = _RELEASE.search(str(p.resolve() if p.exists() else p))
        if m:
            candidates.append(Path("/boot") / f"config-{m.group(1)}")
    if not specs:
        candidates.append(Path("/boot") / f"config-{os.uname().release}")
    return next((c for c in candidates if c.is_file()), None)


def _typed(spec: str) -> bool:
    name, sep, _ = spec.partition(":")
    return bool(sep) and "/" not in name and not Path(spec).exists()


def release_of(config_path: Path | None, specs: Sequence[str]) -> str | None:
    """K's release: ``include/config/kernel.release`` of a build tree, the ``-<release>``
    of ``config-<release>`` or a source path, else (no source) the running kernel's."""
    if config_path is not None:
        # include/config/auto.conf sits beside include/config/kernel.release (top Makefile).
        release_file = config_path.parent / "kernel.release"
        if config_path.name == "auto.conf" and release_file.is_file():
            return release_file.read_text().strip()
        if config_path.name.startswith("config-"):
            return config_path.name[len("config-") :]
    for s in specs:
        m = _RELEASE.search(s)
        if m:
            return m.group(1)
    return os.uname().release if not specs else None


def struct_module_size(specs: Sequence[str], btf: str | None) -> int | None:
    """``sizeof(struct module)`` from ``btf``, else a vmlinux or raw BTF among the sources,
    else (no source) the running kernel's ``/sys/kernel/btf/vmlinux``."""
    from ksql.check.elfio import struct_size

    paths = [btf] if btf else []
    for s in specs:
        p = s.split(":", 1)[1] if _typed(s) else s
        if Path(p).name.startswith("vmlinux") and Path(p).is_file():
            paths.append(p)
    if not specs and not btf:
        paths.append("/sys/kernel/btf/vmlinux")
    for p in paths:
        if Path(p).is_file():
            try:
                size = struct_size(Path(p), "module")
            except Exception:  # no .BTF in this vmlinux: another may have it
                continue
            if size is not None:
                return size
    return None


def kernel_facts(
    catalog: Catalog,
    tree: Iterable[ModuleFacts] = (),
    *,
    config: dict[str, str] | None = None,
    release: str | None = None,
    struct_size: int | None = None,
) -> KernelFacts:
    """K from a catalog plus module files that are part of K (a tree checked against
    itself: their exports, licences, ``depends`` and vermagic count)."""
    exports = CatalogExports(catalog)
    proprietary = set()
    depends: dict[str, tuple[str, ...]] = {}
    magics: Counter[str] = Counter()
    for module, info in catalog.module_info.items():
        if "license" in info and not license_is_gpl_compatible(info["license"][0]):
            proprietary.add(module)
        depends[module] = tuple(modinfo_values(info, "depends"))
        magics.update(info.get("vermagic", ())[:1])
    modules = {m for m in catalog.module_names() if m != VMLINUX}
    tree_given = False
    for mod in tree:
        tree_given = True
        modules.add(mod.name)
        depends[mod.name] = mod.depends
        if not mod.gpl_ok:
            proprietary.add(mod.name)
        if mod.vermagic:
            magics[mod.vermagic] += 1
        for e in mod.exports:
            # A module file of K is the truth about its own exports (depmod -E, too, takes
            # only vmlinux's CRCs from Module.symvers); of two modules, the first by name.
            have = exports.extra.get(e.name)
            core = e.name in exports and exports[e.name].owner == VMLINUX and have is None
            if (have is None or have.owner > mod.name) and not core:
                exports.extra[e.name] = e
    config = config or {}
    table: Mapping[str, Export] = exports.materialize() if tree_given else exports
    vermagic = magics.most_common(1)[0][0] if magics else None
    if vermagic is None and config and release:
        vermagic = vermagic_of(config, release)
    version = None
    if release:
        m = re.match(r"(\d+)\.(\d+)", release)
        version = (int(m.group(1)), int(m.group(2))) if m else None
    if version is None:
        version = kernel_version(catalog.module_info, catalog.source_labels.strings)
    # Debian's 6.1 kernels refuse a symbol without a __versions entry (its kernel/module/
    # version.c returns 0 after "no symbol version for"); upstream warns once and loads it.
    debian = "Debian" in config.get("CONFIG_CC_VERSION_TEXT", "")
    return KernelFacts(
        exports=table,
        proprietary=frozenset(proprietary),
        depends=depends,
        modules=frozenset(modules),
        config=config,
        version=version,
        vermagic=vermagic,
        struct_module_size=struct_size,
        missing_version_fatal=debian,
    )


def load_config(path: Path | None) -> dict[str, str]:
    return read_config(path) if path is not None else {}
