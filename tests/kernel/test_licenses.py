"""The GPL-compatible licence list of include/linux/license.h, string by string."""

from __future__ import annotations

import pytest

from ksql.kernel.licenses import GPL_COMPATIBLE, license_is_gpl_compatible


@pytest.mark.parametrize(
    ("license", "compatible"),
    [
        ("GPL", True),
        ("GPL v2", True),
        ("GPL and additional rights", True),
        ("Dual BSD/GPL", True),
        ("Dual MIT/GPL", True),
        ("Dual MPL/GPL", True),
        ("Proprietary", False),
        ("MIT", False),
        ("GPL v3", False),  # not on the kernel's list, whatever the FSF says
        ("GPL-2.0", False),  # an SPDX identifier is not a MODULE_LICENSE string
        ("gpl", False),  # strcmp: case matters
        (" GPL", False),
        ("", False),
    ],
)
def test_license_is_gpl_compatible(license: str, compatible: bool) -> None:
    assert license_is_gpl_compatible(license) is compatible


def test_the_list_is_the_kernels() -> None:
    assert sorted(GPL_COMPATIBLE) == [
        "Dual BSD/GPL",
        "Dual MIT/GPL",
        "Dual MPL/GPL",
        "GPL",
        "GPL and additional rights",
        "GPL v2",
    ]
