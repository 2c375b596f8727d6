"""``module:`` namespaces (EXPORT_SYMBOL_FOR_MODULES): who may use such an export."""

from __future__ import annotations

import pytest

from ksql.kernel.namespaces import MODULE_PREFIX, allowed_modules


@pytest.mark.parametrize(
    ("namespace", "allowed"),
    [
        ("module:kvm", ("kvm",)),
        ("module:kvm,kvm-amd,kvm-intel", ("kvm", "kvm_amd", "kvm_intel")),
        ("module:kvm-amd,kvm-intel", ("kvm_amd", "kvm_intel")),
        ("module: kvm , kvm-amd", ("kvm", "kvm_amd")),  # spaces around names do not count
        ("module:kvm,", ("kvm",)),  # an empty entry names no module
        ("module:", ()),
        ("DMA_BUF", None),  # an ordinary namespace: import it
        ("", None),
        ("MODULE:kvm", None),  # the prefix is case-sensitive (strstarts)
        ("kvm:module:kvm", None),
    ],
)
def test_allowed_modules(namespace: str, allowed: tuple[str, ...] | None) -> None:
    assert allowed_modules(namespace) == allowed


def test_prefix() -> None:
    assert MODULE_PREFIX == "module:"
