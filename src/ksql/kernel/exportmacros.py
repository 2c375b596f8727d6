"""Which source macros export which symbols, with which kind and namespace: the spellings of
``EXPORT_SYMBOL`` and the wrappers that expand to it, as one data table.

Each entry names the macro, the export kind it ends in, where its namespace comes from (a
fixed string, an argument, or the file's ``DEFAULT_SYMBOL_NAMESPACE``), and the names it
exports, as templates over its first argument (``{}``). Sources, as of the cited releases:

- include/linux/export.h: ``EXPORT_SYMBOL``, ``_GPL``, ``_NS``, ``_NS_GPL`` (namespace a bare
  identifier until 6.13, a string from cdd30ebb1b9f ("module: Convert symbol namespace to
  string literal")); ``EXPORT_SYMBOL_FOR_MODULES`` (6.16, 707f853d7fa3: GPL-only, namespace
  ``module:<list>``); ``EXPORT_SYMBOL_GPL_FUTURE``/``EXPORT_UNUSED_SYMBOL*`` until 5.13
  (367948220fce ("module: remove EXPORT_SYMBOL_GPL_FUTURE"), ee9e5a6a08cc ("module: remove
  EXPORT_UNUSED_SYMBOL*")); ``EXPORT_DATA_SYMBOL*`` (include/asm-generic/export.h, .S).
  ``DEFAULT_SYMBOL_NAMESPACE`` gives ``EXPORT_SYMBOL``/``_GPL`` their namespace
  (``_EXPORT_SYMBOL``).
- include/linux/percpu-defs.h: ``EXPORT_PER_CPU_SYMBOL*`` (``EXPORT_SYMBOL`` of the variable);
  arch/x86/include/asm/percpu.h ``EXPORT_EARLY_PER_CPU_SYMBOL``.
- include/linux/tracepoint.h: ``EXPORT_TRACEPOINT_SYMBOL*(x)`` exports ``__tracepoint_x``,
  ``__traceiter_x`` and ``EXPORT_STATIC_CALL*(tp_func_x)``.
- include/linux/static_call.h, static_call_types.h: ``EXPORT_STATIC_CALL*(x)`` exports the key
  ``__SCK__x`` and the trampoline ``__SCT__x``; the ``_TRAMP`` forms the trampoline only.
- include/linux/pm.h, pm_runtime.h: the ``EXPORT_*DEV_PM_OPS`` family exports the ops struct
  (``_EXPORT_DEV_PM_OPS``); include/linux/acpi.h ``EXPORT_SYMBOL_ACPI_LIB`` (namespace ACPI);
  include/kunit/visibility.h ``EXPORT_SYMBOL_IF_KUNIT`` (EXPORTED_FOR_KUNIT_TESTING);
  include/linux/indirect_call_wrapper.h ``EXPORT_INDIRECT_CALLABLE``; include/drm/drm_util.h
  ``EXPORT_SYMBOL_FOR_TESTS_ONLY``; net/wireless/wext-compat.h ``EXPORT_WEXT_HANDLER``;
  arch/x86/lib/retpoline.S ``EXPORT_THUNK(reg)`` (``__x86_indirect_thunk_<reg>``);
  arch/arm64/include/asm/assembler.h ``EXPORT_SYMBOL_NOKASAN``; arch/powerpc/include/asm/
  kasan.h ``EXPORT_SYMBOL_KASAN(fn)`` (``__fn``); rust/exports.c ``EXPORT_SYMBOL_RUST_GPL``.
"""

from __future__ import annotations

from ksql.model import ExportKind
from ksql.values import frozen

__all__ = ["DEFAULT", "EXPORT_MACROS", "ExportMacro", "exports_of"]

DEFAULT = -1  # namespace: the file's DEFAULT_SYMBOL_NAMESPACE
NONE = -2  # namespace: never one

E = ExportKind.EXPORT_SYMBOL
G = ExportKind.EXPORT_SYMBOL_GPL
TP = ("__tracepoint_{}", "__traceiter_{}", "__SCK__tp_func_{}", "__SCT__tp_func_{}")
SC = ("__SCK__{}", "__SCT__{}")


@frozen
class ExportMacro:
    """``names``: templates over the first argument; ``namespace``: an argument's index, a
    fixed string, :data:`DEFAULT` or :data:`NONE`; ``prefix`` goes before a fixed one."""

    kind: ExportKind
    names: tuple[str, ...] = ("{}",)
    namespace: int | str = DEFAULT
    prefix: str = ""


