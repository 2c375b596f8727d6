"""The loader's rules (ksql.kernel.loader, ksql.kernel.loadchecks) one by one, on small facts:
each case names the kernel behaviour it pins down."""

from __future__ import annotations

import pytest

from ksql.check.run import load_errno
from ksql.kernel.facts import Export, Finding, Import, KernelFacts, ModuleFacts
from ksql.kernel.loadchecks import check_module, same_magic, vermagic_of
from ksql.kernel.namespaces import module_matches

CONFIG = {
    "CONFIG_X86_64": "y",
    "CONFIG_64BIT": "y",
    "CONFIG_SMP": "y",
    "CONFIG_PREEMPT_BUILD": "y",
    "CONFIG_MODULE_UNLOAD": "y",
    "CONFIG_MODVERSIONS": "y",
    "CONFIG_STRICT_MODULE_RWX": "y",
}
K = KernelFacts(
    exports={
        "kfree": Export("kfree", crc=0x1),
        "ktime_get": Export("ktime_get", gpl=True, crc=0x2),
        "dma_buf_get": Export("dma_buf_get", namespace="DMA_BUF", crc=0x3),
        "kvm_only": Export("kvm_only", owner="kvm", namespace="module:kvm-*,vfio", crc=0x4),
        "blob_fn": Export("blob_fn", owner="blob", crc=0x5),
        "usb_fn": Export("usb_fn", owner="usbcore", crc=0x6),
        "module_layout": Export("module_layout", crc=0x7),
    },
    proprietary=frozenset({"blob"}),
    depends={"usbcore": ("usb-common",), "blob": ()},
    modules=frozenset({"kvm", "blob", "usbcore"}),
    config=CONFIG,
    version=(6, 1),
    vermagic="6.1.0-50-amd64 SMP preempt mod_unload modversions ",
    struct_module_size=896,
)


def mod(*imports: Import, license: str = "GPL", **kw: object) -> ModuleFacts:
    base: dict[str, object] = {
        "path": "m.ko",
        "name": "m",
        "license": license,
        "vermagic": "6.1.0-53-amd64 SMP preempt mod_unload modversions ",
        "versions": True,
        "layout_crc": 0x7,
        "this_module": 896,
        "machine": 62,
        "is64": True,
        "e_type": 1,
        "signed": True,
    }
    base.update(kw)
    return ModuleFacts(imports=imports, **base)  # type: ignore[arg-type]


def codes(m: ModuleFacts, k: KernelFacts = K) -> list[tuple[str, str, str]]:
    return [(f.check, f.severity, f.symbol) for f in check_module(m, k)]


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        (mod(Import("kfree", crc=0x1)), []),
        # simplify_symbols: an unresolved weak symbol is fine.
        (mod(Import("nowhere", weak=True)), []),
        (mod(Import("nowhere")), [("unknown-symbol", "error", "nowhere")]),
        # find_exported_symbol_in_section: GPL-only exports are invisible to P modules.
        (
            mod(Import("ktime_get", crc=0x2), license="Proprietary"),
            [("license-taint", "warning", ""), ("gpl-only", "error", "ktime_get")],
        ),
        (
            mod(Import("ktime_get", weak=True), license="Proprietary"),
            [("license-taint", "warning", "")],
        ),
        # inherit_taint: a GPL module may use a proprietary module's symbols (tainted)...
        (mod(Import("blob_fn", crc=0x5)), [("proprietary-owner", "warning", "blob_fn")]),
        # ... unless it already uses GPL-only symbols.
        (
            mod(Import("ktime_get", crc=0x2), Import("blob_fn", crc=0x5)),
            [("proprietary-owner", "error", "blob_fn")],
        ),
        # check_version: another CRC; no entry at all (Debian 6.1 refuses it).
        (mod(Import("kfree", crc=0x9)), [("crc-mismatch", "error", "kfree")]),
        (mod(Import("kfree")), [("no-version", "error", "kfree")]),
        # verify_namespace_is_imported, and module: namespaces with tail globs (6.16).
        (mod(Import("dma_buf_get", crc=0x3)), [("namespace", "error", "dma_buf_get")]),
        (mod(Import("dma_buf_get", crc=0x3), import_ns=("DMA_BUF",)), []),
        (mod(Import("kvm_only", crc=0x4)), [("module-namespace", "error", "kvm_only")]),
        (mod(Import("kvm_only", crc=0x4), name="kvm-amd"), []),
        (mod(Import("kvm_only", crc=0x4), name="vfio"), []),
        # ref_module / modprobe: the owner's depends chain must be in K.
        (mod(Import("usb_fn", crc=0x6)), [("missing-dependency", "error", "usb_fn")]),
        # check_modstruct_version, same_magic, the 6.3 struct module size check.
        (mod(layout_crc=0x8), [("module-layout", "error", "module_layout")]),
        (mod(vermagic="6.1.0-53-amd64 SMP mod_unload modversions "), [("vermagic", "error", "")]),
        (mod(this_module=1024), [("this-module", "error", "")]),
        (mod(this_module=None), [("this-module", "error", "")]),
        (mod(this_module_alloc=False), []),  # checked from 6.3; K is 6.1
        (mod(machine=183), [("elf-machine", "error", "")]),
        (mod(common=("counter",)), [("common-symbol", "error", "")]),
        (mod(wx_sections=((3, ".text.rw"),)), [("wx-section", "error", "")]),
        (mod(signed=False), []),  # CONFIG_MODULE_SIG is not set in this K
        (mod(exports=(Export("kfree", "m", crc=0x1),)), [("duplicate-export", "error", "kfree")]),
        (mod(exports=(Export("mine", "m"),)), [("export-no-crc", "error", "")]),
        (mod(name="m" * 56), [("name-length", "error", "")]),
        (mod(import_ns=("module:kvm",)), []),  # refused from 6.16 only; K is 6.1
    ],
)
def test_rules(module: ModuleFacts, expected: list[tuple[str, str, str]]) -> None:
    assert codes(module) == expected


