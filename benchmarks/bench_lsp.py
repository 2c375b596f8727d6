"""Benchmark ksql's language server as an editor sees it: latency through a real LSP client.

    .venv/bin/python benchmarks/bench_lsp.py [--corpus DIR] [--repeat N] [--quick] [--strict]
                                             [--load-timeout S]

``python -m ksql lsp -s vmlinux -s modules -s Module.symvers`` of the corpus (``--quick``: no
``modules``) runs on stdio, cold (``KSQL_NO_CACHE=1``) and then warm (a private cache, filled
first). Each server opens two generated module sources (``_cdoc.py``) and answers, one
request at a time: completion (target p99 <= 5 ms), hover (p99 <= 2 ms) and the
diagnostics of the 3,000-line one after didOpen and didChange (<= 100 ms). Targets are judged
on the cold server; completion and hover through a raw JSON client (as an editor's own
JSON-RPC layer reads them), diagnostics through pygls's client. Every answer is checked
against the same function run in this process.
See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import os
import platform
import random
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _common as bc
from _cdoc import SEED, Doc, Site, Writer
from _lsp_client import Load, Server
from lsprotocol import types

from ksql.loading import load_catalog
from ksql.lsp.completion import complete
from ksql.lsp.csource import analyze, parse
from ksql.lsp.diagnostics import diagnose
from ksql.lsp.hover import hover_markdown
from ksql.lsp.server import DEBOUNCE
from ksql.pluginmanager import load_plugins

TARGET_MS = {"completion": 5.0, "hover": 2.0, "diagnostics": 100.0}
COMPLETIONS, HOVERS, EDITS = 500, 500, 20  # per server (and document), times --repeat
SMALL_LINES, LARGE_LINES = 300, 3000
COMMON_PREFIXES = ("k", "dma_", "usb_", "jiff")
Key = tuple[str, Doc]  # (request, document)


@dataclass
class Work:
    """What every server is asked, and the answers this process gives."""

    catalog: Any
    docs: tuple[Doc, Doc]
    asks: dict[Key, list[tuple[Site, int]]]  # (a name, the cursor's offset in it)
    edits: list[str]  # the large document's edit line, for versions 2, 3, ...
    editor: str  # whose client capabilities (pytest_lsp's snapshots)
    cache: dict[Any, Any] = field(default_factory=dict)

    def problem(self, kind: str, doc: Doc, site: Site, n: int, answer: Any) -> str:
        """'' when a completion list is complete()'s (GPL-only exports ranked by the
        document's license), or a hover card names the symbol and is hover_markdown()'s."""
        if kind == "completion":
            items = answer.items if isinstance(answer, types.CompletionList) else answer
            got, prefix = [i.label for i in items or []], site.name[:n]
            if (prefix, doc.gpl_license) not in self.cache:
                found = complete(self.catalog, prefix, gpl_ok=doc.gpl_license)[0]
                self.cache[prefix, doc.gpl_license] = [c.name for c in found]
            want = self.cache[prefix, doc.gpl_license]
            if prefix == "jiff" and got[:1] != ["jiffies"]:
                return f"'jiff' -> {got[:3]}, not 'jiffies' first"
            return "" if got == want and got else f"{prefix!r}: {got[:3]}, in-process {want[:3]}"
        card = answer.contents.value if answer is not None else ""
        if (doc, site.name) not in self.cache:
            cfile = self.cache.setdefault(doc, analyze(doc.text))
            self.cache[doc, site.name] = hover_markdown(self.catalog, site.name, cfile)
        # With BTF loaded the card starts with the declaration; the title follows it.
        ok = f"### `{site.name}`" in card and card == self.cache[doc, site.name]
        return "" if ok else f"{site.name}: {card[:50]!r}"

    def diagnostics_problem(self, text: str, got: list[types.Diagnostic]) -> str:
        """'' when ``got`` is, as (line, column, code), what diagnose() finds here."""
        found = {(d.range.start.line, d.range.start.character, str(d.code)) for d in got}
        want = {(f.span.line, f.span.start, f.code) for f in diagnose(analyze(text), self.catalog)}
        if found == want and want:
            return ""
        extra, missing = sorted(found - want)[:2], sorted(want - found)[:2]
        return f"{len(found)} published, diagnose() {len(want)}: +{extra} -{missing}"


def make_work(catalog: Any, repeat: int, editor: str = "neovim") -> Work:
    w = Writer(catalog)
    small = w.doc("bench_lsp_small.c", SMALL_LINES, True)
    docs = small, w.doc("bench_lsp_large.c", LARGE_LINES, False)
    rng = random.Random(SEED + 2)
    asks: dict[Key, list[tuple[Site, int]]] = {}
    for doc in docs:  # completion: a tenth at the common prefixes, the rest after 1-6 chars
        exported = [s for s in doc.sites if s.exported]
        probes = [
            (rng.choice(sites), len(prefix))
            for prefix in COMMON_PREFIXES
            if (sites := [s for s in exported if s.name.startswith(prefix)])
            for _ in range(COMPLETIONS * repeat // 10 // len(COMMON_PREFIXES))
        ]
        while len(probes) < COMPLETIONS * repeat:
            site = rng.choice(exported)
            probes.append((site, min(len(site.name), rng.randint(1, 6))))
        rng.shuffle(probes)
        asks["completion", doc] = probes
    for doc in docs:  # hover: in the middle of a name
        sites = rng.choices(doc.sites, k=HOVERS * repeat)
        asks["hover", doc] = [(s, len(s.name) // 2) for s in sites]
    # An exported call and an unexported one by turns: the diagnostics' count alternates.
    pick = [w.pools["plain"], w.pools["unexported"] or w.pools["plain"]]
    edits = [
        f"\tret = {rng.choice(pick[i % 2])}(bench, {i}); /* edited by the benchmark */"
        for i in range(EDITS * repeat)
    ]
    return Work(catalog, docs, asks, edits, editor)


@dataclass
class Results:
    """One server's numbers (seconds), and what it got wrong."""

    mode: str
    load: Load
    messages: list[str]
    times: dict[Key, list[float]] = field(default_factory=lambda: defaultdict(list))
    counts: dict[Key, set[int]] = field(default_factory=lambda: defaultdict(set))
    wrong: dict[Key, list[str]] = field(default_factory=lambda: defaultdict(list))
    slowest: dict[str, dict[str, float]] = field(default_factory=lambda: defaultdict(dict))


