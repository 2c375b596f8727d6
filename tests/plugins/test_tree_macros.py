"""Symbols made by a file's own macros and renames (plugins/tree/macros.py) and two Kbuild
forms (src/ksql/kernel/kbuild.py), on excerpts copied from Debian's linux-source-6.1."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ksql.kernel.exportmacros import exports_of
from ksql.kernel.kbuild import Kbuild, scan_kbuild
from ksql.model import ExportKind
from ksql.plugins.tree.index import TreeConfig
from ksql.plugins.tree.live import TreeIndex
from ksql.plugins.tree.macros import active, close_paren, renames
from ksql.plugins.tree.rows import RowBuilder, expand_xmacros
from ksql.plugins.tree.scan import scan
from ksql.sink import RowSink


class Rows(RowSink):
    """The columns :meth:`RowBuilder.emit` gives, one dict a row."""

    def __init__(self) -> None:
        super().__init__("test")
        self.rows: list[dict[str, object]] = []

    def extend(self, name: Sequence[str], **columns: Any) -> None:
        for i, n in enumerate(name):
            self.rows.append({"name": n} | {k: v[i] for k, v in columns.items()})


# lib/kstrtox.c, 6.1 (lines 408-425, shortened body)
KSTRTOX = b"""
#define kstrto_from_user(f, g, type)\t\t\t\t\t\\
int f(const char __user *s, size_t count, unsigned int base, type *res)\t\\
{\t\t\t\t\t\t\t\t\t\\
\treturn g(buf, base, res);\t\t\t\t\t\\
}\t\t\t\t\t\t\t\t\t\\
EXPORT_SYMBOL(f)

