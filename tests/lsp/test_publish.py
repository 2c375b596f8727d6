"""Diagnostics as the client gets them: findings placed in client units, module-only a
warning, the module guessed from the file name; and the hooks the server runs."""

from __future__ import annotations

import pytest
from lsprotocol import types
from pygls.workspace import PositionCodec

from ksql.lsp import publish
from ksql.lsp.csource import Span
from ksql.lsp.diagnostics import CODE_MODULE_ONLY, GPL_ONLY, NAMESPACE, Finding
from ksql.lsp.documents import Codec
from ksql.lsp.server import make_server


@pytest.mark.parametrize(
    ("uri", "module"),
    [
        ("file:///src/drivers/kvm-amd.c", "kvm-amd"),  # diagnose() normalizes the spelling
        ("file:///src/my_driver.c", "my_driver"),
        ("file:///src/foo.mod.c", "foo"),
        ("file:///src/include/x.h", "x"),
        ("untitled:Untitled-1", None),
    ],
)
def test_module_guess(uri: str, module: str | None) -> None:
    assert publish.module_guess(uri) == module


@pytest.mark.parametrize(
    ("encoding", "start", "end"),
    [
        (types.PositionEncodingKind.Utf16, 6, 13),  # "é" is one unit, the emoji two
        (types.PositionEncodingKind.Utf8, 9, 16),
        (types.PositionEncodingKind.Utf32, 5, 12),
    ],
)
def test_to_diagnostics(encoding: types.PositionEncodingKind, start: int, end: int) -> None:
    lines = ("/*é\U0001f600*/ jiffies;\n",)
    codec = Codec(PositionCodec(encoding), lines)
    findings = [
        Finding(Span(0, 5, 0, 12), GPL_ONLY, "gpl"),
        Finding(Span(0, 5, 0, 12), CODE_MODULE_ONLY, "only"),
        Finding(Span(0, 5, 0, 12), NAMESPACE, "ns", {"namespace": "DMA_BUF"}),
    ]
    got = publish.to_diagnostics(findings, codec)
    assert [(d.code, d.severity, d.message, d.source, d.data) for d in got] == [
        ("gpl-only", types.DiagnosticSeverity.Error, "gpl", "ksql", None),
        ("module-only", types.DiagnosticSeverity.Warning, "only", "ksql", None),
        ("namespace", types.DiagnosticSeverity.Error, "ns", "ksql", {"namespace": "DMA_BUF"}),
    ]
    assert {(d.range.start.character, d.range.end.character) for d in got} == {(start, end)}


def test_make_server_registers_the_diagnostics_hooks() -> None:
    server = make_server()
    assert [getattr(h, "func", h) for h in server.on_change] == [publish.publish]
    assert [getattr(h, "func", h) for h in server.on_close] == [publish.clear]


def test_the_server_keeps_its_catalog_copied_out_of_the_cache(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its catalog lives for hours: a cached one must not stay mapped to its entry's file."""
    import ksql.loading
    from ksql.catalog import Catalog

    seen: list[dict[str, object]] = []

    def load_catalog(*args: object, **kwargs: object) -> Catalog:
        seen.append(kwargs)
        return Catalog()

    monkeypatch.setattr(ksql.loading, "load_catalog", load_catalog)
    server = make_server()
    server.protocol.client_capabilities = types.ClientCapabilities()  # no progress
    monkeypatch.setattr(server, "window_show_message", lambda *a: None)
    server.load([])
    assert seen and seen[0].get("long_lived") is True
