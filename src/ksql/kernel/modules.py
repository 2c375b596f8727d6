"""How the kernel names modules: the core kernel is ``vmlinux``, a module is named by its
file's base name with ``-`` spelled ``_``.
"""

from __future__ import annotations

# scripts/mod/modpost.c writes "vmlinux" as the module of the core kernel's exports in
# Module.symvers; kallsyms prints core symbols without a [module] tag.
VMLINUX = "vmlinux"


def normalize_module_name(name: str) -> str:
    """The kernel's module name for a file stem or path: basename, ``-`` becomes ``_``.

    kbuild derives KBUILD_MODNAME with ``$(subst -,_,...)`` (scripts/Makefile.lib) and kmod
    compares names through ``modname_normalize`` (libkmod/libkmod-util.c) the same way.
    """
    base = name.rsplit("/", 1)[-1]
    for suffix in (".ko", ".o"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
            break
    return base.replace("-", "_")


def module_name_of_file(filename: str) -> str:
    """A module file's name up to its first ``.`` (``usb-storage.ko.xz`` -> ``usb_storage``)."""
    return normalize_module_name(filename.rsplit("/", 1)[-1].split(".", 1)[0])