async def measure(server: Server, work: Work, res: Results) -> None:
    """didOpen both documents, completion and hover in each, then edit the large one."""
    client, large = server.client, work.docs[1]
    uri = {doc: (server.root / doc.filename).as_uri() for doc in work.docs}

    async def diagnosed(kind: str, doc: Doc, version: int, text: str, params: Any) -> None:
        notify = client.text_document_did_open if version == 1 else client.text_document_did_change
        t, got = await server.diagnosed(uri[doc], version, lambda: notify(params))
        # A change's diagnostics wait for the typing to stop, by design: the work is after.
        res.times[kind, doc].append(t - DEBOUNCE if kind == "didChange" else t)
        res.counts[kind, doc].add(len(got))
        if problem := work.diagnostics_problem(text, got):
            res.wrong[kind, doc].append(f"version {version}: {problem}")

    for doc in work.docs:
        item = types.TextDocumentItem(uri=uri[doc], language_id="c", version=1, text=doc.text)
        await diagnosed("didOpen", doc, 1, doc.text, types.DidOpenTextDocumentParams(item))
    for (kind, doc), asks in work.asks.items():
        ident = types.TextDocumentIdentifier(uri=uri[doc])
        for site, n in asks:
            pos = types.Position(line=site.line, character=site.col + n)
            if kind == "completion":
                ask = client.text_document_completion_async(types.CompletionParams(ident, pos))
            else:
                ask = client.text_document_hover_async(types.HoverParams(ident, pos))
            t, answer = await server.request(ask)
            res.times[kind, doc].append(t)
            key, slowest = site.name[: n if kind == "completion" else None], res.slowest[kind]
            slowest[key] = max(t, slowest.get(key, 0.0))
            if problem := work.problem(kind, doc, site, n, answer):
                res.wrong[kind, doc].append(problem)
    lines, at = list(large.lines), large.edit_line
    for version, new in enumerate(work.edits, start=2):
        old, lines[at] = lines[at], new
        text = "\n".join(lines) + "\n"
        change: Any = types.TextDocumentContentChangeWholeDocument(text=text)
        if server.incremental:
            span = types.Range(types.Position(at, 0), types.Position(at, len(old)))
            change = types.TextDocumentContentChangePartial(range=span, text=new)
        doc_id = types.VersionedTextDocumentIdentifier(uri=uri[large], version=version)
        params = types.DidChangeTextDocumentParams(doc_id, [change])
        await diagnosed("didChange", large, version, text, params)


