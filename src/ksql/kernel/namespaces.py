"""Module-specific symbol namespaces: an export in the namespace ``module:kvm,kvm-amd`` is
for the named modules only, and importing such a namespace with ``MODULE_IMPORT_NS`` is
refused -- it is a list of recipients, not a namespace to import.

520b1a147d91 ("module: Add module specific symbol namespace support") added the ``module:``
prefix, 754f8733fc09 ("module: Extend the module namespace parsing") the comma-separated
list, 0267cbf297bf ("module: Account for the build time module name mangling") the ``-`` /
``_`` equivalence; kernel/module/main.c verify_module_namespace() applies them, and
EXPORT_SYMBOL_FOR_MODULES in include/linux/export.h writes such namespaces.
"""

from __future__ import annotations

from ksql.kernel.modules import normalize_module_name

MODULE_PREFIX = "module:"


def allowed_modules(namespace: str) -> tuple[str, ...] | None:
    """The modules a ``module:`` namespace exports to, in the kernel's spelling (``-`` as
    ``_``, as kbuild names modules), in the order written; None for any other namespace."""
    if not namespace.startswith(MODULE_PREFIX):
        return None
    names = namespace[len(MODULE_PREFIX) :].split(",")
    return tuple(normalize_module_name(n.strip()) for n in names if n)


def module_matches(namespace: str, module: str) -> bool:
    """Whether ``module`` may use an export in ``namespace``: kernel/module/main.c
    verify_module_namespace() -- a ``module:`` list of names, each matched whole or, ending
    in ``*``, as a prefix (a tail glob), with ``-`` and ``_`` equal (mod_strncmp)."""
    if not namespace.startswith(MODULE_PREFIX):
        return False
    name = module.replace("-", "_")
    for pattern in namespace[len(MODULE_PREFIX) :].split(","):
        pattern = pattern.strip().replace("-", "_")
        if not pattern:
            continue
        if pattern.endswith("*"):
            if name.startswith(pattern[:-1]):
                return True
        elif name == pattern:
            return True
    return False