def test_missing_version_upstream_is_a_warning() -> None:
    k = KernelFacts(exports=K.exports, missing_version_fatal=False, config=CONFIG)
    (f,) = check_module(mod(Import("kfree")), k)
    assert (f.severity, f.dmesg, f.errno) == ("warning", ("m: no symbol version for kfree",), 0)


def test_namespace_fix_spelling_follows_the_release() -> None:
    k613 = KernelFacts(exports=K.exports, config=CONFIG, version=(6, 13))
    (f,) = check_module(mod(Import("dma_buf_get", crc=0x3)), k613)
    assert f.fix == 'MODULE_IMPORT_NS("DMA_BUF");'
    (f,) = check_module(mod(Import("dma_buf_get", crc=0x3)), K)
    assert f.fix == "MODULE_IMPORT_NS(DMA_BUF);"


def test_allow_missing_namespace_imports_warns() -> None:
    k = KernelFacts(
        exports=K.exports,
        config={**CONFIG, "CONFIG_MODULE_ALLOW_MISSING_NAMESPACE_IMPORTS": "y"},
        version=(6, 1),
    )
    (f,) = check_module(mod(Import("dma_buf_get", crc=0x3)), k)
    assert (f.severity, f.errno, f.modpost[:8]) == ("warning", 0, "WARNING:")


def test_this_module_flags_from_63() -> None:
    k = KernelFacts(exports=K.exports, config=CONFIG, version=(6, 3), struct_module_size=896)
    (f,) = check_module(mod(this_module_alloc=False), k)
    assert f.dmesg == (
        "module m: .gnu.linkonce.this_module must occupy memory during process execution",
    )
    (f,) = check_module(mod(this_module=0), k)
    assert f.dmesg == ("module m: .gnu.linkonce.this_module section must have a size set",)
    (f,) = check_module(mod(this_module=1024), k)
    assert f.errno == 8 and "struct module size at run time" in f.dmesg[0]


def test_signature_forced() -> None:
    k = KernelFacts(
        exports=K.exports,
        config={**CONFIG, "CONFIG_MODULE_SIG": "y", "CONFIG_MODULE_SIG_FORCE": "y"},
    )
    (f,) = check_module(mod(signed=False), k)
    assert (f.check, f.severity, f.dmesg, f.insmod) == (
        "unsigned",
        "error",
        ("Loading of unsigned module is rejected",),
        "Key was rejected by service",
    )


def test_import_of_a_module_namespace_is_refused_from_616() -> None:
    k = KernelFacts(exports=K.exports, config=CONFIG, version=(6, 16))
    (f,) = check_module(mod(import_ns=("module:kvm",)), k)
    assert f.dmesg == ("m: module tries to import module namespace: module:kvm",)


@pytest.mark.parametrize(
    ("a", "b", "crcs", "same"),
    [
        ("6.1.0-53-amd64 SMP mod_unload ", "6.1.0-50-amd64 SMP mod_unload ", True, True),
        ("6.1.0-53-amd64 SMP mod_unload ", "6.1.0-50-amd64 SMP mod_unload ", False, False),
        ("6.1.0-50-amd64 SMP mod_unload ", "6.1.0-50-amd64 SMP preempt mod_unload ", True, False),
    ],
)
def test_same_magic(a: str, b: str, crcs: bool, same: bool) -> None:
    assert same_magic(a, b, crcs) is same


def test_vermagic_of_debian_config() -> None:
    config = {**CONFIG, "CONFIG_PREEMPT_BUILD": "y"}
    assert vermagic_of(config, "6.1.0-50-amd64") == (
        "6.1.0-50-amd64 SMP preempt mod_unload modversions "
    )
    assert vermagic_of({"CONFIG_ARM64": "y"}, "6.1.0-50-arm64") is None


@pytest.mark.parametrize(
    ("namespace", "module", "ok"),
    [
        ("module:kvm", "kvm", True),
        ("module:kvm-amd", "kvm_amd", True),
        ("module:kvm-*", "kvm_intel", True),
        ("module:kvm", "kvm_intel", False),
        ("DMA_BUF", "kvm", False),
    ],
)
def test_module_matches(namespace: str, module: str, ok: bool) -> None:
    assert module_matches(namespace, module) is ok


def test_errno_is_the_last_failing_symbols() -> None:
    """simplify_symbols() keeps going and returns the last symbol's error."""

    def f(check: str, errno: int) -> Finding:
        return Finding(check, "error", "", errno=errno)

    assert load_errno([f("unknown-symbol", 2), f("crc-mismatch", 22)]) == 22
    assert load_errno([f("module-layout", 8), f("unknown-symbol", 2)]) == 8
    assert load_errno([Finding("unsigned", "warning", "")]) == 0
