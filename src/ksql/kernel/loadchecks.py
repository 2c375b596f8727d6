"""The loader's whole-module checks, in the order kernel/module/main.c ``load_module()`` runs
them (6.1; later changes cited where they apply), then the per-symbol verdicts of
:mod:`ksql.kernel.loader`, then what only modpost says:

- ``module_sig_check()`` (kernel/module/signing.c): a module without the
  ``~Module signature appended~`` trailer is rejected when K forces signatures
  (``CONFIG_MODULE_SIG_FORCE``), else taints ("module verification failed").
- ``elf_validity_check()``: ``ET_REL``, K's ``e_machine`` (``elf_check_arch``), K's class.
- ``setup_load_info()``: ``.gnu.linkonce.this_module`` must exist; from 6.3
  (``elf_validity_cache_copy``, "module: add sanity check for ELF module section") it must
  be allocated and exactly ``sizeof(struct module)`` -- K's BTF knows that size.
- ``check_modstruct_version()``: the ``module_layout`` CRC.
- ``check_modinfo()``: ``same_magic()`` on ``vermagic`` (the release part is ignored when the
  module has CRCs), missing vermagic needs ``try_to_force_load``.
- ``module_enforce_rwx_sections()`` (kernel/module/strict_rwx.c): no W+X section.
- ``find_module_sections()``: exports without CRCs under ``CONFIG_MODVERSIONS``.
- ``simplify_symbols()``: COMMON symbols; then every undefined symbol.
- ``verify_exported_symbols()``: an export K already has.
- ``setup_modinfo()`` (6.16+): importing a ``module:`` namespace is refused.
- modpost (scripts/mod/modpost.c ``check_modname_len``): a name of MODULE_NAME_LEN or more.
"""

from __future__ import annotations

from collections.abc import Mapping

from ksql.kernel.facts import Finding, KernelFacts, ModuleFacts
from ksql.kernel.licenses import license_is_gpl_compatible
from ksql.kernel.loader import resolve_imports
from ksql.kernel.modules import VMLINUX
from ksql.kernel.namespaces import MODULE_PREFIX

__all__ = ["check_module", "config_machine", "same_magic", "vermagic_of"]

ET_REL = 1
# include/uapi/linux/elf-em.h, for the architectures whose CONFIG_ symbol names them.
_MACHINES = (
    ("CONFIG_X86_64", 62),
    ("CONFIG_X86_32", 3),
    ("CONFIG_ARM64", 183),
    ("CONFIG_ARM", 40),
    ("CONFIG_PPC64", 21),
    ("CONFIG_PPC32", 20),
    ("CONFIG_RISCV", 243),
    ("CONFIG_S390", 22),
    ("CONFIG_LOONGARCH", 258),
    ("CONFIG_MIPS", 8),
)
SIG_TRAILER = b"~Module signature appended~\n"  # include/linux/module_signature.h


def config_machine(config: Mapping[str, str] | None) -> int | None:
    for option, machine in _MACHINES:
        if config and config.get(option) == "y":
            return machine
    return None


def vermagic_of(config: Mapping[str, str], release: str) -> str | None:
    """K's VERMAGIC_STRING (include/linux/vermagic.h, 6.1): release, then ``SMP``,
    ``preempt``/``preempt_rt``, ``mod_unload``, ``modversions``, MODULE_ARCH_VERMAGIC (empty
    on x86_64: arch/x86/include/asm/vermagic.h defines no MODULE_PROC_FAMILY for it) and the
    randstruct seed. None where the arch part or the seed are not known from the config."""
    if config.get("CONFIG_X86_64") != "y" or config.get("CONFIG_RANDSTRUCT_FULL") == "y":
        return None
    parts = [release + " "]
    if config.get("CONFIG_SMP") == "y":
        parts.append("SMP ")
    if config.get("CONFIG_PREEMPT_BUILD") == "y":
        parts.append("preempt ")
    elif config.get("CONFIG_PREEMPT_RT") == "y":
        parts.append("preempt_rt ")
    if config.get("CONFIG_MODULE_UNLOAD") == "y":
        parts.append("mod_unload ")
    if config.get("CONFIG_MODVERSIONS") == "y":
        parts.append("modversions ")
    return "".join(parts)


def same_magic(amagic: str, bmagic: str, has_crcs: bool) -> bool:
    """kernel/module/version.c same_magic(): "First part is kernel version, which we ignore
    if module has crcs." (``strcspn(magic, " ")``)."""
    if has_crcs:
        amagic = amagic[len(amagic.split(" ", 1)[0]) :]
        bmagic = bmagic[len(bmagic.split(" ", 1)[0]) :]
    return amagic == bmagic


def _enoexec(check: str, message: str, dmesg: str, fix: str = "", modpost: str = "") -> Finding:
    return Finding(check, "error", message, dmesg=(dmesg,), errno=8, fix=fix, modpost=modpost)


REBUILD = "rebuild against K's headers (make -C /lib/modules/<K>/build M=$PWD)"


