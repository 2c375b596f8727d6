"""``ksql check``: read the modules, gather kernel K, apply the loader's rules
(:mod:`ksql.kernel.loadchecks`) and say, per module, whether it would load and what
insmod/modprobe would print.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ksql import values
from ksql.check.kpart import CatalogPart
from ksql.errors import KsqlError, SourceError
from ksql.kernel.facts import ERRNO, Finding, KernelFacts, ModuleFacts
from ksql.kernel.loadchecks import check_module
from ksql.values import frozen

if TYPE_CHECKING:
    from ksql.check.bulk import TreeImports  # numpy: only a tree's check needs it

# Checks made inside simplify_symbols(): it walks every symbol and returns the last error.
_SYMBOL_PHASE = frozenset(
    {
        "common-symbol",
        "unknown-symbol",
        "gpl-only",
        "proprietary-owner",
        "no-version",
        "no-versions",
        "crc-mismatch",
        "namespace",
        "module-namespace",
        "missing-dependency",
    }
)


@frozen
class Verdict:
    """One module's findings and the errno the load would fail with (0: it loads)."""

    module: ModuleFacts
    findings: tuple[Finding, ...]
    errno: int

    @property
    def loads(self) -> bool:
        return self.errno == 0

    @property
    def insmod(self) -> str:
        text = ERRNO.get(self.errno, ("", f"errno {self.errno}"))[1]
        return f"insmod: ERROR: could not insert module {Path(self.module.path).name}: {text}"

    @property
    def modprobe(self) -> str:
        """kmod tools/modprobe.c mod_strerror(): its own words for ENOEXEC and ENOENT,
        strerror() for the rest."""
        words = {
            8: "Invalid module format",
            2: "Unknown symbol in module, or unknown parameter (see dmesg)",
            22: "Invalid argument",
            1: "Operation not permitted",
            129: "Key was rejected by service",
        }
        return f"modprobe: ERROR: could not insert '{self.module.name}': {words[self.errno]}"


def load_errno(findings: Sequence[Finding]) -> int:
    """The errno init_module() returns: the first failing step's, where the symbol step
    (simplify_symbols) reports the last failing symbol's."""
    errors = [f for f in findings if f.severity == "error" and f.errno]
    if not errors:
        return 0
    first = errors[0]
    if first.check not in _SYMBOL_PHASE:
        return first.errno
    phase = [f for f in errors if f.check in _SYMBOL_PHASE]
    return phase[-1].errno


def judge(
    mod: ModuleFacts, k: KernelFacts, import_findings: list[Finding] | None = None
) -> Verdict:
    findings = check_module(mod, k, import_findings)
    errno = load_errno(findings)
    if not errno and any(f.severity == "error" for f in findings):
        errno = 8  # modpost-only errors (name length): the build stops, nothing to load
    return Verdict(mod, tuple(findings), errno)


def module_paths(targets: Sequence[str]) -> tuple[list[Path], list[Path]]:
    """(module files named one by one, directories of modules)."""
    files: list[Path] = []
    trees: list[Path] = []
    for t in targets:
        p = Path(t).expanduser()
        if p.is_dir():
            trees.append(p)
        elif p.is_file():
            files.append(p)
        else:
            raise SourceError(p, "no such file or directory")
    return files, trees


def read_modules(files: list[Path], *, probe: bool = False) -> tuple[list[ModuleFacts], list[str]]:
    """Each file's facts (``probe``: headers only) and the errors of those that failed."""
    from ksql.check.elfio import read_many

    facts: list[ModuleFacts] = []
    problems: list[str] = []
    for item in read_many(files, probe=probe):
        if isinstance(item, str):
            problems.append(item)
        else:
            facts.append(item)
    return facts, problems