kstrto_from_user(kstrtoull_from_user,\tkstrtoull,\tunsigned long long);
kstrto_from_user(kstrtou8_from_user,\tkstrtou8,\tu8);
"""

# drivers/char/random.c, 6.1: "##" after a space, a struct before the function
RANDOM = b"""
#define DEFINE_BATCHED_ENTROPY(type)\t\t\t\t\t\t\\
struct batch_ ##type {\t\t\t\t\t\t\t\t\\
\tunsigned int position;\t\t\t\t\t\t\t\\
};\t\t\t\t\t\t\t\t\t\t\\
\t\t\t\t\t\t\t\t\t\t\\
type get_random_ ##type(void)\t\t\t\t\t\t\t\\
{\t\t\t\t\t\t\t\t\t\t\\
\treturn ret;\t\t\t\t\t\t\t\t\\
}\t\t\t\t\t\t\t\t\t\t\\
EXPORT_SYMBOL(get_random_ ##type);

DEFINE_BATCHED_ENTROPY(u8)
DEFINE_BATCHED_ENTROPY(u64)
"""

# kernel/locking/qspinlock.c, 6.1 (lines 290 and 568-569)
QSPINLOCK = b"""#define queued_spin_lock_slowpath\tnative_queued_spin_lock_slowpath
void __lockfunc queued_spin_lock_slowpath(struct qspinlock *lock, u32 val)
{
}
EXPORT_SYMBOL(queued_spin_lock_slowpath);
#undef  queued_spin_lock_slowpath
#define queued_spin_lock_slowpath\t__pv_queued_spin_lock_slowpath
#define MAX_NODES\t\t4
"""


def test_macro_exports_and_definitions() -> None:
    sites = scan("lib/kstrtox.c", KSTRTOX)
    assert [e[:3] for e in sites.exports] == [
        ("kstrtoull_from_user", 9, 1),
        ("kstrtou8_from_user", 10, 1),
    ]
    assert [d[:4] for d in sites.definitions] == [
        ("kstrtoull_from_user", 9, 1, True),
        ("kstrtou8_from_user", 10, 1, True),
    ]
    sites = scan("drivers/char/random.c", RANDOM)
    assert [e[0] for e in sites.exports] == ["get_random_u8", "get_random_u64"]
    assert [d[0] for d in sites.definitions] == ["get_random_u8", "get_random_u64"]


def test_digit_leading_tracepoint() -> None:
    # net/9p/client.c, 6.1: EXPORT_TRACEPOINT_SYMBOL(9p_fid_ref);
    names = [n for n, _, _ in exports_of("EXPORT_TRACEPOINT_SYMBOL", ["9p_fid_ref"])]
    assert names[0] == "__tracepoint_9p_fid_ref"
    assert exports_of("EXPORT_SYMBOL", ["9p_fid_ref"]) == []


def test_renames() -> None:
    assert renames(QSPINLOCK) == {
        "queued_spin_lock_slowpath": [
            "native_queued_spin_lock_slowpath",
            "__pv_queued_spin_lock_slowpath",
        ]
    }
    # drivers/staging/rtl8192u/ieee80211/ieee80211.h: the .c file includes the header
    text = b"#define ieee80211_rx\t\t\tieee80211_rx_rsl\nint ieee80211_rx(void);\n"
    header = scan("d/ieee80211.h", text, headers=True)
    source = scan(
        "d/ieee80211_rx.c",
        b'\n#include "ieee80211.h"\nint ieee80211_rx(void)\n{\n}\nEXPORT_SYMBOL(ieee80211_rx);\n',
    )
    builder = RowBuilder(Kbuild({"d/ieee80211_rx.c": "r8192u_usb"}), strict=True)
    builder.learn_includes([header, source])
    for sites in (header, source):
        builder.add(sites)
    sink = Rows()
    builder.emit(sink)
    (row,) = sink.rows
    assert (row["name"], row["module"], row["export"]) == (
        "ieee80211_rx_rsl",
        "r8192u_usb",
        int(ExportKind.EXPORT_SYMBOL),
    )
    assert (row["exported_at"], row["defined_at"]) == (
        "d/ieee80211_rx.c:6:1",
        "d/ieee80211_rx.c:3:5",
    )


def test_kbuild_tab_lines_and_self_part(tmp_path: Path) -> None:
    (tmp_path / "Kbuild").write_text("obj-y += drivers/\n")
    media = tmp_path / "drivers"
    media.mkdir()
    # drivers/media/mc/Makefile, 6.1: a tab-indented assignment in a conditional
    (media / "Makefile").write_text(
        "mc-objs\t:= mc-device.o\n\nifneq ($(CONFIG_USB),)\n\tmc-objs += mc-dev-allocator.o\n"
        "endif\n\nobj-$(CONFIG_MEDIA_SUPPORT) += mc.o\n"
        # lib/dim/Makefile, 6.1: the composite names itself among its parts
        "obj-$(CONFIG_DIMLIB) += dim.o\n\ndim-y := dim.o net_dim.o\n"
        # a rule's recipe is no assignment
        "$(obj)/x.h: $(src)/y\n\tz-y += ignored.o\n"
    )
    for name in ("mc-device", "mc-dev-allocator", "dim", "net_dim", "ignored"):
        (media / f"{name}.c").write_text("")
    config = {"CONFIG_USB": "m", "CONFIG_MEDIA_SUPPORT": "m", "CONFIG_DIMLIB": "y"}
    files = scan_kbuild(tmp_path, config).files
    assert files == {
        "drivers/mc-device.c": "mc",
        "drivers/mc-dev-allocator.c": "mc",
        "drivers/dim.c": "vmlinux",
        "drivers/net_dim.c": "vmlinux",
    }
    del config["CONFIG_USB"]
    assert "drivers/mc-dev-allocator.c" not in scan_kbuild(tmp_path, config).files


# arch/x86/lib/retpoline.S, 6.1 (lines 55-70) and arch/x86/include/asm/GEN-for-each-reg.h
RETPOLINE = b"""#define __EXPORT_THUNK(sym)\t_ASM_NOKPROBE(sym); EXPORT_SYMBOL(sym)
#define EXPORT_THUNK(reg)\t__EXPORT_THUNK(__x86_indirect_thunk_ ## reg)

#define GEN(reg) THUNK reg
#include <asm/GEN-for-each-reg.h>
#undef GEN

#define GEN(reg) EXPORT_THUNK(reg)
#include <asm/GEN-for-each-reg.h>
#undef GEN
"""
GEN_FOR_EACH_REG = b"#ifdef CONFIG_64BIT\nGEN(rax)\nGEN(r15)\n#else\nGEN(eax)\n#endif\n"


def test_x_macro_over_an_included_header(tmp_path: Path) -> None:
    sites = scan("arch/x86/lib/retpoline.S", RETPOLINE)
    assert [(h, n, line) for h, n, _, line, _ in sites.xmacros] == [
        ("asm/GEN-for-each-reg.h", "GEN", 9)
    ]
    header = tmp_path / "arch/x86/include/asm/GEN-for-each-reg.h"
    header.parent.mkdir(parents=True)
    header.write_bytes(GEN_FOR_EACH_REG)
    for config, names in (
        ({"CONFIG_64BIT": "y"}, ["__x86_indirect_thunk_rax", "__x86_indirect_thunk_r15"]),
        ({}, ["__x86_indirect_thunk_eax"]),
    ):
        again = scan("arch/x86/lib/retpoline.S", RETPOLINE)
        expand_xmacros(again, tmp_path, config, "x86")
        assert [e[:3] for e in again.exports] == [(n, 9, 11) for n in names]
    # An editor's rescan of the file expands them too.
    config = TreeConfig({"CONFIG_X86": "y", "CONFIG_64BIT": "y"}, "config")
    index = TreeIndex(tmp_path, config, Kbuild({"arch/x86/lib/retpoline.S": "vmlinux"}))
    found = index.rescan("arch/x86/lib/retpoline.S", RETPOLINE)
    assert [(f.name, f.field, f.line) for f in found] == [
        ("__x86_indirect_thunk_r15", "exported_at", 9),
        ("__x86_indirect_thunk_rax", "exported_at", 9),
    ]

    # A FIFO in the header's place is refused, not waited on: no expansion, no hang.
    header.unlink()
    os.mkfifo(header)
    again = scan("arch/x86/lib/retpoline.S", RETPOLINE)
    expand_xmacros(again, tmp_path, {"CONFIG_64BIT": "y"}, "x86")
    assert again.exports == []


def test_active_blocks() -> None:
    # include/linux/cgroup_subsys.h, 6.1: "#if IS_ENABLED(CONFIG_CPUSETS)"
    text = b"#if IS_ENABLED(CONFIG_CPUSETS)\nA\n#elif defined(CONFIG_B)\nB\n#else\nC\n#endif\nD\n"

    def kept(config: dict[str, str]) -> list[bytes]:
        return [w for w in active(text, config).split() if len(w) == 1]

    assert kept({"CONFIG_CPUSETS": "m"}) == [b"A", b"D"]
    assert kept({"CONFIG_B": "y"}) == [b"B", b"D"]
    assert kept({}) == [b"C", b"D"]
    assert b"X" in active(b"#if SOMETHING_ELSE > 1\nX\n#endif\n", {}).split()


def _close_paren_reference(data: bytes, at: int) -> int:
    """close_paren as a loop over each byte (what it was)."""
    depth = 1
    for i in range(at, min(len(data), at + 4096)):
        if data[i] == 0x28:
            depth += 1
        elif data[i] == 0x29:
            depth -= 1
            if not depth:
                return i
    return at


@given(
    st.lists(st.sampled_from([b"(", b")", b"a", b",", b"\n", b"x" * 700]), max_size=40),
    st.integers(0, 50),
)
def test_close_paren_matches_a_byte_loop(parts: list[bytes], at: int) -> None:
    data = b"".join(parts)
    at = min(at, len(data))
    assert close_paren(data, at) == _close_paren_reference(data, at)


def test_close_paren_on_a_header_prototype() -> None:
    data = b"int f(void (*cb)(int), char *s);"
    assert close_paren(data, 6) == data.index(b");")
    assert close_paren(b"f(unclosed", 2) == 2


# include/trace/events/sched.h and include/trace/events/rcu.h, 6.1 (shortened): each
# tracepoint macro family, out of order in the file, and a line that only mentions one.
TRACE_HEADER = b"""#define TRACE_SYSTEM sched
DECLARE_TRACE(pelt_cfs_tp,
\tTP_PROTO(struct cfs_rq *cfs_rq),
\tTP_ARGS(cfs_rq));
TRACE_EVENT(sched_kthread_stop,
\tTP_PROTO(struct task_struct *t));
DEFINE_EVENT(sched_wakeup_template, sched_waking,
\tTP_PROTO(struct task_struct *p));
TRACE_EVENT_FN(sched_switch_fn, TP_PROTO(int x));
DEFINE_EVENT_PRINT(sched_template, sched_print, TP_PROTO(int x));
/* TRACE_EVENT(not_a_tracepoint, ...) in a comment */
"""


def test_tracepoints_of_every_family_in_file_order() -> None:
    sites = scan("include/trace/events/sched.h", TRACE_HEADER, headers=True)
    assert sites.tracepoints == [
        ("pelt_cfs_tp", 2, 1),
        ("sched_kthread_stop", 5, 1),
        ("sched_waking", 7, 1),
        ("sched_switch_fn", 9, 1),
        ("sched_print", 10, 1),
    ]


def test_register_lists_spelling_export_declare_nothing() -> None:
    # drivers/gpu/drm/amd/include/asic_reg/bif/bif_5_0_enum.h: "EXPORT_" in an enum, and a
    # local header with a static inline: neither exports, so the header defines nothing.
    text = (
        b"typedef enum QuadExportFormat {\n\tEXPORT_UNUSED = 0x0,\n} QuadExportFormat;\n"
        b"static inline int f(void)\n{\n\treturn 0;\n}\n"
    )
    sites = scan("drivers/gpu/drm/amd/include/asic_reg/bif/bif_5_0_enum.h", text, headers=True)
    assert (sites.exports, sites.definitions) == ([], [])
    # kernel/rcu/tasks.h: a header that exports is read for definitions too
    text += b"EXPORT_SYMBOL_GPL(f);\n"
    sites = scan("kernel/rcu/tasks.h", text, headers=True)
    assert [e[:3] for e in sites.exports] == [("f", 8, 1)]
    assert [d[:3] for d in sites.definitions] == [("f", 4, 19)]
