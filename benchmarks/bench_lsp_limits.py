"""The language server under abuse (the hardening audit's reproducers), timed end to end:

- ``slow``: a catastrophic ``workspace/symbol`` regex over a generated 200,000-row kallsyms,
  and a hover sent 0.2 s later: how long each takes to answer;
- ``big``: a 10 MB (600,000-line) C document: the first and a later hover, the server's RSS;
- ``typing``: 1,000 rapid incremental ``didChange`` with hovers between them: the hover
  round trips and how many ``publishDiagnostics`` arrive.

    .venv/bin/python benchmarks/bench_lsp_limits.py [slow big typing]
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _lsp_client import Server
from lsprotocol import types

SLOW_QUERY = 'name~"([a-z_0-9]+)+!"'


def kallsyms(path: Path, rows: int = 200_000) -> Path:
    with path.open("w") as f:
        for i in range(rows):
            f.write(f"{0xFFFFFFFF81000000 + 16 * i:016x} T sym_{i:06d}_abcdefghij_klmnop\n")
        f.write("ffffffff80000000 T printk\n")
    return path


def c_document(lines: int) -> str:
    """``lines`` lines: a license, then five-line functions; line 5k + 4 is a call whose
    argument (from character 15) is a kallsyms name."""
    per = (
        "static int f{0}(void)\n{{\n"
        '\tprintk("%d", sym_{1:06d}_abcdefghij_klmnop);\n\treturn 0;\n}}\n'
    )
    body = ['#include <linux/module.h>\nMODULE_LICENSE("GPL");\n']
    body.extend(per.format(i, i % 200_000) for i in range((lines - 2) // 5))
    return "".join(body)


def hover(server: Server, uri: str, line: int, character: int):  # type: ignore[no-untyped-def]
    return server.client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=line, character=character),
        )
    )


def open_doc(server: Server, uri: str, text: str) -> None:
    server.client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="c", version=1, text=text)
        )
    )


async def slow(server: Server, root: Path) -> None:
    uri = (root / "m.c").as_uri()
    open_doc(server, uri, c_document(100))
    t0 = time.perf_counter()
    ws = asyncio.ensure_future(
        server.client.workspace_symbol_async(types.WorkspaceSymbolParams(query=SLOW_QUERY))
    )
    await asyncio.sleep(0.2)
    th = time.perf_counter()
    try:
        await asyncio.wait_for(hover(server, uri, 4, 20), 30)
        hover_s = f"{(time.perf_counter() - th) * 1000:.0f} ms"
    except TimeoutError:
        hover_s = "no answer within 30 s"
    try:
        found = await asyncio.wait_for(ws, 30)
        ws_s = f"after {time.perf_counter() - t0:.2f} s ({len(found or [])} symbols)"
    except TimeoutError:
        ws_s = "no answer within 30 s"
    print(f"slow: a hover sent 0.2 s into the query: {hover_s}; workspace/symbol: {ws_s}")


async def big(server: Server, root: Path) -> None:
    text = c_document(600_000)
    uri = (root / "big.c").as_uri()
    print(f"big: {len(text) / 1e6:.1f} MB, {text.count(chr(10)):,} lines")
    open_doc(server, uri, text)
    for which in ("first", "second", "third"):
        t = time.perf_counter()
        result = await hover(server, uri, 300_004, 20)
        print(
            f"big: {which} hover {time.perf_counter() - t:.3f} s ({'card' if result else 'none'});"
            f" RSS {(server.rss() or 0) // 1024:,} MB"
        )


async def typing(server: Server, root: Path, edits: int = 1000) -> None:
    text = c_document(3000)
    uri = (root / "typing.c").as_uri()
    published: list[int] = []

    class Recorder(dict):  # type: ignore[type-arg]
        """Server's publishDiagnostics handler pops its waiters by (uri, version)."""

        def pop(self, key, default=None):  # type: ignore[no-untyped-def]
            published.append(key[1])
            return super().pop(key, default)

    server.waiters = Recorder()
    open_doc(server, uri, text)
    hovers: list[float] = []
    t0 = time.perf_counter()
    for v in range(2, edits + 2):
        server.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=v),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(
                            start=types.Position(line=2, character=0),
                            end=types.Position(line=2, character=0 if v % 2 else 1),
                        ),
                        text="x" if v % 2 else "",
                    )
                ],
            )
        )
        if v % 10 == 0:
            t = time.perf_counter()
            await hover(server, uri, 4, 20)
            hovers.append(time.perf_counter() - t)
        await asyncio.sleep(0)
    sent = time.perf_counter() - t0
    await asyncio.sleep(2)
    print(
        f"typing: {edits} edits sent in {sent:.2f} s;"
        f" hover p50 {statistics.median(hovers) * 1000:.1f} ms,"
        f" max {max(hovers) * 1000:.1f} ms; {len(published)} publishDiagnostics,"
        f" last for version {published[-1] if published else None} (final {edits + 1})"
    )


async def main(which: list[str]) -> int:
    root = Path(tempfile.mkdtemp(prefix="ksql-limits-"))
    src = kallsyms(root / "kallsyms")
    for name in which:
        server = Server([sys.executable, "-m", "ksql", "lsp", f"-skallsyms:{src}"], root)
        load = await server.start(120)
        assert load.ok, load.note
        try:
            await {"slow": slow, "big": big, "typing": typing}[name](server, root)
        finally:
            await server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:] or ["slow", "big", "typing"])))
