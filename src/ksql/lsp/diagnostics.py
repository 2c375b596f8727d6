"""modpost's verdicts, before the build: for each kernel symbol a module source references,
whether the module could link and load (scripts/mod/modpost.c check_exports). The rules are
``ksql check``'s (:mod:`ksql.kernel.loader`: ``gpl_hidden``, ``verify_namespace``), applied to
what a source shows (no CRCs); like modpost, every rule a reference breaks is reported:

- ``not-exported``: it exists in the kernel but is not exported ("modpost: "x" [m.ko]
  undefined!");
- ``gpl-only``: a GPL-only export used by a module whose MODULE_LICENSE is not
  GPL-compatible (include/linux/license.h; "GPL-incompatible module m.ko uses GPL-only
  symbol 'x'");
- ``namespace``: a namespaced export used without MODULE_IMPORT_NS ("module m uses symbol x
  from namespace NS, but does not import it"); the quick fix adds the import.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ksql.catalog import Catalog
from ksql.kernel.loader import Export, KernelFacts, ModuleFacts, gpl_hidden, verify_namespace
from ksql.kernel.namespaces import allowed_modules
from ksql.lsp.csource import CFile, Span
from ksql.lsp.facts import NameFacts, facts

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
    license = cfile.license
    mod = ModuleFacts("", module or "", license=license, import_ns=tuple(cfile.imports))
    kernel = KernelFacts(exports={})
    known: dict[str, NameFacts | None] = {}
    out: list[Finding] = []
    for ref in cfile.references:
        if ref.name not in known:
            known[ref.name] = facts(catalog, ref.name)
        f = known[ref.name]
        if f is None:
            continue
        if not f.exported:
            if f.linkable_elsewhere:
                where = ", ".join(sorted({s.module for s in f.definitions}))
                out.append(
                    Finding(
                        ref.span,
                        NOT_EXPORTED,
                        f"'{ref.name}' is not exported ({where}): modules cannot link against "
                        f'it; modpost would stop with "{ref.name}" undefined',
                    )
                )
            continue
        exp = Export(ref.name, gpl=f.gpl_only, namespace=f.namespace)
        if license is not None and gpl_hidden(mod, exp):
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
        verdict = verify_namespace(mod, exp, kernel)
        allowed = allowed_modules(ns)
        if allowed is not None:
            if verdict is not None:
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
        if verdict is not None:
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
