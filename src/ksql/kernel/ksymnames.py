"""The names kernel exports are spelled with in an ELF file -- the ``__ksymtab_``,
``__kstrtabns_``, ``__crc_`` and ``__export_symbol_`` label prefixes, the ``__kflagstab``
GPL bit, and which ksymtab sections hold GPL-only exports -- as plain strings, so a reader
that needs no catalog (``ksql check`` of one module) can use them without numpy.
:mod:`ksql.kernel.ksymtab` maps the sections to :class:`~ksql.model.ExportKind`.
"""

from __future__ import annotations

KSYMTAB_PREFIX = "__ksymtab_"
# 69923208431e ("module: add support for symbol namespaces", 5.4) until ddb5cdbafaaa
# ("kbuild: generate KSYMTAB entries by modpost", 6.5): the namespace string's label.
KSTRTABNS_PREFIX = "__kstrtabns_"
CRC_PREFIX = "__crc_"  # include/linux/export-internal.h SYMBOL_CRC, genksyms' __crc_ labels
# 6.5+ objects: .export_symbol holds __export_symbol_<name> (scripts/mod/modpost.c)
EXPORT_SYMBOL_PREFIX = "__export_symbol_"
# 55fcb926b6d8 ("module: use kflagstab instead of *_gpl sections", 7.1): bit 0 of an
# export's __kflagstab byte (include/linux/module_symbol.h KSYM_FLAG_GPL_ONLY).
KSYM_FLAG_GPL_ONLY = 1

# section -> whether its exports are GPL-only (ExportKind.gpl_only of SECTION_EXPORTS)
SECTION_GPL: dict[str, bool] = {
    "__ksymtab": False,
    "__ksymtab_gpl": True,
    "__ksymtab_unused": False,
    "__ksymtab_unused_gpl": True,
    "__ksymtab_gpl_future": True,
}


def section_gpl(section: str) -> bool | None:
    """Whether ``section``'s exports are GPL-only; None when it holds none (``.o``
    spellings ``___ksymtab_gpl+name`` too)."""
    if section.startswith("___ksymtab"):
        section = section[1:].split("+", 1)[0]
    return SECTION_GPL.get(section)