async def run_server(
    argv: list[str], root: Path, mode: str, work: Work, checks: bc.Checks, timeout: float
) -> Results:
    print(f"bench: {bc.mode_label(mode)} server", file=sys.stderr, flush=True)
    with bc.cache_mode(mode):
        server = Server(argv, root, work.editor)
        try:
            res = Results(mode, await server.start(timeout), server.messages)
            if res.load.ok:
                gc.collect()
                gc.disable()  # the client's collector pauses are not the server's
                try:
                    await measure(server, work, res)
                finally:
                    gc.enable()
        finally:
            stopped = await server.stop()
    label = bc.mode_label(mode)
    if not res.load.ok:
        checks.failures.append(f"{label} load failed: {res.load.note}")
        return res
    checks.agree(f"server exits with 0 after shutdown + exit ({label})", not stopped, stopped)
    ok, detail = res.load.rows == len(work.catalog), f"{res.load.rows} != {len(work.catalog)}"
    checks.agree(f"server rows = rows loaded in this process ({label})", ok, detail)
    for (kind, doc), times in res.times.items():
        wrong = res.wrong[kind, doc]
        detail = f"{len(wrong)} of {len(times)} wrong, e.g. {wrong[:2]}"
        checks.agree(f"{kind} answers, {doc.filename} ({label})", not wrong, detail)
    return res


async def run_raw(
    argv: list[str], root: Path, mode: str, work: Work, timeout: float
) -> Results | None:
    """The same completions and hovers through :mod:`_lsp_raw`: the server and the pipe, as
    an editor's own JSON-RPC layer reads them, without a Python client's decoding."""
    from _lsp_raw import RawServer
    from pygls.protocol import default_converter
    from pytest_lsp import client_capabilities

    caps = default_converter().unstructure(client_capabilities(work.editor))
    with bc.cache_mode(mode):
        server = RawServer(argv, root, caps)
        try:
            if not await server.start(timeout):
                return None
            res = Results(mode, Load(True), [])
            gc.collect()
            gc.disable()
            try:
                for doc in work.docs:
                    item = {"uri": (root / doc.filename).as_uri(), "languageId": "c",
                            "version": 1, "text": doc.text}  # fmt: skip
                    await server.open(item)
                for (kind, doc), asks in work.asks.items():
                    ident = {"uri": (root / doc.filename).as_uri()}
                    method = f"textDocument/{kind}"
                    for site, n in asks:
                        pos = {"line": site.line, "character": site.col + n}
                        params = {"textDocument": ident, "position": pos}
                        t, answer = await server.timed(method, params)
                        res.times[kind, doc].append(t)
                        if not answer:
                            res.wrong[kind, doc].append(f"{site.name[:n]!r}: no answer")
            finally:
                gc.enable()
            return res
        finally:
            await server.stop()


