"""Which ``MODULE_LICENSE`` strings the kernel counts as GPL-compatible: a module whose
licence is not among them cannot link against GPL-only exports (modpost: "GPL-incompatible
module m.ko uses GPL-only symbol 'x'") and taints the kernel when loaded.
"""

from __future__ import annotations

# include/linux/license.h license_is_gpl_compatible(), unchanged since 6.1: exact strings,
# compared with strcmp -- "GPL v3", "GPL-2.0" or "gpl" are not on the list.
GPL_COMPATIBLE = frozenset(
    {"GPL", "GPL v2", "GPL and additional rights", "Dual BSD/GPL", "Dual MIT/GPL", "Dual MPL/GPL"}
)


def license_is_gpl_compatible(license: str) -> bool:
    """The kernel's verdict on one ``MODULE_LICENSE`` string."""
    return license in GPL_COMPATIBLE