def check_module(
    mod: ModuleFacts, k: KernelFacts, import_findings: list[Finding] | None = None
) -> list[Finding]:
    """Every finding for ``mod`` on K, in the loader's order. ``import_findings``: the
    verdicts on its undefined symbols when the caller already has them (a tree resolves
    its imports in bulk, :mod:`ksql.check.bulk`); else :func:`resolve_imports`'."""
    out: list[Finding] = []
    out += _signature(mod, k)
    out += _elf(mod, k)
    out += _this_module(mod, k)
    out += _module_layout(mod, k)
    out += _vermagic(mod, k)
    if mod.license is None or not license_is_gpl_compatible(mod.license):
        out.append(
            Finding(
                "license-taint",
                "warning",
                f"licence '{mod.license or 'unspecified'}' is not GPL-compatible: loading "
                "taints the kernel (P) and hides GPL-only exports from the module",
                dmesg=(
                    f"{mod.name}: module license '{mod.license or 'unspecified'}' taints kernel.",
                ),
            )
        )
    if k.enabled("CONFIG_STRICT_MODULE_RWX") is not False:
        for index, section in mod.wx_sections:
            out.append(
                _enoexec(
                    "wx-section",
                    f"section {section} is both writable and executable",
                    f"{mod.name}: section {section} (index {index}) has invalid WRITE|EXEC flags",
                )
            )
    if k.enabled("CONFIG_MODVERSIONS") and any(e.crc is None for e in mod.exports):
        bare = [e.name for e in mod.exports if e.crc is None]
        reason = "no versions for exported symbols"
        forced = k.enabled("CONFIG_MODULE_FORCE_LOAD")
        out.append(
            Finding(
                "export-no-crc",
                "warning" if forced else "error",
                f"exports without CRCs ({', '.join(bare[:5])}{', …' if len(bare) > 5 else ''})"
                " on a kernel with CONFIG_MODVERSIONS",
                dmesg=(f"{mod.name}: {reason}: kernel tainted.",) if forced else (),
                errno=0 if forced else 8,
                fix="rebuild with CONFIG_MODVERSIONS (K's .config)",
            )
        )
    for name in mod.common:
        if not name.startswith("__gnu_lto"):
            out.append(
                _enoexec(
                    "common-symbol",
                    f"'{name}' is a COMMON symbol",
                    f"{mod.name}: please compile with -fno-common",
                    fix="compile with -fno-common (kbuild does)",
                    modpost=f'WARNING: modpost: "{name}" [{mod.label}] is COMMON symbol',
                )
            )
    out += resolve_imports(mod, k) if import_findings is None else import_findings
    out += _duplicates(mod, k)
    out += _import_module_ns(mod, k)
    if len(mod.name) >= module_name_len(mod.is64):
        out.append(
            Finding(
                "name-length",
                "error",
                f"module name '{mod.name}' has {len(mod.name)} characters; "
                f"struct module holds {module_name_len(mod.is64) - 1}",
                modpost=f"ERROR: modpost: module name is too long [{mod.label}]",
                fix="a shorter module name",
            )
        )
    return out


def module_name_len(is64: bool | None) -> int:
    """include/linux/module.h: MODULE_NAME_LEN = MAX_PARAM_PREFIX_LEN = 64 - sizeof(long)."""
    return 64 - (4 if is64 is False else 8)


def _signature(mod: ModuleFacts, k: KernelFacts) -> list[Finding]:
    if mod.signed or not k.enabled("CONFIG_MODULE_SIG"):
        return []
    if k.enabled("CONFIG_MODULE_SIG_FORCE"):
        return [
            Finding(
                "unsigned",
                "error",
                "the module is not signed and K requires signatures (CONFIG_MODULE_SIG_FORCE)",
                dmesg=("Loading of unsigned module is rejected",),
                errno=129,
                fix="sign it with K's key (scripts/sign-file), or enrol a MOK key",
            )
        ]
    return [
        Finding(
            "unsigned",
            "warning",
            "the module is not signed: loading taints the kernel (E)",
            dmesg=(
                f"{mod.name}: module verification failed: signature and/or required key "
                "missing - tainting kernel",
            ),
        )
    ]


def _elf(mod: ModuleFacts, k: KernelFacts) -> list[Finding]:
    out = []
    if mod.e_type is not None and mod.e_type != ET_REL:
        out.append(
            _enoexec(
                "elf-type",
                f"ELF type {mod.e_type}, not a relocatable object",
                f"Invalid ELF header type: {mod.e_type} != {ET_REL}",
            )
        )
    machine = config_machine(k.config)
    if machine is not None and mod.machine is not None and mod.machine != machine:
        out.append(
            _enoexec(
                "elf-machine",
                f"built for ELF machine {mod.machine}; K is machine {machine}",
                f"Invalid architecture in ELF header: {mod.machine}",
                fix="build for K's architecture (ARCH=, CROSS_COMPILE=)",
            )
        )
    elif k.config and mod.is64 is not None and mod.is64 != (k.config.get("CONFIG_64BIT") == "y"):
        out.append(
            _enoexec(
                "elf-class",
                f"a {'64' if mod.is64 else '32'}-bit ELF file for a "
                f"{'64' if not mod.is64 else '32'}-bit kernel",
                "Invalid ELF section header size",
            )
        )
    return out


