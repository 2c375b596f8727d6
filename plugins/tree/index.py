"""A whole tree's sites: which files to scan, scanning them on every core, and turning the
sites into rows -- one per ``(module, name)`` for global symbols, one per file for static
ones -- with the module each file is built into (:mod:`ksql.kernel.kbuild`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ksql.kernel.definemacros import TRACEPOINT_NAMES
from ksql.kernel.exportmacros import exports_of
from ksql.kernel.kbuild import Kbuild, read_config, scan_kbuild, srcarch
from ksql.kernel.modules import VMLINUX
from ksql.model import Bind, ExportKind, Kind
from ksql.sink import RowSink

from .scan import FileSites, scan

# Top-level folders that hold no kernel symbols: user-space tools, docs, build scripts.
SKIP_TOP = frozenset(
    {"tools", "Documentation", "scripts", "samples", "usr", "LICENSES", ".git", "debian"}
)
SUFFIXES = (".c", ".S", ".h")
CHUNK = 256  # files per task


@dataclass(frozen=True, slots=True)
class TreeConfig:
    """A tree's configuration (``.config``, ``include/config/auto.conf`` or
    ``KSQL_KCONFIG``) and where it came from; empty when none was found."""

    values: dict[str, str] = field(default_factory=dict)
    path: str = ""


def find_config(root: Path) -> TreeConfig:
    candidates = [os.environ.get("KSQL_KCONFIG", "")]
    candidates += [str(root / ".config"), str(root / "include/config/auto.conf")]
    for c in candidates:
        if c and Path(c).is_file():
            return TreeConfig(read_config(Path(c)), c)
    return TreeConfig()


def source_files(root: Path, arch: str = "") -> list[str]:
    """Every ``.c``/``.S``/``.h`` below ``root`` (relative, sorted), without the folders of
    :data:`SKIP_TOP` nor other architectures' ``arch/*`` once the architecture is known."""
    found: list[str] = []
    base = len(str(root)) + 1
    for folder, dirs, files in os.walk(root):
        rel = folder[base:]
        if not rel:
            dirs[:] = [d for d in dirs if d not in SKIP_TOP]
        elif rel == "arch" and arch:
            dirs[:] = [d for d in dirs if d == arch]
        prefix = f"{rel}/" if rel else ""
        found.extend(prefix + f for f in files if f.endswith(SUFFIXES))
    found.sort()
    return found


