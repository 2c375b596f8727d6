"""Macros that define symbols whose names the source text does not spell out: the table
``scripts/tags.sh`` teaches ctags (``regex_c``, 6.1), plus the names ``SYSCALL_DEFINEn``
expands to (include/linux/syscalls.h ``__SYSCALL_DEFINEx``: ``__se_sys_x`` and
``__do_sys_x``; ``sys_x`` is tags.sh's alias) and a few definition macros common in exported
code (``DEFINE_STATIC_CALL*`` in include/linux/static_call.h: ``__SCK__x`` and ``__SCT__x``;
``DEFINE_PER_CPU*`` in include/linux/percpu-defs.h; ``DEFINE_IDA``/``DEFINE_IDR``,
``DEFINE_SRCU``, ``DEFINE_STATIC_SRCU``, ``DEFINE_SPINLOCK``...), and the assembly
annotations of include/linux/linkage.h (``SYM_FUNC_START(name)``, ``SYM_CODE_START``,
``SYM_DATA_START``, ``SYM_FUNC_ALIAS(alias, name)``, the old ``ENTRY``; powerpc's
``_GLOBAL``).

Each entry: the macro, which argument names the symbol, the generated names as templates over
it, and whether they are functions or data.
"""

from __future__ import annotations

from ksql.values import frozen

__all__ = ["DEFINE_MACROS", "TRACEPOINT_MACROS", "TRACEPOINT_NAMES", "DefineMacro", "defines_of"]


@frozen
class DefineMacro:
    arg: int
    names: tuple[str, ...]
    function: bool


def _fn(*names: str, arg: int = 0) -> DefineMacro:
    return DefineMacro(arg, names, True)


def _var(*names: str, arg: int = 0) -> DefineMacro:
    return DefineMacro(arg, names, False)


_SYSCALL = _fn("sys_{}", "__se_sys_{}", "__do_sys_{}")
_COMPAT = _fn("compat_sys_{}", "__se_compat_sys_{}", "__do_compat_sys_{}")

