"""Which module a document is part of, and the kernel configuration it is built with --
what the diagnostics need to be right in-tree. First found wins:

1. **Kbuild**: the document lies in a kernel source tree (one the catalog was read from, or
   the tree around the file) with a configuration (``.config``, ``include/config/
   auto.conf``, ``KSQL_KCONFIG``): :func:`ksql.kernel.kbuild.module_of_file` says
   ``vmlinux`` or the module;
2. **compile_commands.json** (``scripts/clang-tools/gen_compile_commands.py`` writes it
   from the ``.cmd`` files): the file's command line has ``-DKBUILD_MODNAME=...``
   (scripts/Makefile.lib ``modname_flags``) and ``-DMODULE`` only when the object is part of
   a module (scripts/Makefile.build ``modkern_cflags``: ``KBUILD_CFLAGS_MODULE`` is
   ``-DMODULE``, top-level Makefile);
3. ``module = "name"`` (and ``kconfig = "path"``) in ``.ksql.toml`` at the workspace root.

Pure functions of paths (the file system is read, nothing else); the server caches the
answer per document.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shlex
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path

from ksql.catalog import Catalog
from ksql.kernel.kbuild import module_files, module_of_file, read_config
from ksql.kernel.modules import VMLINUX, normalize_module_name
from ksql.lsp.sites import tree_plugin
from ksql.values import field, frozen

COMPILE_COMMANDS = "compile_commands.json"
TOML = ".ksql.toml"
_MODNAME = re.compile(r"""-DKBUILD_MODNAME=\\?["']*\\?"?([\w-]+)""")
_IMPORT_NS = re.compile(rb"""^\s*MODULE_IMPORT_NS\(\s*"?(\w+)"?\s*\)""", re.M)


@frozen
class Membership:
    """``module``: ``vmlinux``, a module's name, or None when unknown. ``how`` says which
    rule answered; ``config`` is the configuration (empty when unknown); ``imports`` are
    the namespaces other files of the module import (MODULE_IMPORT_NS anywhere in it)."""

    module: str | None = None
    how: str = ""
    config: Mapping[str, str] = field(default_factory=dict)
    imports: frozenset[str] = frozenset()

    @property
    def builtin(self) -> bool:
        return self.module == VMLINUX


def membership(
    path: Path,
    trees: Sequence[Path] = (),
    workspace: Path | None = None,
    toml: Mapping[str, object] | None = None,
) -> Membership:
    """Where ``path`` (a ``.c`` file) is built: ``trees`` are the source trees the catalog
    was read from; ``toml`` the parsed ``.ksql.toml`` of ``workspace``."""
    path = path.resolve()
    config: Mapping[str, str] = {}
    for root in [*trees, *_enclosing_tree(path)]:
        try:
            rel = path.relative_to(root.resolve()).as_posix()
        except ValueError:
            continue
        config = _tree_config(root)
        if not config:
            continue
        module = module_of_file(root, rel, config)
        if module is not None:
            return Membership(module, "kbuild", config, _module_imports(root, module, config))
    found = compile_command_module(path, workspace)
    toml = toml or {}
    if not config and isinstance(toml.get("kconfig"), str):
        config = _read_config(str(toml["kconfig"]))
    if found is not None:
        return Membership(found, COMPILE_COMMANDS, config)
    if isinstance(toml.get("module"), str):
        return Membership(normalize_module_name(str(toml["module"])), ".ksql.toml", config)
    return Membership(None, "", config)


def _enclosing_tree(path: Path) -> list[Path]:
    plugin = tree_plugin()
    for parent in path.parents:
        if (parent / "Kbuild").is_file() and plugin.is_source_tree(parent):
            return [parent]
    return []


def _tree_config(root: Path) -> Mapping[str, str]:
    found = tree_plugin("index").find_config(root)
    return _read_config(str(found.path)) if found.path else {}


@functools.lru_cache(maxsize=8)
def _read_config(path: str) -> Mapping[str, str]:
    try:
        return read_config(Path(os.path.expanduser(path)))
    except OSError:
        return {}


def _module_imports(root: Path, module: str, config: Mapping[str, str]) -> frozenset[str]:
    """Namespaces any file of ``module`` imports: modpost checks the module, not the file
    (scripts/mod/modpost.c check_exports reads the module's ``import_ns`` modinfo)."""
    if module == VMLINUX:
        return frozenset()
    key = (str(root), module, len(config))
    cached = _IMPORTS.get(key)
    if cached is not None:
        return cached
    found: set[str] = set()
    for rel in module_files(root, module, config):
        try:
            found.update(m.decode() for m in _IMPORT_NS.findall((root / rel).read_bytes()))
        except OSError:
            continue
    _IMPORTS[key] = frozenset(found)
    return _IMPORTS[key]


_IMPORTS: dict[tuple[str, str, int], frozenset[str]] = {}


def compile_command_module(path: Path, workspace: Path | None = None) -> str | None:
    """``vmlinux`` or the module of ``path`` by its compile_commands.json entry (in a folder
    above the file, or the workspace's); None without one."""
    folders = [*path.parents]
    if workspace is not None:
        folders.append(workspace)
    for folder in folders:
        db = folder / COMPILE_COMMANDS
        if db.is_file():
            command = _commands(str(db), db.stat().st_mtime_ns).get(str(path))
            if command is not None:
                return module_from_command(command)
    return None


def module_from_command(command: str) -> str | None:
    """The module a kbuild compile command builds into: ``-DKBUILD_MODNAME`` with
    ``-DMODULE`` is a module; without ``-DMODULE`` the object is built in."""
    m = _MODNAME.search(command)
    if m is None:
        return None
    return normalize_module_name(m.group(1)) if " -DMODULE" in f" {command}" else VMLINUX


@functools.lru_cache(maxsize=2)
def _commands(db: str, mtime: int) -> dict[str, str]:
    """file -> command line, for one compile_commands.json version."""
    try:
        entries = json.loads(Path(db).read_text())
    except (OSError, ValueError):
        return {}
    out: dict[str, str] = {}
    for e in entries if isinstance(entries, list) else []:
        if not isinstance(e, dict) or "file" not in e:
            continue
        folder = Path(str(e.get("directory", "")))
        file = (folder / str(e["file"])).resolve()
        args = e.get("arguments")
        command = shlex.join(map(str, args)) if isinstance(args, list) else str(e.get("command"))
        out[str(file)] = command
    return out


def document_membership(catalog: Catalog | None, uri: str, workspace: Path | None) -> Membership:
    """:func:`membership` of an open document: the trees are the catalog's ``tree:``
    sources, the ``.ksql.toml`` the workspace's."""
    from pygls.uris import to_fs_path

    fs = to_fs_path(uri)
    if not fs:
        return Membership()
    trees = []
    if catalog is not None:
        trees = [Path(s[5:]) for s in catalog.source_labels.strings if s.startswith("tree:")]
    toml: dict[str, object] = {}
    if workspace is not None and (workspace / TOML).is_file():
        try:
            toml = tomllib.loads((workspace / TOML).read_text())
        except (OSError, UnicodeError, tomllib.TOMLDecodeError):
            toml = {}  # config.toml_sources reports a broken file once, at start-up
    if isinstance(toml.get("kconfig"), str):  # placeholders as in sources: $(uname -r), ~
        from ksql.lsp.config import expand
        from ksql.source import RunningKernel

        toml["kconfig"] = expand(str(toml["kconfig"]), RunningKernel.current(), workspace)
    return membership(Path(fs), trees, workspace, toml)
