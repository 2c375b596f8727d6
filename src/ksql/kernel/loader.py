"""Will a module link and load on kernel K: the verdicts of the kernel's module loader and of
modpost, as pure functions over plain facts (what the module holds, what K exports).

Per undefined symbol, one verdict in the order kernel/module/main.c ``resolve_symbol()``
reaches it (6.1 and later alike):

1. ``find_symbol()`` -- not exported anywhere in K: unknown. A GPL-only export is skipped for
   a module whose licence is not GPL-compatible (``find_exported_symbol_in_section``:
   ``!fsa->gplok && syms->license == GPL_ONLY``; the proprietary taint is set before, by
   ``module_license_taint_check``/``set_license``), so the kernel prints the very same
   ``Unknown symbol x (err -2)`` for both.
2. ``inherit_taint()`` -- a module already using GPL-only symbols may not use a proprietary
   module's exports.
3. ``check_version()`` (kernel/module/version.c) -- the CRC the module was built against
   (``__versions``, or 6.14's ``__version_ext_crcs``/``__version_ext_names``) must equal K's.
4. ``verify_namespace_is_imported()`` -- a namespaced export needs ``MODULE_IMPORT_NS``; a
   ``module:`` namespace (6.16+, 520b1a147d91 ("module: Add module specific symbol namespace
   support")) admits the named modules only.
5. ``ref_module()`` -- the owner must be loaded: modprobe loads it and its ``depends`` first.

Weak undefined symbols that stay unresolved are fine (``simplify_symbols``). Whole-module
checks are in :mod:`ksql.kernel.loadchecks`; the facts both read, in :mod:`ksql.kernel.facts`.
"""

from __future__ import annotations

from ksql.kernel.facts import Export, Finding, Import, KernelFacts, ModuleFacts
from ksql.kernel.modules import VMLINUX, normalize_module_name
from ksql.kernel.namespaces import MODULE_PREFIX, module_matches

__all__ = [
    "gpl_hidden",
    "owner_ready",
    "resolve_imports",
    "resolve_symbol",
    "verify_namespace",
]


def gpl_hidden(mod: ModuleFacts, exp: Export) -> bool:
    """find_exported_symbol_in_section(): a GPL-only export is not found for a module whose
    licence is not GPL-compatible (modpost: "GPL-incompatible module uses GPL-only symbol")."""
    return exp.gpl and not mod.gpl_ok


def _unknown(mod: ModuleFacts, name: str, err: int) -> str:
    """simplify_symbols(): the line every unresolved, non-weak symbol ends in."""
    return f"{mod.name}: Unknown symbol {name} (err -{err})"


def resolve_imports(mod: ModuleFacts, k: KernelFacts) -> list[Finding]:
    """One finding per import that would not resolve cleanly, in symbol-table order."""
    out: list[Finding] = []
    using_gplonly = False
    gpl_ok = mod.gpl_ok
    exports = k.exports
    for imp in mod.imports:
        exp = exports.get(imp.name)
        if (
            exp is not None
            and exp.crc == imp.crc
            and not exp.namespace
            and (gpl_ok or not exp.gpl)
            and owner_ready(exp.owner, k)
        ):
            # The common case, cleanly resolved (resolve_symbol would say None): skip the
            # full walk.
            using_gplonly = using_gplonly or exp.gpl
            continue
        found = resolve_symbol(mod, imp, k, using_gplonly)
        if exp is not None and exp.gpl and gpl_ok:
            using_gplonly = True
        if found is not None:
            out.append(found)
    return out


def owner_ready(owner: str, k: KernelFacts) -> bool:
    """Nothing about the export's owner that resolve_symbol() objects to: vmlinux, or a
    module that is not proprietary and whose whole ``depends`` chain K has."""
    return owner == VMLINUX or (owner not in k.proprietary and not _chain_missing(owner, k))


def _chain_missing(owner: str, k: KernelFacts) -> bool:
    found = k.chains.get(owner)
    if found is None:
        found = k.chains[owner] = tuple(missing_chain(owner, k))
    return bool(found)