def percentile(samples: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100)."""
    s = sorted(samples)
    return s[max(0, math.ceil(q / 100 * len(s)) - 1)] if s else None


def report_raw(results: list[Results], targets: bc.Targets) -> None:
    rows = []
    for res in results:
        mode = bc.mode_label(res.mode)
        for (kind, doc), times in res.times.items():
            cells = [bc.ms(percentile(times, q)) for q in (50, 90, 99, 100)]
            p99 = percentile(times, 99)
            what = f"{kind} p99, {doc.filename}"
            verdict = targets.verdict(what, res.mode, p99 and p99 * 1e3, TARGET_MS[kind], " ms", 2)
            wrong = f"{len(res.wrong[kind, doc])} empty" if res.wrong[kind, doc] else ""
            rows.append([kind, doc.filename, mode, bc.num(len(times)), *cells, verdict, wrong])
    head = ["request", "document", "mode", "n", "p50", "p90", "p99", "max", "target", ""]
    body = [
        bc.table(head, rows, left=3),
        "the same requests as b., written as bytes and answered when the reply is read and",
        "parsed with json.loads: the server and the pipe, as VS Code's and Neovim's own",
        "JSON-RPC layers read them. The completion and hover targets are judged here; b.'s",
        "figures add pygls's Python client turning each answer into lsprotocol objects.",
    ]
    print(bc.section("c. Raw JSON client: completion and hover targets", "\n".join(body)))


def rows_for(catalog: Any, kind: str, key: str) -> int:
    """Catalog rows a request looks at: a completion's prefix range, a hover's name."""
    if kind == "completion":
        lo, hi = catalog.prefix_range(key)
        return hi - lo
    return len(catalog.rows_named(key))


def report(results: list[Results], work: Work, targets: bc.Targets) -> None:
    loads, rows, notes = [], [], []
    for r in results:
        ld, mode = r.load, bc.mode_label(r.mode)
        rss = f"{ld.rss_kb / 1024:,.0f} MiB" if ld.rss_kb else "-"
        times_s = [bc.ms(ld.load_s), bc.ms(ld.total_s)]
        loads.append([mode, bc.num(ld.rows), bc.num(ld.sources), *times_s, rss])
        notes += [f"{mode}: {ld.note}"] if ld.note else []
        notes += [f"{mode}: the server said {m!r}" for m in r.messages]
        for (kind, doc), times in r.times.items():
            p99, verdict = percentile(times, 99), "-"
            target = TARGET_MS.get(kind, TARGET_MS["diagnostics"])
            if kind in TARGET_MS:  # judged in c., without the Python client's decoding
                verdict = "see c."
            elif doc is work.docs[1]:  # diagnostics: of the large file
                what = f"{kind} {'p99' if len(times) > 1 else 'time'}, {doc.filename}"
                verdict = targets.verdict(what, r.mode, p99 and p99 * 1e3, target, " ms", 2)
            counts = "/".join(map(bc.num, sorted(r.counts.get((kind, doc), ())))) or "-"
            cells = [bc.ms(percentile(times, q)) for q in (50, 90, 99, 100)]
            rows.append([kind, doc.filename, mode, bc.num(len(times)), *cells, verdict, counts])
    head = ["mode", "rows", "sources", "initialized -> loaded", "start -> loaded", "RSS loaded"]
    body = [
        "loaded = the server logged 'ksql: N symbols from M sources' (window/logMessage)",
        bc.table(head, loads, left=1),
        *notes,
    ]
    print(bc.section("a. Server start and catalog load", "\n".join(body)))
    slow = []
    for kind, slowest in results[0].slowest.items():  # the cold server's
        top = sorted(slowest.items(), key=lambda kv: -kv[1])[:4]
        shown = [f"{k!r} {bc.ms(t)} ({rows_for(work.catalog, kind, k):,} rows)" for k, t in top]
        slow.append(f"slowest {kind}s (cold, max): {', '.join(shown)}")
    large = work.docs[1]
    parse_s, cfile = bc.best_of(3, lambda: analyze(large.text, parse(large.text)))
    diagnose_s, _ = bc.best_of(3, lambda: diagnose(cfile, work.catalog))
    head = ["request", "document", "mode", "n", "p50", "p90", "p99", "max", "target"]
    body = [
        bc.table([*head, "diagnostics"], rows, left=3),
        *slow,
        "targets: diagnostics of the 3,000-line file <= 100 ms (completion and hover: c.).",
        "Round trip: request written -> answer decoded by the client; didOpen",
        "and didChange: notification sent -> that version's publishDiagnostics (didChange:",
        f"less the server's {DEBOUNCE} s debounce). didChange rewrites one line, an exported",
        "call and an unexported one by turns.",
        f"in this process, {large.filename}: parse + analyze {bc.ms(parse_s)}, "
        f"diagnose {bc.ms(diagnose_s)} (best of 3)",
    ]
    print(bc.section("b. Requests, one at a time (nearest-rank percentiles)", "\n".join(body)))


def header(corpus: Path, paths: list[Path], work: Work, load_s: float) -> str:
    from importlib.metadata import version

    docs = [
        f"doc:     {d.filename}: {len(d.lines):,} lines, {len(d.sites):,} calls, "
        f'MODULE_LICENSE("{"GPL" if d.gpl_license else "Proprietary"}")'
        for d in work.docs
    ]
    asks = [len(work.asks[k, work.docs[0]]) for k in ("completion", "hover")]
    lines = [
        "ksql language-server benchmark (LSP on stdio, one request at a time)",
        f"corpus:  {corpus}",
        f"server:  python -m ksql lsp {' '.join(f'-s {p.name}' for p in paths)}",
        f"client:  pygls {version('pygls')} LanguageClient, {work.editor}'s capabilities "
        "(pytest_lsp's snapshot),",
        "         root = corpus, its garbage collector off while timing",
        f"host:    python {platform.python_version()}, {os.cpu_count()} cpus",
        *bc.CACHE_NOTE,
        f"catalog: {len(work.catalog):,} rows, loaded in this process too (cold, {bc.ms(load_s)})",
        *docs,
        f"asks:    per document {asks[0]:,} completions and {asks[1]:,} hovers; "
        f"{len(work.edits)} didChange of {work.docs[1].filename}",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", metavar="DIR", help="default: $KSQL_CORPUS or fetch-corpus.sh")
    p.add_argument("--repeat", type=int, default=1, metavar="N", help="N times the requests")
    p.add_argument("--quick", action="store_true", help="vmlinux and Module.symvers only")
    p.add_argument("--strict", action="store_true", help="exit 1 on any MISMATCH")
    p.add_argument(
        "--btf", action="store_true", help="also btf:vmlinux (declarations in hover/completion)"
    )
    p.add_argument("--tree", metavar="DIR", help="also a kernel source tree (sites in hover)")
    p.add_argument(
        "--editor", default="neovim", metavar="NAME",
        help="whose client capabilities: pytest_lsp's newest snapshot of neovim (default: 0.11, "
        "with CompletionList.itemDefaults) or visual-studio-code (1.65, without)",
    )  # fmt: skip
    p.add_argument("--load-timeout", type=float, default=120.0, metavar="S", help="default 120")
    args = p.parse_args(argv)
    corpus = bc.corpus_dir(args.corpus)
    names = (
        ["vmlinux", "Module.symvers"] if args.quick else ["vmlinux", "modules", "Module.symvers"]
    )
    paths = [corpus / n for n in names]
    server_argv = [sys.executable, "-m", "ksql", "lsp"]
    for path in paths:
        if not path.exists():
            raise SystemExit(f"bench: {path} is missing (scripts/fetch-corpus.sh makes it)")
    # Typed specs (btf:, tree:) are kept as strings: Path would fold "btf:/x" oddly.
    specs = [str(p) for p in paths]
    if args.btf:
        specs.append(f"btf:{corpus / 'vmlinux'}")
    if args.tree:
        specs.append(f"tree:{Path(args.tree).absolute()}")
    for spec in specs:
        server_argv += ["-s", spec]
    paths = [Path(s) for s in specs]
    checks, targets = bc.Checks(other="in-process"), bc.Targets()
    with bc.private_cache():
        start = time.perf_counter()
        catalog = load_catalog(list(map(str, paths)), load_plugins())
        load_s = time.perf_counter() - start
        catalog.name_order()
        with bc.cache_mode(bc.WARM):  # fill the warm server's cache: the same load, untimed
            load_catalog(list(map(str, paths)), load_plugins())
        work = make_work(catalog, max(1, args.repeat), args.editor)
        jiff = any(s.name[:n] == "jiff" for s, n in work.asks["completion", work.docs[1]])
        checks.agree("'jiff' is completed (it must offer 'jiffies' first)", jiff)
        print(header(corpus, paths, work, load_s), flush=True)
        results = [
            asyncio.run(run_server(server_argv, corpus, mode, work, checks, args.load_timeout))
            for mode in (bc.COLD, bc.WARM)
        ]
        raw = [
            asyncio.run(run_raw(server_argv, corpus, mode, work, args.load_timeout))
            for mode in (bc.COLD, bc.WARM)
        ]
        bc.check_cache_modes(checks)
    report(results, work, targets)
    if all(r is not None for r in raw):
        report_raw([r for r in raw if r is not None], targets)
    else:
        checks.failures.append("a raw-client server did not load")
    print(bc.section("Summary", f"{targets.summary()}\n{checks.summary()}"), flush=True)
    return 1 if args.strict and checks.failures else 0


if __name__ == "__main__":
    sys.exit(main())