def _this_module(mod: ModuleFacts, k: KernelFacts) -> list[Finding]:
    if mod.this_module is None:
        return [
            _enoexec(
                "this-module",
                "no .gnu.linkonce.this_module section: not a module modpost linked",
                f"{mod.name}: No module found in object",
                fix="build with kbuild (make -C K/build M=$PWD), which runs modpost",
            )
        ]
    checked = k.version is None or k.version >= (6, 3)
    if checked and (not mod.this_module_alloc or mod.this_module == 0):
        what = (
            "must have a size set"
            if mod.this_module == 0
            else ("must occupy memory during process execution")
        )
        return [
            _enoexec(
                "this-module",
                ".gnu.linkonce.this_module is "
                + ("empty (NOBITS)" if mod.this_module == 0 else "not SHF_ALLOC"),
                f"module {mod.name}: .gnu.linkonce.this_module section {what}"
                if mod.this_module == 0
                else f"module {mod.name}: .gnu.linkonce.this_module {what}",
                fix=REBUILD,
            )
        ]
    size = k.struct_module_size
    if size is None or mod.this_module == size:
        return []
    return [
        Finding(
            "this-module",
            "error",
            f".gnu.linkonce.this_module is {mod.this_module} bytes; K's struct module is "
            f"{size} (BTF)"
            + (
                ""
                if checked
                else ": this kernel does not check, and the loader reads the "
                "module's struct module with K's layout"
            ),
            dmesg=(
                f"module {mod.name}: .gnu.linkonce.this_module section size must match the "
                "kernel's built struct module size at run time",
            )
            if checked
            else (),
            errno=8 if checked else 0,
            fix=REBUILD,
        )
    ]


def _module_layout(mod: ModuleFacts, k: KernelFacts) -> list[Finding]:
    """check_modstruct_version(): check_version() on module_layout; a failure is ENOEXEC."""
    exp = k.exports.get("module_layout")
    if exp is None or exp.crc is None or not mod.versions:
        return []
    want = mod.layout_crc
    if want is None or want == exp.crc:
        return []
    return [
        Finding(
            "module-layout",
            "error",
            f"module_layout CRC {want:#010x}, K has {exp.crc:#010x}: the module was built "
            "for another struct module",
            "module_layout",
            dmesg=(f"{mod.name}: disagrees about version of symbol module_layout",),
            errno=8,
            fix=REBUILD,
        )
    ]


def _vermagic(mod: ModuleFacts, k: KernelFacts) -> list[Finding]:
    if mod.vermagic is None:
        forced = k.enabled("CONFIG_MODULE_FORCE_LOAD")
        return [
            Finding(
                "vermagic",
                "warning" if forced else "error",
                "no vermagic in .modinfo",
                dmesg=(f"{mod.name}: bad vermagic: kernel tainted.",) if forced else (),
                errno=0 if forced else 8,
                fix=REBUILD,
            )
        ]
    if k.vermagic is None or same_magic(mod.vermagic, k.vermagic, mod.versions):
        return []
    return [
        _enoexec(
            "vermagic",
            f"vermagic '{mod.vermagic}' does not match K's '{k.vermagic}'"
            + (" (the release part counts: the module has no CRCs)" if not mod.versions else ""),
            f"{mod.name}: version magic '{mod.vermagic}' should be '{k.vermagic}'",
            fix=REBUILD,
        )
    ]


def _duplicates(mod: ModuleFacts, k: KernelFacts) -> list[Finding]:
    out = []
    for e in mod.exports:
        other = k.exports.get(e.name)
        if other is None or other.owner == mod.name:
            continue
        core = other.owner == VMLINUX
        out.append(
            Finding(
                "duplicate-export",
                "error" if core else "warning",
                f"exports '{e.name}', which {other.owner} exports too"
                + ("" if core else " (fails only while both are loaded)"),
                e.name,
                dmesg=(
                    f"{mod.name}: exports duplicate symbol {e.name} (owned by "
                    f"{'kernel' if core else other.owner})",
                ),
                errno=8 if core else 0,
            )
        )
    return out


def _import_module_ns(mod: ModuleFacts, k: KernelFacts) -> list[Finding]:
    """setup_modinfo() from 6.16: "'module:' prefixed namespaces are implicit, disallow
    explicit imports"."""
    if k.version is not None and k.version < (6, 16):
        return []
    return [
        Finding(
            "import-module-ns",
            "error",
            f"imports the module namespace {ns}, which is refused",
            dmesg=(f"{mod.name}: module tries to import module namespace: {ns}",),
            errno=1,
            fix=f"remove MODULE_IMPORT_NS({ns})",
        )
        for ns in mod.import_ns
        if ns.startswith(MODULE_PREFIX)
    ]
