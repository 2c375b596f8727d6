"""Export macros and definition macros: what each spelling exports or defines."""

from __future__ import annotations

import pytest

from ksql.kernel.definemacros import defines_of
from ksql.kernel.exportmacros import exports_of
from ksql.model import ExportKind

E, G = ExportKind.EXPORT_SYMBOL, ExportKind.EXPORT_SYMBOL_GPL


@pytest.mark.parametrize(
    ("macro", "args", "default", "expected"),
    [
        ("EXPORT_SYMBOL", ["kfree"], "", [("kfree", E, "")]),
        ("EXPORT_SYMBOL_GPL", ["usb_stor_suspend"], "USB_STORAGE",
         [("usb_stor_suspend", G, "USB_STORAGE")]),
        ("EXPORT_SYMBOL_NS", ["dma_buf_get", "DMA_BUF"], "X", [("dma_buf_get", E, "DMA_BUF")]),
        ("EXPORT_SYMBOL_NS_GPL", ["cxl_bus_type", '"CXL"'], "", [("cxl_bus_type", G, "CXL")]),
        ("EXPORT_SYMBOL_FOR_MODULES", ["kvm_x", '"kvm,kvm-amd"'], "",
         [("kvm_x", G, "module:kvm,kvm-amd")]),
        ("EXPORT_SYMBOL_GPL_FUTURE", ["f"], "", [("f", ExportKind.EXPORT_SYMBOL_GPL_FUTURE, "")]),
        ("EXPORT_UNUSED_SYMBOL_GPL", ["f"], "",
         [("f", ExportKind.EXPORT_UNUSED_SYMBOL_GPL, "")]),
        ("EXPORT_PER_CPU_SYMBOL_GPL", ["irq_stat"], "", [("irq_stat", G, "")]),
        ("EXPORT_TRACEPOINT_SYMBOL_GPL", ["xhci_dbg_quirks"], "", [
            ("__tracepoint_xhci_dbg_quirks", G, ""),
            ("__traceiter_xhci_dbg_quirks", G, ""),
            ("__SCK__tp_func_xhci_dbg_quirks", G, ""),
            ("__SCT__tp_func_xhci_dbg_quirks", G, ""),
        ]),
        ("EXPORT_STATIC_CALL", ["x86_pmu_read"], "",
         [("__SCK__x86_pmu_read", E, ""), ("__SCT__x86_pmu_read", E, "")]),
        ("EXPORT_STATIC_CALL_TRAMP_GPL", ["pv_sched_clock"], "",
         [("__SCT__pv_sched_clock", G, "")]),
        ("EXPORT_NS_GPL_SIMPLE_DEV_PM_OPS", ["cs42l42_pm_ops", "a", "b", "SND_SOC_CS42L42_CORE"],
         "X", [("cs42l42_pm_ops", G, "SND_SOC_CS42L42_CORE")]),
        ("EXPORT_GPL_DEV_PM_OPS", ["ops"], "DEFAULT_IGNORED", [("ops", G, "")]),
        ("EXPORT_SYMBOL_ACPI_LIB", ["acpi_x"], "", [("acpi_x", G, "ACPI")]),
        ("EXPORT_SYMBOL_IF_KUNIT", ["f"], "", [("f", E, "EXPORTED_FOR_KUNIT_TESTING")]),
        ("EXPORT_THUNK", ["rax"], "", [("__x86_indirect_thunk_rax", E, "")]),
        ("EXPORT_SYMBOL", ["name##_x"], "", []),  # inside a macro body: no symbol
        ("EXPORT_SYMBOL_NS", ["f"], "", []),  # the namespace argument is missing
        ("IWL_EXPORT_SYMBOL", ["iwl_write8"], "", []),  # a wrapper: resolved by the tree
    ],
)  # fmt: skip
def test_exports_of(
    macro: str, args: list[str], default: str, expected: list[tuple[str, ExportKind, str]]
) -> None:
    assert exports_of(macro, args, default) == expected


@pytest.mark.parametrize(
    ("macro", "args", "expected"),
    [
        ("SYSCALL_DEFINE3", ["setpriority", "int", "which"],
         (["sys_setpriority", "__se_sys_setpriority", "__do_sys_setpriority"], True)),
        ("DEFINE_MUTEX", ["cgroup_mutex"], (["cgroup_mutex"], False)),
        ("DEFINE_PER_CPU", ["int", "irq_count"], (["irq_count"], False)),
        ("DEVICE_ATTR_RO", ["speed"], (["dev_attr_speed"], False)),
        ("SYM_FUNC_START", ["memcpy"], (["memcpy"], True)),
        ("DEFINE_EVENT", ["xhci_log_ctx", "xhci_address_ctx"],
         (["trace_xhci_address_ctx", "trace_xhci_address_ctx_rcuidle"], True)),
        ("DEFINE_STATIC_CALL", ["x86_pmu_read", "x"],
         (["__SCK__x86_pmu_read", "__SCT__x86_pmu_read"], False)),
        ("module_init", ["f"], ([], False)),
    ],
)  # fmt: skip
def test_defines_of(macro: str, args: list[str], expected: tuple[list[str], bool]) -> None:
    assert defines_of(macro, args) == expected
