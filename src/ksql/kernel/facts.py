"""The plain facts :mod:`ksql.kernel.loader`'s rules read: what a module file holds
(:class:`ModuleFacts`, its :class:`Import` and :class:`Export` entries), what kernel K offers
(:class:`KernelFacts`), and one verdict (:class:`Finding`, with what ``insmod`` prints for
the loader's errno). Filled by the ELF readers, the facts cache and the language server;
no rule lives here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from ksql.kernel.licenses import license_is_gpl_compatible
from ksql.kernel.modules import VMLINUX
from ksql.values import field, frozen

__all__ = ["ERRNO", "Export", "Finding", "Import", "KernelFacts", "ModuleFacts"]

# What insmod/modprobe print for the loader's errno (kmod tools/insmod.c mod_strerror, and
# strerror for the rest).
ERRNO: dict[int, tuple[str, str]] = {
    2: ("ENOENT", "Unknown symbol in module"),
    22: ("EINVAL", "Invalid parameters"),
    8: ("ENOEXEC", "Invalid module format"),
    1: ("EPERM", "Operation not permitted"),
    129: ("EKEYREJECTED", "Key was rejected by service"),
}


@frozen
class Finding:
    """One verdict. ``check`` is a stable code; ``severity`` ``error`` (the module would
    not load), ``warning`` (it loads, with a taint or a kernel warning) or ``note``.
    ``modpost``/``dmesg`` are the exact lines those print (empty when they print none),
    ``errno`` the loader's error (0: none), ``fix`` what to do."""

    check: str
    severity: str
    message: str
    symbol: str = ""
    modpost: str = ""
    dmesg: tuple[str, ...] = ()
    errno: int = 0
    fix: str = ""

    @property
    def insmod(self) -> str:
        """What ``insmod`` says: ``insmod: ERROR: could not insert module m.ko: …``."""
        return ERRNO.get(self.errno, ("", ""))[1]


# Import and Export are named tuples, not frozen dataclasses: a module tree checked against
# itself builds ~185,000 of them, and a tuple is made in 0.2 us where a frozen dataclass's
# __init__ takes 0.7 us.
class Import(NamedTuple):
    """An undefined symbol of the module: ``crc`` is the CRC its ``__versions`` records
    (None: no entry)."""

    name: str
    weak: bool = False
    crc: int | None = None


class Export(NamedTuple):
    """A symbol K exports: ``owner`` is ``vmlinux`` or a module name."""

    name: str
    owner: str = VMLINUX
    gpl: bool = False
    namespace: str = ""
    crc: int | None = None


@frozen
class ModuleFacts:
    """What the loader reads from one module file. ``versions``: it has ``__versions`` (or
    the extended tables); ``layout_crc``: its ``module_layout`` CRC; ``this_module``: size
    of ``.gnu.linkonce.this_module`` (None when absent); ``wx_sections``: (index, name) of
    sections both writable and executable; ``signed``: it ends with
    ``~Module signature appended~``."""

    path: str
    name: str
    license: str | None = None
    import_ns: tuple[str, ...] = ()
    depends: tuple[str, ...] = ()
    vermagic: str | None = None
    intree: bool = False
    imports: tuple[Import, ...] = ()
    exports: tuple[Export, ...] = ()
    common: tuple[str, ...] = ()
    versions: bool = False
    layout_crc: int | None = None
    this_module: int | None = None
    this_module_alloc: bool = True
    machine: int | None = None
    is64: bool | None = None
    e_type: int | None = None
    wx_sections: tuple[tuple[int, str], ...] = ()
    signed: bool = False

    @property
    def gpl_ok(self) -> bool:
        """module_license_taint_check(): no licence counts as "unspecified"."""
        return license_is_gpl_compatible(self.license or "unspecified")

    @property
    def label(self) -> str:
        return f"{self.name}.ko"


@frozen
class KernelFacts:
    """What K offers. ``exports``: the export ``find_symbol()`` finds first (vmlinux, then
    modules); ``proprietary``: modules of K whose licence is not GPL-compatible;
    ``depends``: each module's ``depends``; ``config``: K's ``CONFIG_*`` (empty: unknown);
    ``missing_version_fatal``: a symbol without a ``__versions`` entry fails (6.1 Debian
    kernels) instead of a warning (upstream)."""

    exports: Mapping[str, Export]
    proprietary: frozenset[str] = frozenset()
    depends: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    modules: frozenset[str] = frozenset()
    config: Mapping[str, str] = field(default_factory=dict)
    version: tuple[int, int] | None = None
    vermagic: str | None = None
    struct_module_size: int | None = None
    missing_version_fatal: bool = True
    chains: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False, repr=False)

    def enabled(self, option: str) -> bool | None:
        """``CONFIG_X=y``: True, unset: False, no config known: None."""
        if not self.config:
            return None
        return self.config.get(option) == "y"