def resolve_symbol(
    mod: ModuleFacts, imp: Import, k: KernelFacts, using_gplonly: bool = False
) -> Finding | None:
    """The loader's verdict on one undefined symbol (None: it resolves cleanly)."""
    exp = k.exports.get(imp.name)
    if exp is None or gpl_hidden(mod, exp):
        if imp.weak:
            return None  # simplify_symbols: "Ok if weak"
        if exp is None:
            return Finding(
                "unknown-symbol",
                "error",
                f"'{imp.name}' is not exported by K",
                imp.name,
                modpost=f'ERROR: modpost: "{imp.name}" [{mod.label}] undefined!',
                dmesg=(_unknown(mod, imp.name, 2),),
                errno=2,
                fix="not exported in K: use another interface, or build against K's headers "
                "to see what K offers",
            )
        return Finding(
            "gpl-only",
            "error",
            f"'{imp.name}' is EXPORT_SYMBOL_GPL and the module's licence "
            f'"{mod.license or "unspecified"}" is not GPL-compatible: the loader does not '
            "see GPL-only exports for it, and only says the symbol is unknown",
            imp.name,
            modpost=f"ERROR: modpost: GPL-incompatible module {mod.label} uses GPL-only "
            f"symbol '{imp.name}'",
            dmesg=(_unknown(mod, imp.name, 2),),
            errno=2,
            fix=f'MODULE_LICENSE("GPL") (if the code is GPL-compatible), or stop using {imp.name}',
        )
    if exp.owner in k.proprietary:
        if using_gplonly:
            return Finding(
                "proprietary-owner",
                "error",
                f"'{imp.name}' comes from the proprietary module {exp.owner}, and this module "
                "already uses GPL-only symbols",
                imp.name,
                dmesg=(
                    f"{mod.name}: module using GPL-only symbols uses symbols {imp.name} from "
                    f"proprietary module {exp.owner}.",
                    _unknown(mod, imp.name, 2),
                ),
                errno=2,
            )
        if mod.gpl_ok:
            return Finding(
                "proprietary-owner",
                "warning",
                f"'{imp.name}' comes from the proprietary module {exp.owner}: this module "
                "inherits its taint",
                imp.name,
                dmesg=(
                    f"{mod.name}: module uses symbols {imp.name} from proprietary module "
                    f"{exp.owner}, inheriting taint.",
                ),
            )
    found = check_version(mod, imp, exp, k)
    if found is not None:
        return found
    found = verify_namespace(mod, exp, k)
    if found is not None:
        return found
    return ref_module(mod, exp, k)


def check_version(mod: ModuleFacts, imp: Import, exp: Export, k: KernelFacts) -> Finding | None:
    """kernel/module/version.c check_version(): K's CRC against the module's record."""
    if exp.crc is None:
        return None  # "Exporting module didn't supply crcs?  OK, we're already tainted."
    if not mod.versions:
        return _force_load(mod, imp.name, k)
    if imp.crc is None:
        fatal = k.missing_version_fatal
        return Finding(
            "no-version",
            "error" if fatal else "warning",
            f"the module has no CRC for '{imp.name}' (K has {exp.crc:#010x})"
            + ("" if fatal else "; upstream kernels warn once and load it"),
            imp.name,
            modpost=f'WARNING: modpost: "{imp.name}" [{mod.label}] has no CRC!',
            dmesg=(f"{mod.name}: no symbol version for {imp.name}",)
            + ((_unknown(mod, imp.name, 22),) if fatal else ()),
            errno=22 if fatal else 0,
            fix="rebuild against K's headers and Module.symvers",
        )
    if imp.crc != exp.crc:
        return Finding(
            "crc-mismatch",
            "error",
            f"'{imp.name}': the module was built against CRC {imp.crc:#010x}, K "
            f"({exp.owner}) has {exp.crc:#010x}",
            imp.name,
            dmesg=(
                f"{mod.name}: disagrees about version of symbol {imp.name}",
                _unknown(mod, imp.name, 22),
            ),
            errno=22,
            fix="rebuild against K's headers and Module.symvers",
        )
    return None


