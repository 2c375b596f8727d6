"""The .modinfo spelling rules."""

from __future__ import annotations

import pytest

from ksql.kernel.modinfo import modinfo_values


@pytest.mark.parametrize(
    ("info", "key", "expected"),
    [
        ({"depends": ["usbcore,scsi_mod"]}, "depends", ["usbcore", "scsi_mod"]),
        ({"depends": [""]}, "depends", []),
        ({"alias": ["usb:v1*", "usb:v2*"]}, "alias", ["usb:v1*", "usb:v2*"]),
        ({"import_ns": ["DMA_BUF,USB"]}, "import_ns", ["DMA_BUF,USB"]),  # one per line
        ({}, "license", []),
    ],
)
def test_modinfo_values(info: dict[str, list[str]], key: str, expected: list[str]) -> None:
    assert modinfo_values(info, key) == expected