EXPORT_MACROS: dict[str, ExportMacro] = {
    "EXPORT_SYMBOL": ExportMacro(E),
    "EXPORT_SYMBOL_GPL": ExportMacro(G),
    "EXPORT_SYMBOL_NS": ExportMacro(E, namespace=1),
    "EXPORT_SYMBOL_NS_GPL": ExportMacro(G, namespace=1),
    "EXPORT_SYMBOL_FOR_MODULES": ExportMacro(G, namespace=1, prefix="module:"),
    "EXPORT_SYMBOL_GPL_FUTURE": ExportMacro(ExportKind.EXPORT_SYMBOL_GPL_FUTURE),
    "EXPORT_UNUSED_SYMBOL": ExportMacro(ExportKind.EXPORT_UNUSED_SYMBOL),
    "EXPORT_UNUSED_SYMBOL_GPL": ExportMacro(ExportKind.EXPORT_UNUSED_SYMBOL_GPL),
    "EXPORT_DATA_SYMBOL": ExportMacro(E),
    "EXPORT_DATA_SYMBOL_GPL": ExportMacro(G),
    "EXPORT_PER_CPU_SYMBOL": ExportMacro(E),
    "EXPORT_PER_CPU_SYMBOL_GPL": ExportMacro(G),
    "EXPORT_EARLY_PER_CPU_SYMBOL": ExportMacro(E),
    "EXPORT_TRACEPOINT_SYMBOL": ExportMacro(E, TP),
    "EXPORT_TRACEPOINT_SYMBOL_GPL": ExportMacro(G, TP),
    "EXPORT_STATIC_CALL": ExportMacro(E, SC),
    "EXPORT_STATIC_CALL_GPL": ExportMacro(G, SC),
    "EXPORT_STATIC_CALL_TRAMP": ExportMacro(E, ("__SCT__{}",)),
    "EXPORT_STATIC_CALL_TRAMP_GPL": ExportMacro(G, ("__SCT__{}",)),
    "EXPORT_DEV_PM_OPS": ExportMacro(E, namespace=NONE),
    "EXPORT_GPL_DEV_PM_OPS": ExportMacro(G, namespace=NONE),
    "EXPORT_NS_DEV_PM_OPS": ExportMacro(E, namespace=1),
    "EXPORT_NS_GPL_DEV_PM_OPS": ExportMacro(G, namespace=1),
    "EXPORT_SIMPLE_DEV_PM_OPS": ExportMacro(E, namespace=NONE),
    "EXPORT_GPL_SIMPLE_DEV_PM_OPS": ExportMacro(G, namespace=NONE),
    "EXPORT_NS_SIMPLE_DEV_PM_OPS": ExportMacro(E, namespace=3),
    "EXPORT_NS_GPL_SIMPLE_DEV_PM_OPS": ExportMacro(G, namespace=3),
    "EXPORT_RUNTIME_DEV_PM_OPS": ExportMacro(E, namespace=NONE),
    "EXPORT_GPL_RUNTIME_DEV_PM_OPS": ExportMacro(G, namespace=NONE),
    "EXPORT_NS_RUNTIME_DEV_PM_OPS": ExportMacro(E, namespace=4),
    "EXPORT_NS_GPL_RUNTIME_DEV_PM_OPS": ExportMacro(G, namespace=4),
    "EXPORT_SYMBOL_ACPI_LIB": ExportMacro(G, namespace="ACPI"),
    "EXPORT_SYMBOL_IF_KUNIT": ExportMacro(E, namespace="EXPORTED_FOR_KUNIT_TESTING"),
    "EXPORT_INDIRECT_CALLABLE": ExportMacro(E),
    "EXPORT_SYMBOL_FOR_TESTS_ONLY": ExportMacro(E),
    "EXPORT_WEXT_HANDLER": ExportMacro(G),
    "EXPORT_THUNK": ExportMacro(E, ("__x86_indirect_thunk_{}",)),
    "EXPORT_SYMBOL_NOKASAN": ExportMacro(E),
    "EXPORT_SYMBOL_KASAN": ExportMacro(E, ("__{}",)),
    "EXPORT_SYMBOL_RUST_GPL": ExportMacro(G),
}


def exports_of(
    macro: str, args: list[str], default_namespace: str = ""
) -> list[tuple[str, ExportKind, str]]:
    """``(name, kind, namespace)`` for each symbol ``macro(args...)`` exports; empty for a
    macro not in the table or an argument that is no identifier (a macro parameter pasted
    with ``##``). A namespace argument may be a bare identifier or a string literal."""
    rule = EXPORT_MACROS.get(macro)
    if rule is None or not args or not _is_name(args[0], rule.names):
        return []
    ns = rule.namespace
    if ns == DEFAULT:
        namespace = default_namespace
    elif ns == NONE:
        namespace = ""
    elif isinstance(ns, str):
        namespace = ns
    elif ns < len(args):
        namespace = rule.prefix + unquote(args[ns])
    else:
        return []
    return [(t.format(args[0]), rule.kind, namespace) for t in rule.names]


def _is_name(arg: str, names: tuple[str, ...]) -> bool:
    """An identifier; or, for templates that prefix it, one that starts with a digit
    (net/9p/client.c ``EXPORT_TRACEPOINT_SYMBOL(9p_fid_ref)``: ``__tracepoint_9p_fid_ref``)."""
    if arg.isidentifier():
        return True
    return ("_" + arg).isidentifier() and not any(t.startswith("{}") for t in names)


def unquote(text: str) -> str:
    """A namespace as written: ``"DMA_BUF"`` (6.13+) or ``DMA_BUF``; adjacent string
    literals join (``"module:" "kvm"``)."""
    text = text.strip()
    if '"' not in text:
        return text
    return "".join(text.split('"')[1::2])