def _force_load(mod: ModuleFacts, reason: str, k: KernelFacts) -> Finding:
    """try_to_force_load(): with CONFIG_MODULE_FORCE_LOAD a taint, else -ENOEXEC."""
    forced = k.enabled("CONFIG_MODULE_FORCE_LOAD")
    if forced:
        return Finding(
            "no-versions",
            "warning",
            f"the module has no __versions but K checks CRCs ('{reason}'): "
            "CONFIG_MODULE_FORCE_LOAD lets it in, tainted",
            reason,
            dmesg=(f"{mod.name}: {reason}: kernel tainted.",),
            fix="rebuild with CONFIG_MODVERSIONS, against K's headers",
        )
    return Finding(
        "no-versions",
        "error",
        f"the module has no __versions but K checks CRCs ('{reason}')",
        reason,
        dmesg=(_unknown(mod, reason, 22),),
        errno=22,
        fix="rebuild with CONFIG_MODVERSIONS, against K's headers",
    )


def verify_namespace(mod: ModuleFacts, exp: Export, k: KernelFacts) -> Finding | None:
    """verify_namespace_is_imported(): a namespaced export needs ``import_ns``; a
    ``module:`` namespace admits the modules it names (tail globs, ``-`` = ``_``)."""
    ns = exp.namespace
    if not ns:
        return None
    restricted = ns.startswith(MODULE_PREFIX)
    if restricted and module_matches(ns, mod.name):
        return None
    if not restricted and ns in mod.import_ns:
        return None
    allowed = k.enabled("CONFIG_MODULE_ALLOW_MISSING_NAMESPACE_IMPORTS")
    line = (
        f"{mod.name}: module uses symbol ({exp.name}) from namespace {ns}, but does not import it."
    )
    modpost = (
        f"{'WARNING' if allowed else 'ERROR'}: modpost: module {mod.name} uses symbol "
        f"{exp.name} from namespace {ns}, but does not import it."
    )
    if restricted:
        return Finding(
            "module-namespace",
            "warning" if allowed else "error",
            f"'{exp.name}' is exported only to the modules {ns[len(MODULE_PREFIX) :]} "
            f"({ns}); {mod.name} is not one of them",
            exp.name,
            modpost=modpost,
            dmesg=(line,) if allowed else (line, _unknown(mod, exp.name, 22)),
            errno=0 if allowed else 22,
            fix="none for another module: the export is private to those modules",
        )
    new_style = k.version is None or k.version >= (6, 13)
    arg = f'"{ns}"' if new_style else ns
    return Finding(
        "namespace",
        "warning" if allowed else "error",
        f"'{exp.name}' is in namespace {ns}, which the module does not import",
        exp.name,
        modpost=modpost,
        dmesg=(line,) if allowed else (line, _unknown(mod, exp.name, 22)),
        errno=0 if allowed else 22,
        fix=f"MODULE_IMPORT_NS({arg});",
    )


def ref_module(mod: ModuleFacts, exp: Export, k: KernelFacts) -> Finding | None:
    """ref_module(): the owner must be loaded; modprobe loads it and its ``depends`` first,
    so each module on the chain must exist in K."""
    if exp.owner == VMLINUX or not k.modules:
        return None
    if not _chain_missing(exp.owner, k):
        return None
    missing = k.chains[exp.owner]
    if not missing:
        return None
    return Finding(
        "missing-dependency",
        "error",
        f"'{exp.name}' comes from {exp.owner}, which needs {', '.join(missing)}: not in K",
        exp.name,
        dmesg=(_unknown(mod, exp.name, 2),),
        errno=2,
        fix=f"install {', '.join(missing)}",
    )


def missing_chain(owner: str, k: KernelFacts) -> list[str]:
    """Modules on ``owner``'s ``depends`` chain (owner included) that K does not have."""
    missing: list[str] = []
    seen: set[str] = set()
    todo = [owner]
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.add(m)
        if m not in k.modules:
            missing.append(m)
            continue
        # modpost writes depends= with the file's spelling (usb-common); names use '_'.
        todo.extend(normalize_module_name(d) for d in k.depends.get(m, ()))
    return sorted(missing)