def read_tree(
    tree: Path, plugins: Callable[[], object], use_cache: bool, stored: bool, blocked: Sequence[str]
) -> tuple[list[ModuleFacts], TreeImports, list[str]]:
    """Every module below ``tree``, their imports apart, and the files that could not be
    read: from the tree facts cache (``stored``: it may be used, :mod:`ksql.check.treestore`)
    or from the tree's catalog (the load cache) and a probe of each file's headers."""
    from ksql.check import treestore
    from ksql.check.elfio import module_files, one_look, tree_fingerprint
    from ksql.check.tree import facts_from_catalog
    from ksql.loading import load_catalog

    with one_look():
        key = treestore.key_for(tree, tree_fingerprint(tree), blocked) if stored else None
        found = treestore.load(key) if key is not None else None
        if found is not None:
            return (*found, [])
        catalog = load_catalog([f"elf:{tree}"], plugins(), use_cache=use_cache)  # type: ignore[arg-type]
    files = module_files(tree)
    if not files:
        raise SourceError(tree, "no kernel modules (*.ko, *.ko.xz, ...) below it")
    probes, problems = read_modules(files, probe=True)
    facts, imports = facts_from_catalog(catalog, probes)
    if key is not None and not problems:
        treestore.store(key, facts, imports)
    return facts, imports, problems


def run_check(
    targets: Sequence[str],
    specs: Sequence[str],
    *,
    config: str | None = None,
    btf: str | None = None,
    plugins: object | None = None,
    use_cache: bool = True,
    extra: Sequence[str] = (),
    blocked: Sequence[str] = (),
) -> tuple[list[Verdict], list[str], KernelFacts]:
    """Every module's verdict on K, the files that could not be read, and K. Without
    ``plugins``, they are loaded (``extra``, ``blocked``: ``--plugin``, ``--block``) only
    when the facts caches (:mod:`ksql.check.kstore`, :mod:`ksql.check.treestore`) cannot
    answer."""
    from ksql.check.kfiles import find_config, load_config, release_of, struct_module_size
    from ksql.check.kpart import assemble

    stored = use_cache and plugins is None and not extra
    loaded: list[object] = [] if plugins is None else [plugins]

    def plugins_now() -> object:
        if not loaded:
            loaded.append(_plugins(extra, blocked))
        return loaded[0]

    files, trees = module_paths(targets)
    facts, problems = read_modules(files)
    tree_facts: list[ModuleFacts] = []
    tree_imports: list[tuple[list[ModuleFacts], TreeImports]] = []
    for tree in trees:
        found, imports, failed = read_tree(tree, plugins_now, use_cache, stored, blocked)
        tree_facts += found
        tree_imports.append((found, imports))
        problems += failed
    if not facts and not tree_facts and problems:
        raise KsqlError(problems[0])
    part = _catalog_part(specs, loaded[0] if loaded else None, use_cache, stored, extra, blocked)
    all_specs = [*specs, *(str(t) for t in trees)]
    config_path = find_config(all_specs, config)
    release = release_of(config_path, all_specs)
    k = assemble(
        part,
        tree_facts,
        config=load_config(config_path),
        release=release,
        struct_size=struct_module_size(specs, btf),
    )
    verdicts = [judge(m, k) for m in facts]
    for found, imports in tree_imports:
        to_walk = imports.to_walk(found, k)
        for m in found:
            if m.name in to_walk:
                verdicts.append(judge(values.replace(m, imports=imports.of(m.name)), k))
            else:
                verdicts.append(judge(m, k, []))  # every import resolves cleanly
    return verdicts, problems, k


def _plugins(extra: Sequence[str], blocked: Sequence[str]) -> object:
    from ksql.pluginmanager import load_plugins

    return load_plugins(extra, blocked)


def _catalog_part(
    specs: Sequence[str],
    plugins: object | None,
    use_cache: bool,
    facts_cache: bool,
    extra: Sequence[str],
    blocked: Sequence[str],
) -> CatalogPart:
    """K as its sources say: from the facts cache when it has them (with the built-in
    plugins only), else loaded (through the load cache) and then stored there."""
    from ksql.check import kstore

    key = kstore.key_for(specs, blocked) if facts_cache else None
    part = kstore.load(key) if key is not None else None
    if part is not None:
        return part
    from ksql.check.kernel import catalog_part
    from ksql.loading import load_catalog

    if plugins is None:
        plugins = _plugins(extra, blocked)
    catalog = load_catalog(list(specs), plugins, use_cache=use_cache)  # type: ignore[arg-type]
    part = catalog_part(catalog)
    if key is not None:
        kstore.store(key, part)
    return part