def fingerprint(root: Path) -> str:
    """The scanned files' paths, sizes and modification times, the Makefiles' and the
    configuration's, hashed: a tree's cache key."""
    config = find_config(root)
    digest = hashlib.sha1(config.path.encode())
    extra = [config.path] if config.path else []
    for rel in source_files(root, srcarch(config.values)) + extra:
        try:
            st = os.stat(root / rel)
        except OSError:
            continue
        digest.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    for folder, dirs, files in os.walk(root):
        if folder == str(root):
            dirs[:] = [d for d in dirs if d not in SKIP_TOP]
        for f in files:
            if f in ("Makefile", "Kbuild"):
                st = os.stat(os.path.join(folder, f))
                digest.update(f"{folder}/{f}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _scan_chunk(args: tuple[str, list[str]]) -> list[FileSites]:
    root, paths = args
    out = []
    for rel in paths:
        try:
            with open(os.path.join(root, rel), "rb") as f:
                data = f.read()
        except OSError:
            continue
        out.append(scan(rel, data, headers=rel.endswith(".h")))
    return out


def scan_files(
    root: Path, files: list[str], progress: Callable[[int], None] | None = None
) -> Iterator[FileSites]:
    """Every file's sites, on all cores."""
    chunks = [(str(root), files[i : i + CHUNK]) for i in range(0, len(files), CHUNK)]
    workers = min(len(os.sched_getaffinity(0)), len(chunks)) or 1
    if workers <= 1:
        results: Iterator[list[FileSites]] = map(_scan_chunk, chunks)
        for chunk, sites in zip(chunks, results, strict=True):
            if progress:
                progress(len(chunk[1]))
            yield from sites
        return
    import multiprocessing
    import threading
    from concurrent.futures import ProcessPoolExecutor

    # As plugins/elf/files.py: fork only from a single-threaded process.
    context = multiprocessing.get_context("fork" if threading.active_count() == 1 else "forkserver")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        for chunk, sites in zip(chunks, pool.map(_scan_chunk, chunks), strict=True):
            if progress:
                progress(len(chunk[1]))
            yield from sites


@dataclass(slots=True)
class _Row:
    module: str
    name: str
    bind: Bind = Bind.UNKNOWN
    kind: Kind = Kind.UNKNOWN
    export: ExportKind = ExportKind.NONE
    namespace: str = ""
    exported_at: str = ""
    defined_at: str = ""
    declared_at: str = ""


class RowBuilder:
    """Sites to rows. ``modules`` maps a built file to its module; with ``strict`` (a
    configuration is known) sites in files that are not built are left out."""

    def __init__(self, kbuild: Kbuild, strict: bool, declarations_only: bool = False) -> None:
        self.kbuild = kbuild
        self.files = dict(kbuild.files)
        self.wrappers: dict[str, tuple[list[str], str, list[str]]] = {}
        self.strict = strict
        self.declarations_only = declarations_only
        self.globals: dict[tuple[str, str], _Row] = {}
        self.statics: dict[tuple[str, str, str], _Row] = {}
        self.declared: dict[str, str] = {}
        self.tracepoints: dict[str, str] = {}

    def learn_wrappers(self, scanned: list[FileSites]) -> None:
        """Every file's export wrapper definitions (first one wins)."""
        for sites in scanned:
            for name, rule in sites.wrappers.items():
                self.wrappers.setdefault(name, rule)

    def unwrap(self, sites: FileSites) -> None:
        """Exports through wrapper macros, expanded (up to three wrappers deep)."""
        for macro, args, line, col in sites.wrapped:
            name, values = macro, args
            for _ in range(3):
                rule = self.wrappers.get(name)
                if rule is None:
                    break
                params, name, target_args = rule
                bound = dict(zip(params, values, strict=False))
                values = [bound.get(a, a) for a in target_args]
                found = exports_of(name, values, sites.default_namespace or "\0")
                if found:
                    for symbol, kind, ns in found:
                        is_default = ns == "\0"
                        sites.exports.append(
                            (symbol, line, col, int(kind), "" if is_default else ns, is_default)
                        )
                    break

    def learn_includes(self, scanned: list[FileSites]) -> None:
        """A ``.c`` file, or a header beside it, that a built file includes is built into
        the same module (kernel/sched/build_policy.c includes idle.c, kernel/rcu/update.c
        includes tasks.h)."""
        for _ in range(3):  # included files include others
            for sites in scanned:
                module = self.files.get(sites.path)
                if module is None:
                    continue
                folder = sites.path.rpartition("/")[0]
                for inc in sites.includes:
                    rel = os.path.normpath(f"{folder}/{inc}" if folder else inc)
                    self.files.setdefault(rel, module)

    def module_of(self, path: str) -> str | None:
        module = self.files.get(path)
        if module is None and not self.strict:
            return VMLINUX
        return module

    def add(self, sites: FileSites) -> None:
        path = sites.path
        for name, line, col in sites.declarations:
            self.declared.setdefault(name, f"{path}:{line}:{col}")
        for name, line, col in sites.tracepoints:
            for template in TRACEPOINT_NAMES:
                self.tracepoints.setdefault(template.format(name), f"{path}:{line}:{col}")
        if not (sites.exports or sites.definitions):
            return
        if path.endswith(".h") and path not in self.files:
            return  # exports in a header count in the .c files that include it locally
        module = self.module_of(path)
        if module is None:
            return
        for name, line, col, function, static in sites.definitions:
            site = f"{path}:{line}:{col}"
            if static:
                row = self.statics.setdefault((module, name, path), _Row(module, name))
                row.bind = Bind.LOCAL
            else:
                row = self.globals.setdefault((module, name), _Row(module, name))
                row.bind = Bind.GLOBAL
            if not row.defined_at:
                row.defined_at = site
                row.kind = Kind.FUNCTION if function else Kind.OBJECT
        namespace = self._default_namespace(path)
        for name, line, col, kind, ns, is_default in sites.exports:
            row = self.statics.get((module, name, path)) or self.globals.setdefault(
                (module, name), _Row(module, name)
            )
            if row.exported_at:
                continue
            row.exported_at = f"{path}:{line}:{col}"
            row.export = ExportKind(kind)
            row.namespace = namespace if is_default else ns

    def _default_namespace(self, path: str) -> str:
        folder = path.rpartition("/")[0]
        return self.kbuild.namespaces.get(folder, "")

    def emit(self, sink: RowSink, symbol_modules: dict[str, str] | None = None) -> int:
        rows = list(self.globals.values()) + list(self.statics.values())
        for row in rows:
            if row.bind is not Bind.LOCAL:
                row.declared_at = self.declared.get(row.name, "")
            if not row.defined_at and row.name in self.tracepoints:
                row.defined_at = self.tracepoints[row.name]
                row.kind = Kind.OBJECT if row.name.startswith("__tracepoint_") else Kind.FUNCTION
        if self.declarations_only:
            have = {r.name for r in rows}
            modules = symbol_modules or {}
            for name, site in self.declared.items():
                if name not in have:
                    rows.append(_Row(modules.get(name, VMLINUX), name, declared_at=site))
        if not rows:
            return 0
        sink.extend(
            [r.name for r in rows],
            module=[r.module for r in rows],
            bind=[int(r.bind) for r in rows],
            kind=[int(r.kind) for r in rows],
            export=[int(r.export) for r in rows],
            namespace=[r.namespace for r in rows],
            exported_at=[r.exported_at for r in rows],
            defined_at=[r.defined_at for r in rows],
            declared_at=[r.declared_at for r in rows],
        )
        return len(rows)


def index_tree(
    root: Path,
    sink: RowSink,
    *,
    declarations_only: bool = False,
    label: str = "scanning",
    config: TreeConfig | None = None,
    symbol_modules: dict[str, str] | None = None,
) -> None:
    """Scan the tree at ``root`` into ``sink``; a headers tree (``declarations_only``)
    names each declared symbol's module from ``symbol_modules`` (its Module.symvers)."""
    from ..elf.files import Progress

    config = config or find_config(root)
    arch = srcarch(config.values)
    if config.path and not declarations_only:
        kbuild = scan_kbuild(root, config.values)
    elif declarations_only:
        kbuild = Kbuild()
    else:
        kbuild = Kbuild()
        sink.note(
            f"{root}: no kernel configuration (.config, include/config/auto.conf or "
            "KSQL_KCONFIG): every file counts, in vmlinux"
        )
    files = source_files(root, arch)
    if config.path and not declarations_only:
        # Built files, and the .c files beside them that a built file may #include.
        folders = {f.rpartition("/")[0] for f in kbuild.files}
        files = [
            f
            for f in files
            if f.endswith(".h") or f in kbuild.files or f.rpartition("/")[0] in folders
        ]
    builder = RowBuilder(kbuild, strict=bool(config.path), declarations_only=declarations_only)
    progress = Progress(len(files), f"{label} {len(files)} files")
    try:
        scanned = list(scan_files(root, files, progress))
    finally:
        progress.close()
    builder.learn_includes(scanned)
    builder.learn_wrappers(scanned)
    for sites in scanned:
        builder.unwrap(sites)
        builder.add(sites)
    builder.emit(sink, symbol_modules)


def symvers_modules(root: Path) -> dict[str, str]:
    """name -> module from a headers tree's ``Module.symvers`` (Debian ships it there)."""
    from ksql.kernel.modules import normalize_module_name

    path = root / "Module.symvers"
    out: dict[str, str] = {}
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return out
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) >= 3:
            out[parts[1]] = normalize_module_name(parts[2])
    return out
