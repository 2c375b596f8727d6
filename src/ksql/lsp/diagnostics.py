"""modpost's verdicts, before the build: for each kernel symbol a module source references,
whether the module could link and load (scripts/mod/modpost.c check_exports):

- ``not-exported``: it exists in the kernel but is not exported ("modpost: "x" [m.ko]
  undefined!"). An error while the kernel's Module.symvers is there; a warning without it or
  with KBUILD_MODPOST_WARN=1 (6.1 scripts/Makefile.modpost: ``ifneq
  ($(KBUILD_MODPOST_WARN)$(missing-input),)`` adds ``-w``; modpost.c check_exports), and
  then the module builds and ``insmod`` fails: "Unknown symbol x" (kernel/module/main.c
  resolve_symbol_wait). Not said at all when the kernel exports nothing (no ksymtab: a kernel
  built without modules); the server says that once instead;
- ``gpl-only``: a GPL-only export used by a module whose MODULE_LICENSE is not
  GPL-compatible (include/linux/license.h; "GPL-incompatible module m.ko uses GPL-only
  symbol 'x'");
- ``namespace``: a namespaced export used without MODULE_IMPORT_NS ("module m uses symbol x
  from namespace NS, but does not import it"); the quick fix adds the import.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ksql.catalog import Catalog
from ksql.kernel.licenses import license_is_gpl_compatible
from ksql.kernel.modules import normalize_module_name
from ksql.kernel.namespaces import allowed_modules
from ksql.lsp.csource import CFile, Span
from ksql.lsp.facts import NameFacts, facts, kernel_facts

NOT_EXPORTED, GPL_ONLY, NAMESPACE = "not-exported", "gpl-only", "namespace"
CODE_MODULE_ONLY = "module-only"  # a diagnostic code, not the "module:" namespace prefix


@dataclass(frozen=True, slots=True)
class Finding:
    span: Span
    code: str
    message: str
    data: dict[str, str] = field(default_factory=dict)


def diagnose(cfile: CFile, catalog: Catalog, module: str | None = None) -> list[Finding]:
    """``module``: the name of the module this file is part of, when known (its file stem
    is the guess for a one-file module)."""
    if not cfile.is_module:
        return []
    kernel = kernel_facts(catalog)
    license = cfile.license
    gpl_ok = None if license is None else license_is_gpl_compatible(license)
    known: dict[str, NameFacts | None] = {}
    out: list[Finding] = []
    for ref in cfile.references:
        if ref.name not in known:
            known[ref.name] = facts(catalog, ref.name)
        f = known[ref.name]
        if f is None:
            continue
        if not f.exported:
            if f.linkable_elsewhere and kernel.exports_anything:
                where = ", ".join(sorted({s.module for s in f.definitions}))
                out.append(
                    Finding(
                        ref.span,
                        NOT_EXPORTED,
                        f"'{ref.name}' is not exported by {kernel.release} ({where}): modules "
                        f'cannot link against it; modpost: "{ref.name}" undefined! (an error '
                        "with the kernel's Module.symvers; without it, or with "
                        f'KBUILD_MODPOST_WARN=1, a warning, and insmod fails: "Unknown symbol '
                        f'{ref.name}")',
                    )
                )
            continue
        if gpl_ok is False and f.gpl_only:
            kind = f.exports[0].export.label
            out.append(
                Finding(
                    ref.span,
                    GPL_ONLY,
                    f"'{ref.name}' is {kind}: a module licensed \"{license}\" (not GPL-compatible) "
                    "cannot use it; modpost: GPL-incompatible module uses GPL-only symbol",
                )
            )
        ns = f.namespace
        allowed = allowed_modules(ns)
        if allowed is not None:
            if module is None or normalize_module_name(module) not in allowed:
                out.append(
                    Finding(
                        ref.span,
                        CODE_MODULE_ONLY,
                        f"'{ref.name}' is exported only to the modules {', '.join(allowed)} "
                        f"({ns}); another module cannot use it, and importing that namespace is "
                        "refused",
                    )
                )
            continue
        if ns and ns not in cfile.imports:
            out.append(
                Finding(
                    ref.span,
                    NAMESPACE,
                    f"'{ref.name}' is exported in namespace {ns}, which this module does not "
                    f"import: add MODULE_IMPORT_NS({ns})",
                    {"namespace": ns},
                )
            )
    return out