DEFINE_MACROS: dict[str, DefineMacro] = {
    **{f"SYSCALL_DEFINE{n}": _SYSCALL for n in range(7)},
    **{f"COMPAT_SYSCALL_DEFINE{n}": _COMPAT for n in range(7)},
    **{f"BPF_CALL_{n}": _fn("{}") for n in range(6)},
    "TRACE_EVENT": _fn("trace_{}", "trace_{}_rcuidle"),
    "DEFINE_EVENT": _fn("trace_{}", "trace_{}_rcuidle", arg=1),
    "DEFINE_INSN_CACHE_OPS": _fn("get_{}_slot", "free_{}_slot"),
    "PAGEFLAG": _fn("Page{}", "SetPage{}", "ClearPage{}"),
    "TESTSETFLAG": _fn("TestSetPage{}"),
    "TESTPAGEFLAG": _fn("Page{}"),
    "SETPAGEFLAG": _fn("SetPage{}"),
    "__SETPAGEFLAG": _fn("__SetPage{}"),
    "TESTCLEARFLAG": _fn("TestClearPage{}"),
    "__TESTCLEARFLAG": _fn("TestClearPage{}"),
    "CLEARPAGEFLAG": _fn("ClearPage{}"),
    "__CLEARPAGEFLAG": _fn("__ClearPage{}"),
    "__PAGEFLAG": _fn("__SetPage{}", "__ClearPage{}"),
    "PAGEFLAG_FALSE": _fn("Page{}"),
    "TESTSCFLAG": _fn("TestSetPage{}", "TestClearPage{}"),
    "SETPAGEFLAG_NOOP": _fn("SetPage{}"),
    "CLEARPAGEFLAG_NOOP": _fn("ClearPage{}"),
    "__CLEARPAGEFLAG_NOOP": _fn("__ClearPage{}"),
    "TESTCLEARFLAG_FALSE": _fn("TestClearPage{}"),
    "PAGE_TYPE_OPS": _fn("Page{}", "__SetPage{}", "__ClearPage{}"),
    "TASK_PFA_TEST": _fn("task_{}", arg=1),
    "TASK_PFA_SET": _fn("task_set_{}", arg=1),
    "TASK_PFA_CLEAR": _fn("task_clear_{}", arg=1),
    "DEBUGGER_BOILERPLATE": _fn("{}"),
    "PCI_OP_READ": _fn("pci_bus_read_config_{}"),
    "PCI_OP_WRITE": _fn("pci_bus_write_config_{}"),
    **{
        m: _var("{}")
        for m in (
            "DEFINE_RT_MUTEX",
            "DEFINE_MUTEX",
            "DEFINE_SEMAPHORE",
            "DEFINE_SPINLOCK",
            "DEFINE_RAW_SPINLOCK",
            "DEFINE_RWLOCK",
            "DEFINE_SEQLOCK",
            "DECLARE_RWSEM",
            "DECLARE_COMPLETION",
            "DECLARE_BITMAP",
            "LIST_HEAD",
            "HLIST_HEAD",
            "LLIST_HEAD",
            "RADIX_TREE",
            "DECLARE_WAIT_QUEUE_HEAD",
            "DECLARE_TASKLET",
            "DECLARE_WORK",
            "DECLARE_DELAYED_WORK",
            "DEFINE_HASHTABLE",
            "DECLARE_HASHTABLE",
            "DEFINE_IDR",
            "DEFINE_IDA",
            "DEFINE_WD_CLASS",
            "ATOMIC_NOTIFIER_HEAD",
            "RAW_NOTIFIER_HEAD",
            "BLOCKING_NOTIFIER_HEAD",
            "SRCU_NOTIFIER_HEAD",
            "DECLARE_FAULT_ATTR",
            "DEFINE_STATIC_KEY_TRUE",
            "DEFINE_STATIC_KEY_FALSE",
            "DEFINE_STATIC_KEY_TRUE_RO",
            "DEFINE_STATIC_KEY_FALSE_RO",
            "DEFINE_SRCU",
            "DEFINE_STATIC_SRCU",
            "DEFINE_XARRAY",
            "DEFINE_XARRAY_ALLOC",
            "DEFINE_XARRAY_ALLOC1",
            "DEFINE_RATELIMIT_STATE",
            "DEFINE_STATIC_PERCPU_RWSEM",
            "DEFINE_PERCPU_RWSEM",
            "DEFINE_WW_CLASS",
        )
    },
    **{
        m: _var("{}", arg=1)
        for m in (
            "DEFINE_PER_CPU",
            "DEFINE_PER_CPU_SHARED_ALIGNED",
            "DEFINE_PER_CPU_READ_MOSTLY",
            "DEFINE_PER_CPU_ALIGNED",
            "DEFINE_PER_CPU_PAGE_ALIGNED",
            "DEFINE_PER_CPU_DECRYPTED",
            "DEFINE_PER_CPU_FIRST",
            "DEFINE_PER_CPU_USER_MAPPED",
            "DEFINE_PER_CPU_CACHE_HOT",
            "DEFINE_EARLY_PER_CPU",
            "DEFINE_EARLY_PER_CPU_READ_MOSTLY",
        )
    },
    **{
        m: _fn("{}")
        for m in (
            "ENTRY",
            "GLOBAL",
            "_GLOBAL",
            "SYM_FUNC_START",
            "SYM_FUNC_START_NOALIGN",
            "SYM_FUNC_START_LOCAL",
            "SYM_FUNC_START_LOCAL_NOALIGN",
            "SYM_FUNC_START_WEAK",
            "SYM_FUNC_START_WEAK_NOALIGN",
            "SYM_FUNC_START_ALIAS",
            "SYM_FUNC_START_LOCAL_ALIAS",
            "SYM_TYPED_FUNC_START",
            "SYM_FUNC_ALIAS",
            "SYM_FUNC_ALIAS_LOCAL",
            "SYM_FUNC_ALIAS_WEAK",
            "SYM_CODE_START",
            "SYM_CODE_START_NOALIGN",
            "SYM_CODE_START_LOCAL",
            "SYM_CODE_START_LOCAL_NOALIGN",
            "SYM_INNER_LABEL",
            "SYM_INNER_LABEL_ALIGN",
        )
    },
    **{
        m: _var("{}")
        for m in ("SYM_DATA_START", "SYM_DATA_START_LOCAL", "SYM_DATA", "SYM_DATA_LOCAL")
    },
    "DEVICE_ATTR_RW": _var("dev_attr_{}"),
    "DEVICE_ATTR_RO": _var("dev_attr_{}"),
    "DEVICE_ATTR_WO": _var("dev_attr_{}"),
    "DEVICE_ATTR": _var("dev_attr_{}"),
    "DRIVER_ATTR_RW": _var("driver_attr_{}"),
    "DRIVER_ATTR_RO": _var("driver_attr_{}"),
    "DRIVER_ATTR_WO": _var("driver_attr_{}"),
    "DEFINE_STATIC_CALL": _var("__SCK__{}", "__SCT__{}"),
    "DEFINE_STATIC_CALL_NULL": _var("__SCK__{}", "__SCT__{}"),
    "DEFINE_STATIC_CALL_RET0": _var("__SCK__{}", "__SCT__{}"),
}


def defines_of(macro: str, args: list[str]) -> tuple[list[str], bool]:
    """The names ``macro(args...)`` defines and whether they are functions; ``([], False)``
    for a macro not in the table or an argument that is no identifier."""
    rule = DEFINE_MACROS.get(macro)
    if rule is None or rule.arg >= len(args):
        return [], False
    arg = args[rule.arg].strip()
    if not arg.isidentifier():
        return [], False
    return [t.format(arg) for t in rule.names], rule.function


# Tracepoints: include/trace/define_trace.h turns each TRACE_EVENT(name, ...) (and DEFINE_EVENT
# (template, name, ...), DECLARE_TRACE(name, ...)) of a trace header into DEFINE_TRACE(name)
# in the one file that defines CREATE_TRACE_POINTS; include/linux/tracepoint.h
# DEFINE_TRACE_FN defines __tracepoint_<name>, __traceiter_<name> and the static call
# tp_func_<name> (__SCK__/__SCT__). The header line is the site these names have.
TRACEPOINT_MACROS: dict[str, int] = {
    "TRACE_EVENT": 0,
    "TRACE_EVENT_FN": 0,
    "TRACE_EVENT_FN_COND": 0,
    "TRACE_EVENT_CONDITION": 0,
    "DECLARE_TRACE": 0,
    "DECLARE_TRACE_CONDITION": 0,
    "DEFINE_EVENT": 1,
    "DEFINE_EVENT_FN": 1,
    "DEFINE_EVENT_CONDITION": 1,
    "DEFINE_EVENT_PRINT": 1,
}
TRACEPOINT_NAMES = ("__tracepoint_{}", "__traceiter_{}", "__SCK__tp_func_{}", "__SCT__tp_func_{}")
