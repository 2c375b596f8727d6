"""Query semantics on a small real catalog, and the errors compile gives."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ksql.catalog import Catalog
from ksql.errors import QuerySyntaxError
from ksql.query.compiler import compile_query
from tests.conftest import DATA, names

Load = Callable[..., Catalog]


@pytest.fixture
def cat(load: Load) -> Catalog:
    return load(
        DATA / "System.map-6.1-excerpt",
        DATA / "Module.symvers-6.1-excerpt",
        DATA / "kallsyms-m2-excerpt.txt",
        DATA / "seed.Module.symvers",
        DATA / "m1.nm.txt",
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("exported and module=m2 and type=D", ["rday_3"]),
        ("gpl and namespace=DMA_BUF", ["dma_buf_export"]),
        ("gpl and namespace=USB*", ["usb_stor_host_template_init", "usb_stor_sense_invalidCDB"]),
        ("module=usb-storage and name~CDB$", ["usb_stor_sense_invalidCDB"]),
        ("*printk", ["_printk", "__ksymtab__printk", "_printk"]),
        ("_printk and defined", ["_printk"]),
        ("name=user_* order by addr desc", ["user_read", "user_read"]),
        ("user_read and local", ["user_read"]),
        ("name in (jiffies, kern_path) and exported", ["kern_path", "jiffies"]),
        ("undefined and module=m1", ["__fentry__", "__x86_return_thunk", "_printk", "jiffies"]),
        ('name="*printk"', []),
        (
            "type in (R) and name=__start*",
            ["__start___ksymtab", "__start___ksymtab_gpl", "__start___kcrctab"],
        ),
        ("type=[Aa]", ["kexec_control_code_size"]),
        ("addr >= 0xffffffff82a079c0 and module=vmlinux", ["jiffies", "kern_path"]),
        ("addr < 16 and module=vmlinux", ["__per_cpu_start", "fixed_percpu_data"]),
        ("crc=0x291bcccd", ["rday_3"]),
        ("export=exported", []),
        ("export=none and module=m2", ["__ksymtab_rday_3", "__kstrtab_rday_3", "rday_2"]),
        (
            "source=symvers:* and not source=kallsyms:*",
            ["usb_stor_host_template_init", "usb_stor_sense_invalidCDB"],
        ),
        ("function and module=m1 and global", ["cleanup_module", "init_module"]),
        ("data and module=m2", ["__ksymtab_rday_3", "__kstrtab_rday_3", "rday_3", "rday_2"]),
        ('namespace="" and gpl and module=vmlinux', ["user_read"]),
        ("exported order by name limit 2", ["_printk", "dma_buf_export"]),
        ("bind=weak", []),
        (
            "module=m2 order by type desc, name",
            ["__kstrtab_rday_3", "__ksymtab_rday_3", "rday_2", "rday_3"],
        ),
        ("module=m2 order by export desc, name limit 2", ["rday_3", "__kstrtab_rday_3"]),
        # Rows with equal sources are ordered by the next key (ties used to keep row order).
        (
            "module=m2 order by source desc, name",
            ["rday_3", "__kstrtab_rday_3", "__ksymtab_rday_3", "rday_2"],
        ),
    ],
)
def test_queries(cat: Catalog, query: str, expected: list[str]) -> None:
    assert names(cat, query) == expected


def test_count_ignores_limit(cat: Catalog) -> None:
    plan = compile_query("exported limit 1")
    assert (plan.count(cat), len(plan.rows(cat))) == (8, 1)


def test_name_index_gives_the_same_answers(cat: Catalog) -> None:
    queries = ["_printk", "user_*", "name=kern_path", "usb_stor_s*", "name=zzz*"]
    before = [names(cat, q) for q in queries]
    cat.name_order()
    assert [sorted(names(cat, q)) for q in queries] == [sorted(b) for b in before]


@pytest.mark.parametrize(
    ("query", "column", "message"),
    [
        (
            "nmae=foo",
            1,
            "unknown field 'nmae'; did you mean 'name'? fields: name, module, addr, type, size, "
            "section, bind, kind, export, namespace, crc, bits, decl, exported_at, defined_at, "
            "declared_at, source, license, import_ns, depends, vermagic, author, description, "
            "version, srcversion, alias, firmware, intree, softdep, file",
        ),
        (
            "type=ZZ",
            6,
            "bad type 'ZZ': an nm letter, one of A a B b C c D d G g i I N n p R r S s T t U u V "
            "v W w - ?",
        ),
        (
            "exported and export=EXPORT_SYMBOL_GLP",
            21,
            "bad export 'EXPORT_SYMBOL_GLP'; did you mean 'EXPORT_SYMBOL_GPL'? choices: none, "
            "exported, EXPORT_SYMBOL, EXPORT_SYMBOL_GPL, EXPORT_SYMBOL_GPL_FUTURE, "
            "EXPORT_UNUSED_SYMBOL, EXPORT_UNUSED_SYMBOL_GPL",
        ),
        (
            "bind=globl",
            6,
            "bad bind 'globl'; did you mean 'global'? choices: unknown, global, "
            "local, weak, unique",
        ),
        ("name<foo", 5, "'<' compares numbers (addr, size, crc); name is not one"),
        ("addr~x", 6, "'~' matches text; addr is a number"),
        ("addr=xyz", 6, "addr takes a number (decimal or 0x hex), not 'xyz'"),
        ("size>=99999999999999999999999", 7, "size 99999999999999999999999 is out of range"),
        (
            "order by nmae",
            10,
            "unknown field 'nmae'; did you mean 'name'? fields: name, module, "
            "addr, type, size, section, bind, kind, export, namespace, crc, bits, decl, "
            "exported_at, defined_at, declared_at, source, license, import_ns, depends, "
            "vermagic, author, description, version, srcversion, alias, firmware, intree, "
            "softdep, file",
        ),
        ('name~"(x"', 9, "bad regular expression: missing )"),
        (
            "exported order by license",
            19,
            "cannot order by license, a .modinfo key of the row's module; order by one of: "
            "name, module, addr, type, size, section, bind, kind, export, namespace, crc, bits, "
            "decl, exported_at, defined_at, declared_at, source",
        ),
    ],
)
def test_errors(query: str, column: int, message: str) -> None:
    with pytest.raises(QuerySyntaxError) as err:
        compile_query(query)
    assert (err.value.column, err.value.message) == (column, message)
