"""Why a kernel symbol has no BTF declaration: BTF is what pahole (dwarves'
``btf_encoder.c``) encodes from DWARF at build time (scripts/link-vmlinux.sh
``gen_btf``, scripts/Makefile.modfinal for modules), and it leaves out whole classes of
symbols. One rule, in the order the reasons are told apart:

- no BTF of the symbol's module was loaded at all;
- static-call trampolines and keys (``__SCT__*``, ``__SCK__*``): made by
  ``ARCH_DEFINE_STATIC_CALL_TRAMP`` in inline assembly
  (arch/x86/include/asm/static_call.h) and ``DEFINE_STATIC_CALL`` (include/linux/
  static_call.h), no C function to describe;
- defined in assembly (a ``.S`` definition site): no DWARF subprogram, so no BTF FUNC;
- a ``static inline`` (definition site in a header): inlined into its callers, no
  symbol;
- a variable that is not per-CPU: pahole encodes only per-CPU variables (the DATASEC
  ``.data..percpu``; dwarves ``btf_encoder.h`` ``BTF_VAR_PERCPU``; global variables came
  later, behind the ``global_var`` encoding feature);
- else a function pahole skipped: inlined everywhere, cloned by the compiler
  (``.isra``/``.constprop``) or with prototypes that disagree between compilation units
  (dwarves' ``btf_encoder`` drops inconsistent functions).
"""

from __future__ import annotations

from ksql.model import Kind

PERCPU_SECTION = ".data..percpu"  # include/asm-generic/vmlinux.lds.h PERCPU_INPUT


def why_no_decl(
    name: str,
    kind: Kind,
    section: str,
    defined_at: str,
    module: str,
    btf_loaded: bool,
) -> str:
    """One sentence: why ``name`` (of ``module``) has no ``decl``. ``btf_loaded``: some BTF
    of ``module`` was loaded; ``defined_at``: its definition site (``path:line:col``) or
    ''."""
    if not btf_loaded:
        return (
            f"no BTF of `{module}` was loaded (add `-s /sys/kernel/btf/{module}` or `-s btf:FILE`)"
        )
    if name.startswith(("__SCT__", "__SCK__")):
        return "a static-call trampoline or key, made in assembly: BTF has no type for it"
    path = defined_at.split(":", 1)[0]
    if path.endswith(".S"):
        return f"defined in assembly (`{path}`): BTF describes only C functions"
    if path.endswith(".h"):
        return f"a `static inline` in `{path}`: inlined into its callers, so not in BTF"
    if kind in (Kind.OBJECT, Kind.COMMON, Kind.TLS) and section != PERCPU_SECTION:
        return "a variable that is not per-CPU: pahole puts only per-CPU variables in BTF"
    if kind is Kind.FUNCTION or path.endswith(".c"):
        return (
            "not in BTF: pahole leaves out functions inlined everywhere, compiler clones "
            "(`.isra`, `.constprop`) and functions whose prototypes disagree"
        )
    return "not in BTF"
