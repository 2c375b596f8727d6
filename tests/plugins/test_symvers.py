"""The Module.symvers source: every layout modpost has written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ksql.catalog import Catalog
from ksql.errors import SourceError
from ksql.model import ExportKind
from ksql.plugins.symvers import ModuleSymvers
from tests.conftest import DATA

Load = Callable[..., Catalog]
SYM = ExportKind.EXPORT_SYMBOL
GPL = ExportKind.EXPORT_SYMBOL_GPL


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # >= 5.6: namespace last, trailing tab when empty
        ("0x291bcccd\trday_3\tm2\tEXPORT_SYMBOL\t\n", ("rday_3", "m2", SYM, "", 0x291BCCCD)),
        (
            "0x9f28c4c0\tusb_stor_host_template_init\tdrivers/usb/storage/usb-storage"
            "\tEXPORT_SYMBOL_GPL\tUSB_STORAGE\n",
            ("usb_stor_host_template_init", "usb_storage", GPL, "USB_STORAGE", 0x9F28C4C0),
        ),
        # 5.4-5.5: namespace third
        (
            "0x1bc3edc2\tusb_stor_sense_invalidCDB\tUSB_STORAGE\tdrivers/usb/storage/usb-storage"
            "\tEXPORT_SYMBOL_GPL\n",
            ("usb_stor_sense_invalidCDB", "usb_storage", GPL, "USB_STORAGE", 0x1BC3EDC2),
        ),
        ("0x12345678\tfoo\t\tvmlinux\tEXPORT_SYMBOL\n", ("foo", "vmlinux", SYM, "", 0x12345678)),
        # 2.6.18-5.3: four columns; historical kinds
        (
            "0x0bd4cdb3\told_api\tvmlinux\tEXPORT_UNUSED_SYMBOL_GPL\n",
            ("old_api", "vmlinux", ExportKind.EXPORT_UNUSED_SYMBOL_GPL, "", 0x0BD4CDB3),
        ),
        (
            "0x0bd4cdb3\tfuture\tvmlinux\tEXPORT_SYMBOL_GPL_FUTURE\n",
            ("future", "vmlinux", ExportKind.EXPORT_SYMBOL_GPL_FUTURE, "", 0x0BD4CDB3),
        ),
        # before 2.6.18: three columns, flavour unknown
        (
            "0xdeadbeef\tprintk\tvmlinux\n",
            ("printk", "vmlinux", ExportKind.EXPORTED, "", 0xDEADBEEF),
        ),
        # M= builds write absolute module paths
        (
            "0x291bcccd\trday_3\t/home/me/m-2/m-2\tEXPORT_SYMBOL\t\n",
            ("rday_3", "m_2", SYM, "", 0x291BCCCD),
        ),
        # names are never split on spaces
        (
            "0x00000001\tweird name\tvmlinux\tEXPORT_SYMBOL\t\n",
            ("weird name", "vmlinux", SYM, "", 1),
        ),
    ],
)
def test_layouts(tmp_path: Path, load: Load, line: str, expected: tuple[object, ...]) -> None:
    src = tmp_path / "Module.symvers"
    src.write_text(line)
    (sym,) = load(f"symvers:{src}").symbols([0])
    assert (sym.name, sym.module, sym.export, sym.namespace, sym.crc) == expected


def test_zero_crcs_mean_no_modversions(tmp_path: Path, load: Load) -> None:
    src = tmp_path / "Module.symvers"
    src.write_text(
        "0x00000000\ta\tvmlinux\tEXPORT_SYMBOL\t\n0x00000000\tb\tm\tEXPORT_SYMBOL_GPL\t\n"
    )
    assert {s.crc for s in load(src).symbols([0, 1])} == {None}


def test_seed_file(load: Load) -> None:
    (sym,) = load(DATA / "seed.Module.symvers").lookup("rday_3")
    assert (sym.module, sym.export, sym.crc, sym.addr) == ("m2", SYM, 0x291BCCCD, None)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("0x1\ta\tvmlinux\tEXPORT_SYMBOL\t\nrubbish\n", 2, "1 tab-separated field(s)"),
        ("0xzz\ta\tvmlinux\tEXPORT_SYMBOL\t\n", 1, "bad CRC in field 1 (not a hexadecimal number)"),
        ("0x1\ta\tvmlinux\tEXPORT_SYMBOL_GPLX\t\n", 1, "unknown export kind 'EXPORT_SYMBOL_GPLX'"),
        ("0x1\ta\tb\tc\td\n", 1, "no EXPORT_* kind in field 4 or 5;"),
        ("0x1\ta\tb\tTOKEN=s3cr3t\n", 1, "unknown export kind in the export field (known:"),
        ("0x1\t\tvmlinux\tEXPORT_SYMBOL\t\n", 1, "empty symbol name"),
    ],
)
def test_bad_lines(tmp_path: Path, load: Load, text: str, line: int, message: str) -> None:
    src = tmp_path / "Module.symvers"
    src.write_text(text)
    with pytest.raises(SourceError) as err:
        load(f"symvers:{src}")
    assert str(err.value).startswith(f"{src}:{line}: {message}")


@pytest.mark.parametrize(
    ("content", "recognized"),
    [
        (b"0x291bcccd\trday_3\tm2\tEXPORT_SYMBOL\t\n", True),
        (b"0xdeadbeef\tprintk\tvmlinux\n", True),
        (b"ffffffff81000000 T _text\n", False),
        (b"0x291bcccd rday_3 m2 EXPORT_SYMBOL\n", False),
    ],
)
def test_recognizes_by_content(content: bytes, recognized: bool) -> None:
    assert ModuleSymvers().recognizes(Path("x"), content) is recognized
