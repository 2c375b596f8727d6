"""modpost's verdicts, before the build: for each kernel symbol a module source references,
whether the module could link and load (scripts/mod/modpost.c check_exports). The rules are
``ksql check``'s (:mod:`ksql.kernel.loader`: ``gpl_hidden``, ``verify_namespace``), applied to
what a source shows (no CRCs); like modpost, every rule a reference breaks is reported:

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

from collections.abc import Set as AbstractSet

from ksql.catalog import Catalog
from ksql.kernel.facts import Export, KernelFacts, ModuleFacts
from ksql.kernel.loader import gpl_hidden, verify_namespace
from ksql.kernel.modules import VMLINUX, normalize_module_name
from ksql.kernel.namespaces import allowed_modules
from ksql.lsp.csource import CFile, Span
from ksql.lsp.facts import facts, kernel_facts
from ksql.lsp.membership import Membership
from ksql.model import Bind
from ksql.values import field, frozen

NOT_EXPORTED, GPL_ONLY, NAMESPACE = "not-exported", "gpl-only", "namespace"
CODE_MODULE_ONLY = "module-only"  # a diagnostic code, not the "module:" namespace prefix


@frozen
class Finding:
    span: Span
    code: str
    message: str
    data: dict[str, str] = field(default_factory=dict)


def diagnose(
    cfile: CFile,
    catalog: Catalog,
    module: str | None = None,
    member: Membership | None = None,
    disabled: AbstractSet[int] = frozenset(),
) -> list[Finding]:
    """``module``: the name of the module this file is part of, when known (its file stem
    is the guess for a one-file module). ``member``: where Kbuild (or compile_commands.json,
    or .ksql.toml) says the file is built -- a file built into vmlinux may use anything, a
    module's file anything its module defines; ``disabled``: lines the configuration
    compiles out (:mod:`ksql.lsp.ifdefs`), which get no diagnostics."""
    if member is not None and member.module is not None:
        if member.builtin:
            return []
        module = member.module
    elif not cfile.is_module:
        return []
    own = normalize_module_name(module) if member is not None and module else None
    imports = set(cfile.imports) | (member.imports if member is not None else set())
    summary = kernel_facts(catalog)
    license = cfile.license
    mod = ModuleFacts("", module or "", license=license, import_ns=tuple(sorted(imports)))
    kernel = KernelFacts(exports={})
    out: list[Finding] = []
    for ref in cfile.references:
        if ref.span.line in disabled:
            continue
        f = facts(catalog, ref.name)  # remembered per catalog
        if f is None or (own is not None and any(s.module == own for s in f.definitions)):
            continue  # its own module's symbols need no export
        if not f.exported:
            # In-tree code naming another module's unexported global is, in practice,
            # naming its own macro or inline of that name (i40e's rd32, rtw88's
            # rtw_read32): only vmlinux's unexported globals are reported there.
            in_tree_namesake = own is not None and all(
                s.module != VMLINUX for s in f.definitions if s.bind in (Bind.GLOBAL, Bind.WEAK)
            )
            if f.linkable_elsewhere and summary.exports_anything and not in_tree_namesake:
                where = ", ".join(sorted({s.module for s in f.definitions}))
                out.append(
                    Finding(
                        ref.span,
                        NOT_EXPORTED,
                        f"'{ref.name}' is not exported by {summary.release} ({where}): modules "
                        f'cannot link against it; modpost: "{ref.name}" undefined! (an error '
                        "with the kernel's Module.symvers; without it, or with "
                        f'KBUILD_MODPOST_WARN=1, a warning, and insmod fails: "Unknown symbol '
                        f'{ref.name}")',
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
