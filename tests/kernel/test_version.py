"""Kernel version detection from plain inputs: vermagic, then source labels, then the
running release for /proc/kallsyms."""

from __future__ import annotations

import pytest

from ksql.kernel.version import kernel_version

VERMAGIC_612 = {"m3": {"vermagic": ["6.12.0-rc1 SMP preempt mod_unload modversions "]}}


@pytest.mark.parametrize(
    ("module_info", "labels", "running", "expected"),
    [
        ({}, [], None, None),
        (VERMAGIC_612, [], None, (6, 12)),
        # vermagic wins over a path that names another release
        (VERMAGIC_612, ["symvers:/usr/src/linux-headers-6.1.0-50-amd64/Module.symvers"], None,
         (6, 12)),
        ({"m": {"license": ["GPL"]}}, [], None, None),  # no vermagic key
        ({"m": {"vermagic": ["garbage"]}, "n": {"vermagic": ["5.10.0 SMP"]}}, [], None, (5, 10)),
        ({}, ["symvers:/usr/src/linux-headers-6.1.0-50-amd64/Module.symvers"], None, (6, 1)),
        ({}, ["/lib/modules/6.14.2-arch1-1/kernel/fs/ext4/ext4.ko.zst"], None, (6, 14)),
        ({}, ["system-map:/boot/System.map-6.1.0-50-amd64"], None, (6, 1)),
        ({}, ["/usr/lib/debug/boot/vmlinux-7.2.13+deb14-amd64"], None, (7, 2)),
        ({}, ["tests/data/System.map-6.1-excerpt"], None, (6, 1)),
        ({}, ["/tmp/Module.symvers"], "6.8.0-generic", None),  # not the running kernel
        ({}, ["kallsyms:/proc/kallsyms"], "6.8.0-generic", (6, 8)),
        ({}, ["kallsyms:/proc/kallsyms"], None, None),
        ({}, ["kallsyms:/proc/kallsyms"], "unknown", None),
        # a label naming the release wins over the running kernel
        ({}, ["kallsyms:/proc/kallsyms", "/lib/modules/6.1.0-50-amd64/x.ko"], "6.8.0", (6, 1)),
    ],
)  # fmt: skip
def test_kernel_version(
    module_info: dict[str, dict[str, list[str]]],
    labels: list[str],
    running: str | None,
    expected: tuple[int, int] | None,
) -> None:
    assert kernel_version(module_info, labels, running) == expected


def test_labels_may_be_any_iterable() -> None:
    labels = iter(["kallsyms:/proc/kallsyms"])
    assert kernel_version({}, labels, "6.9.1") == (6, 9)
