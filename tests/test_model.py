from __future__ import annotations

import pytest

from ksql.kernel.modules import normalize_module_name
from ksql.model import TYPE_LETTERS, Bind, ExportKind, Kind, Symbol


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("drivers/usb/storage/usb-storage", "usb_storage"),
        ("/home/me/src/m2/m2", "m2"),
        ("snd-hda-intel.ko", "snd_hda_intel"),
        ("vmlinux", "vmlinux"),
        ("m1.o", "m1"),
    ],
)
def test_module_names_follow_kbuild(path: str, name: str) -> None:
    assert normalize_module_name(path) == name


@pytest.mark.parametrize(
    ("letter", "bind", "kind", "undefined"),
    [
        ("T", Bind.GLOBAL, Kind.FUNCTION, False),
        ("t", Bind.LOCAL, Kind.FUNCTION, False),
        ("D", Bind.GLOBAL, Kind.OBJECT, False),
        ("b", Bind.LOCAL, Kind.OBJECT, False),
        ("U", Bind.GLOBAL, Kind.UNKNOWN, True),
        ("w", Bind.WEAK, Kind.FUNCTION, True),
        ("W", Bind.WEAK, Kind.FUNCTION, False),
        ("v", Bind.WEAK, Kind.OBJECT, True),
        ("A", Bind.GLOBAL, Kind.ABSOLUTE, False),
    ],
)
def test_type_letters(letter: str, bind: Bind, kind: Kind, undefined: bool) -> None:
    info = TYPE_LETTERS[letter]
    assert (info.bind, info.kind, info.undefined) == (bind, kind, undefined)


def test_export_kinds_and_gpl() -> None:
    assert ExportKind.parse("export_symbol_gpl") is ExportKind.EXPORT_SYMBOL_GPL
    assert ExportKind.parse("EXPORT_SYMBOL_GPL_FUTURE") is ExportKind.EXPORT_SYMBOL_GPL_FUTURE
    assert ExportKind.parse("EXPORT_SYMBOL_GPLX") is None
    assert [k.label for k in ExportKind if k.gpl_only] == [
        "EXPORT_SYMBOL_GPL",
        "EXPORT_SYMBOL_GPL_FUTURE",
        "EXPORT_UNUSED_SYMBOL_GPL",
    ]


def test_symbol_as_dict_uses_query_field_names() -> None:
    sym = Symbol(
        "rday_3",
        "m2",
        0xFFFFFFFFA00F6570,
        "D",
        export=ExportKind.EXPORT_SYMBOL,
        crc=0x291BCCCD,
        sources=("kallsyms:x",),
    )
    assert sym.as_dict() == {
        "name": "rday_3",
        "module": "m2",
        "addr": "0xffffffffa00f6570",
        "type": "D",
        "size": None,
        "section": None,
        "bind": "unknown",
        "kind": "unknown",
        "export": "EXPORT_SYMBOL",
        "namespace": None,
        "crc": "0x291bcccd",
        "bits": None,
        "exported": True,
        "gpl": False,
        "defined": True,
        "undefined": False,
        "decl": None,
        "exported_at": None,
        "defined_at": None,
        "declared_at": None,
        "source": ["kallsyms:x"],
    }
