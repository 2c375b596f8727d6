"""Benchmark ksql's language server as an editor sees it: request latency through a real LSP
client round trip.

Run on demand (not a pytest test)::

    .venv/bin/python benchmarks/bench_lsp.py [--corpus DIR] [--repeat N] [--quick] [--strict]
                                             [--load-timeout S] [--pin]

``python -m ksql lsp -s vmlinux -s modules -s Module.symvers`` (``--quick``: no ``modules``) of
the corpus (``--corpus``, else ``$KSQL_CORPUS``, else what ``scripts/fetch-corpus.sh .corpus``
prints) runs as a subprocess on stdio; pygls's ``LanguageClient`` drives it with VS Code's
client capabilities (``pytest_lsp.client_capabilities("visual-studio-code")``) and the corpus
as the workspace root. The catalog loads in a server thread after ``initialized``; the load
is done when the server logs ``ksql: N symbols from M sources``. It is timed cold
(``KSQL_NO_CACHE=1``) and warm (``KSQL_CACHE_DIR`` = a private temporary directory, after one
untimed server that fills it). A load that logs nothing within ``--load-timeout`` seconds is
reported as a server bug, with what the server's threads and child processes wait on; the
server is then started again pinned to one CPU (one decoding worker, so no process pool).
``--pin`` starts it that way from the beginning.

Two generated module sources are opened: a ~300-line one and a ~3,000-line one, both calling
real kernel functions taken from the catalog (exported ones, GPL-only ones, namespaced ones
and some that are not exported). Each server then answers, one request at a time:

- completion at identifier prefixes (1-6 characters of real names, and ``k``, ``dma_``,
  ``usb_``, ``jiff``): target p99 <= 10 ms;
- hover on the kernel names in the documents: target p99 <= 2 ms;
- diagnostics of the 3,000-line file: didOpen, then didChange to new versions, each timed
  until the ``textDocument/publishDiagnostics`` of that version arrives: target <= 100 ms.

Targets are judged on the cold server; the warm one is shown for reference. The answers are
checked: completion labels against ``ksql.lsp.completion.complete`` in this process and
"jiff" -> "jiffies"; hover cards against the catalog; diagnostics against modpost's rules
applied to what the generator wrote, and against ``diagnose`` run in this process.

Stdlib, the project, pygls, lsprotocol and pytest-lsp (for the client capabilities).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import functools
import gc
import importlib.metadata
import math
import os
import platform
import random
import re
import signal
import sys
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import (
    CACHE_NOTE,
    COLD,
    WARM,
    Checks,
    Targets,
    cache_mode,
    check_cache_modes,
    corpus_dir,
    meets,
    mode_label,
    ms,
    num,
    private_cache,
    section,
    table,
)
from lsprotocol import types
from pygls.lsp.client import LanguageClient
from pygls.protocol import LanguageServerProtocol

VMLINUX, MODULES, SYMVERS = "vmlinux", "modules", "Module.symvers"
TARGET_COMPLETION_MS = 10.0
TARGET_HOVER_MS = 2.0
TARGET_DIAGNOSTICS_MS = 100.0
COMPLETIONS, HOVERS, EDITS = 500, 500, 20  # per document and server, times --repeat
SMALL_LINES, LARGE_LINES = 300, 3000
COMMON_PREFIXES = ("k", "dma_", "usb_", "jiff")
READY = re.compile(r"ksql: ([\d,]+) symbols from (\d+) sources")
REQUEST_TIMEOUT = 60.0  # seconds for one request or one publishDiagnostics
SEED = 20240601
NOT_EXPORTED, GPL_ONLY, NAMESPACE = "not-exported", "gpl-only", "namespace"

# Well-known module API, used when the catalog exports them (and they are functions or, for
# jiffies, data): what a real driver calls most.
COMMON_NAMES = (
    "kfree",
    "__kmalloc",
    "kmalloc_trace",
    "_printk",
    "mutex_lock",
    "mutex_unlock",
    "msleep",
    "jiffies",
    "dma_alloc_attrs",
    "dma_free_attrs",
    "dma_map_page_attrs",
    "usb_submit_urb",
    "usb_alloc_urb",
    "usb_free_urb",
    "usb_register_driver",
    "kstrtoint",
    "kmemdup",
    "ktime_get",
    "_raw_spin_lock_irqsave",
    "_raw_spin_unlock_irqrestore",
    "__init_waitqueue_head",
    "__wake_up",
    "schedule_timeout",
    "mod_timer",
    "queue_work_on",
    "kthread_stop",
    "copy_from_kernel_nofault",
)

# Identifiers the generated code uses besides kernel symbols and its own declarations; none may
# be a name that gets a diagnostic, or the expected ones would be incomplete (checked).
FILLER_WORDS = (
    "kzalloc",
    "module_param",
    "MODULE_PARM_DESC",
    "__init",
    "__exit",
    "GFP_KERNEL",
    "NULL",
    "EINVAL",
    "ENOMEM",
    "EIO",
    "BIT",
    "KERN_INFO",
    "WARN_ON",
    "ARRAY_SIZE",
    "unlikely",
    "pr_debug",
)


# -- the names: what the catalog says, and what modpost would say ---------------------------


@dataclass(frozen=True, slots=True)
class NameInfo:
    """One kernel name as modpost sees it (scripts/mod/modpost.c check_exports)."""

    name: str
    exported: bool
    gpl_only: bool  # every export of it is GPL-only
    namespace: str  # the one namespace of its exports, '' when none or ambiguous
    linkable: bool  # defined with global or weak binding somewhere
    rows: int  # catalog rows of the name (definitions and imports)

    def codes(self, gpl_license: bool, imports: set[str]) -> list[str]:
        """The diagnostic codes a reference in a module with this license and imports gets."""
        if not self.exported:
            return [NOT_EXPORTED] if self.linkable else []
        out = []
        if not gpl_license and self.gpl_only:
            out.append(GPL_ONLY)
        if self.namespace and self.namespace not in imports:
            out.append(NAMESPACE)
        return out


@dataclass
class Pools:
    """Names to call, by what modpost would say about them."""

    plain: list[str]  # exported, not GPL-only, no namespace: always fine
    gpl: list[str]  # exported GPL-only only
    namespaced: list[str]  # exported in one namespace
    unexported: list[str]  # global functions of vmlinux that nothing exports
    data: list[str]  # exported variables
    common: list[str]  # the functions of COMMON_NAMES the catalog exports
    catalog: Any = None
    info: dict[str, NameInfo] = field(default_factory=dict)

    def facts(self, name: str) -> NameInfo:
        """What the catalog says about ``name`` (looked up once)."""
        info = self.info.get(name)
        if info is None:
            found = name_info(self.catalog, name)
            if found is None:
                raise SystemExit(f"bench: {name} was picked but is not defined in the catalog")
            info = self.info[name] = found
        return info


def load_in_process(paths: Sequence[Path]) -> Any:
    """The same sources loaded in this process (cold), with the name index built."""
    from ksql.loading import load_catalog
    from ksql.pluginmanager import load_plugins

    catalog = load_catalog([str(p) for p in paths], load_plugins())
    catalog.name_order()
    return catalog


def name_info(catalog: Any, name: str) -> NameInfo | None:
    from ksql.model import Bind

    symbols = catalog.lookup(name)
    defs = [s for s in symbols if not s.undefined]
    if not defs:
        return None
    exports = [s for s in defs if s.exported]
    spaces = {s.namespace for s in exports}
    return NameInfo(
        name=name,
        exported=bool(exports),
        gpl_only=bool(exports) and all(s.gpl for s in exports),
        namespace=next(iter(spaces)) if len(spaces) == 1 else "",
        linkable=any(s.bind in (Bind.GLOBAL, Bind.WEAK) for s in defs),
        rows=len(symbols),
    )


def name_pools(catalog: Any) -> Pools:
    """Sort the catalog's exported names (and vmlinux's unexported global functions) into
    the pools the generator draws from."""
    from ksql.model import Kind
    from ksql.query.compiler import compile_query

    exports: dict[str, list[Any]] = collections.defaultdict(list)
    for s in catalog.symbols(compile_query("exported and defined").rows(catalog)):
        exports[s.name].append(s)
    plain: list[str] = []
    gpl: list[str] = []
    namespaced: list[str] = []
    data: list[str] = []
    for name, syms in sorted(exports.items()):
        if name.startswith("_") or not name.isidentifier():
            continue
        objects = [s.kind == Kind.OBJECT for s in syms]
        spaces = {s.namespace for s in syms}
        if all(objects):
            if spaces == {""}:
                data.append(name)
        elif any(objects):
            continue
        elif spaces == {""}:
            (gpl if all(s.gpl for s in syms) else plain).append(name)
        elif len(spaces) == 1:
            namespaced.append(name)
    local = compile_query("defined and global and function and module = vmlinux and not exported")
    unexported = sorted({s.name for s in catalog.symbols(local.rows(catalog))} - exports.keys())
    unexported = [n for n in unexported if not n.startswith("_") and n.isidentifier()]
    common = [
        n for n in COMMON_NAMES if n in exports and all(s.kind != Kind.OBJECT for s in exports[n])
    ]
    return Pools(plain, gpl, namespaced, unexported, data, common, catalog)


# -- the documents ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Site:
    """A kernel name in code: 0-based line and column of its first character."""

    line: int
    col: int
    name: str


@dataclass
class Doc:
    """A generated module source and what is known about it."""

    filename: str
    lines: list[str]
    sites: list[Site]
    gpl_license: bool
    imports: set[str]
    edit_line: int  # the line didChange rewrites

    @property
    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


ARGS = (
    "bd",
    "bd->dev",
    "bd->buf",
    "&bd->lock",
    "arg",
    "NULL",
    "GFP_KERNEL",
    "bd->count",
    "sizeof(*bd)",
    "0",
    "BENCH_LIMIT",
    '"bench"',
    "p",
    "i",
)


class Writer:
    """Builds a module source line by line, noting where each kernel name is."""

    def __init__(self, rng: random.Random, pools: Pools, mix: Sequence[tuple[str, float]]):
        self.rng = rng
        self.pools = pools
        self.kinds = [k for k, _ in mix]
        self.weights = [w for _, w in mix]
        self.lines: list[str] = []
        self.sites: list[Site] = []
        self.used_ns: list[str] = []

    def add(self, text: str, name: str | None = None) -> None:
        """One line; ``name``, if given, is a kernel name in it (its first occurrence)."""
        if name is not None:
            col = re.search(rf"\b{re.escape(name)}\b", text)
            if col is None:
                raise AssertionError(f"{name} not in {text!r}")
            self.sites.append(Site(len(self.lines), col.start(), name))
        self.lines.append(text)

    def pick(self) -> str:
        kind = self.rng.choices(self.kinds, self.weights)[0]
        pool: list[str] = getattr(self.pools, kind) or self.pools.plain
        name = self.rng.choice(pool)
        if kind == "namespaced":
            self.used_ns.append(name)
        return name

    def args(self) -> str:
        return ", ".join(self.rng.sample(ARGS, self.rng.randint(0, 3)))

    def function(self, index: int) -> None:
        rng = self.rng
        hidden = rng.choice(self.pools.unexported) if self.pools.unexported else "schedule"
        self.add("/*")
        self.add(f" * bench_fn_{index}() - step {index} of the transfer state machine.")
        self.add(" * @bd: the device")
        self.add(" * @arg: what the caller asked for")
        self.add(" *")
        self.add(f' * Must not call {hidden}() (not exported); see "{hidden}" in the docs.')
        self.add(" */")
        self.add(f"static int bench_fn_{index}(struct bench_dev *bd, unsigned long arg)")
        self.add("{")
        self.add("\tvoid *p = NULL;")
        self.add("\tint ret = 0, i;")
        self.add("")
        self.add("\tif (unlikely(!bd || arg > BENCH_LIMIT))")
        self.add("\t\treturn -EINVAL;")
        for _ in range(rng.randint(4, 9)):
            self.statement(index)
        if index:
            self.add(f"\tret = bench_fn_{rng.randrange(index)}(bd, arg + {index});")
        self.add("out:")
        self.add(f'\tbench_log("step %d: %d (%s)\\n", {index}, ret, "{hidden} skipped");')
        self.add("\treturn ret;")
        self.add("}")
        self.add("")

    def statement(self, index: int) -> None:
        rng = self.rng
        form = rng.randrange(12)
        name = self.pick()
        if form == 0:
            self.add(f"\tret = {name}({self.args()});", name)
        elif form == 1:
            self.add(f"\tp = (void *){name}({self.args()});", name)
        elif form == 2:
            self.add(f"\tif ({name}({self.args()}))", name)
            self.add("\t\tgoto out;")
        elif form == 3:
            self.add("\tfor (i = 0; i < BENCH_LOOPS; i++)")
            self.add(f"\t\t{name}({self.args()});", name)
        elif form == 4 and self.pools.data:
            data = self.pools.data
            var = "jiffies" if "jiffies" in data and rng.random() < 0.5 else rng.choice(data)
            self.add(f"\tbd->last = (unsigned long)&{var};", var)
            self.add("\tbd->count++;")
        elif form in (4, 5):
            self.add(f"\tbd->count += {name}({self.args()}) ? 1 : 0;", name)
        elif form == 6:
            self.add(f"\t/* {name}() may sleep: not under bd->lock */")
            self.add(f"\t{name}({self.args()});", name)
        elif form == 7:
            self.add("\tif (ret < 0) {")
            self.add(f'\t\tbench_log("step %d failed: %d\\n", {index}, ret);')
            self.add(f"\t\t{name}(bd->dev, ret);", name)
            self.add("\t\tgoto out;")
            self.add("\t}")
        elif form == 8:
            self.add(f"\tbd->state.flags |= BIT({rng.randrange(32)});")
            self.add(f"\tWARN_ON({name}({self.args()}) < 0);", name)
        elif form == 9:
            self.add(f'\tpr_debug("calling {name} with %lu\\n", arg);')
            self.add(f"\tret = {name}(p, ARRAY_SIZE(bench_table), arg); // {name}: see above", name)
        elif form == 10:
            self.add(f"\tbd->buf = {name}(bd->buf, sizeof(bench_table), GFP_KERNEL);", name)
            self.add("\tif (!bd->buf)")
            self.add("\t\treturn -ENOMEM;")
        else:
            self.add("\tswitch (arg & 3) {")
            self.add("\tcase 1:")
            self.add(f"\t\tret = {name}({self.args()});", name)
            self.add("\t\tbreak;")
            self.add("\tdefault:")
            self.add("\t\tret = -EIO;")
            self.add("\t}")


def make_doc(
    filename: str, target_lines: int, pools: Pools, gpl_license: bool, rng: random.Random
) -> Doc:
    """A driver-shaped module source of about ``target_lines`` lines."""
    mix = [
        ("plain", 0.78),
        ("common", 0.08),
        ("gpl", 0.06),
        ("namespaced", 0.04),
        ("unexported", 0.04),
    ]
    w = Writer(rng, pools, mix)
    license = "GPL" if gpl_license else "Proprietary"
    w.add("// SPDX-License-Identifier: GPL-2.0" if gpl_license else "/* Proprietary. */")
    w.add("/*")
    w.add(f" * {filename} - generated by benchmarks/bench_lsp.py: a driver-shaped module that")
    w.add(" * calls real kernel functions, exported and not, so that an editor has work to do.")
    w.add(" */")
    for header in ("module", "kernel", "init", "slab", "jiffies", "mutex", "dma-mapping", "usb"):
        w.add(f"#include <linux/{header}.h>")
    w.add("")
    w.add('#define DRV_NAME "bench"')
    w.add("#define BENCH_LIMIT 4096")
    w.add("#define BENCH_LOOPS 8")
    w.add('#define bench_log(fmt, ...) _printk(KERN_INFO DRV_NAME ": " fmt, ##__VA_ARGS__)')
    w.add("")
    w.add("struct bench_state {")
    w.add("\tunsigned long flags;")
    w.add("\tint errors;")
    w.add("};")
    w.add("")
    w.add("struct bench_dev {")
    w.add("\tstruct device *dev;")
    w.add("\tstruct mutex lock;")
    w.add("\tstruct bench_state state;")
    w.add("\tunsigned long last;")
    w.add("\tvoid *buf;")
    w.add("\tint count;")
    w.add("};")
    w.add("")
    w.add("static const int bench_table[] = { 1, 2, 3, 5, 8, 13 };")
    w.add("static struct bench_dev *bench;")
    w.add("static int debug;")
    w.add("module_param(debug, int, 0644);")
    w.add('MODULE_PARM_DESC(debug, "debug level (0-2)");')
    w.add("")
    footer = 30
    index = 0
    while len(w.lines) < target_lines - footer:
        w.function(index)
        index += 1
    w.add("static int __init bench_init(void)")
    w.add("{")
    w.add("\tint ret;")
    w.add("")
    w.add("\tbench = kzalloc(sizeof(*bench), GFP_KERNEL);")
    w.add("\tif (!bench)")
    w.add("\t\treturn -ENOMEM;")
    edit_line = len(w.lines)
    w.add("\tret = 0; /* edited by the benchmark */")
    w.add(f"\treturn bench_fn_{index - 1}(bench, 0) ?: ret;")
    w.add("}")
    w.add("")
    w.add("static void __exit bench_exit(void)")
    w.add("{")
    w.add("\tkfree(bench);", "kfree" if "kfree" in pools.common else None)
    w.add("}")
    w.add("")
    w.add("module_init(bench_init);")
    w.add("module_exit(bench_exit);")
    w.add("")
    w.add('MODULE_AUTHOR("ksql benchmarks");')
    w.add(f'MODULE_DESCRIPTION("{filename}: generated");')
    w.add(f'MODULE_LICENSE("{license}");')
    imports: set[str] = set()
    if w.used_ns:  # import the namespace of the first namespaced call; the others stay missing
        first = pools.facts(w.used_ns[0]).namespace
        if first:
            imports.add(first)
            w.add(f"MODULE_IMPORT_NS({first});")
    return Doc(filename, w.lines, w.sites, gpl_license, imports, edit_line)


def expected_findings(doc: Doc, pools: Pools) -> set[tuple[int, int, str]]:
    """(line, column, code) of every diagnostic modpost's rules predict for the sites."""
    out = set()
    for s in doc.sites:
        for code in pools.facts(s.name).codes(doc.gpl_license, doc.imports):
            out.add((s.line, s.col, code))
    return out


def make_docs(pools: Pools) -> tuple[Doc, Doc]:
    """The small (GPL) and the large (proprietary, 3,000 lines) document."""
    rng = random.Random(SEED)
    small = make_doc("bench_lsp_small.c", SMALL_LINES, pools, True, rng)
    large = make_doc("bench_lsp_large.c", LARGE_LINES, pools, False, rng)
    return small, large


# -- the client ------------------------------------------------------------------------------


class _Protocol(LanguageServerProtocol):
    """pygls's protocol on the client side, noting when the bytes of each message had been
    read (``read_at``, set by the patched reader) -- before the client decodes them into
    lsprotocol objects."""

    read_at = 0.0
    response_read_at = 0.0

    def handle_message(self, message: Any) -> None:
        if getattr(message, "method", None) is None:  # a response
            self.response_read_at = self.read_at
        super().handle_message(message)


@dataclass(frozen=True, slots=True)
class Published:
    read_at: float  # the notification's bytes read
    at: float  # decoded and handled by the client
    diagnostics: list[types.Diagnostic]


@dataclass
class Load:
    """How a server started."""

    server: str  # "stdio" or "stdio, pinned to CPU n"
    ok: bool = False
    rows: int | None = None
    sources: int | None = None
    initialize_s: float | None = None  # spawn -> initialize answered
    load_s: float | None = None  # initialized sent -> "N symbols" logged
    total_s: float | None = None  # spawn -> "N symbols" logged
    rss_kb: int | None = None
    hwm_kb: int | None = None
    note: str = ""
    messages: list[str] = field(default_factory=list)


class Server:
    """One ``ksql lsp`` process on stdio and the pygls client that talks to it."""

    def __init__(self, argv: Sequence[str], root: Path, pin: int | None) -> None:
        self.argv = list(argv)
        self.root = root
        self.pin = pin
        self.client = LanguageClient("ksql-bench", "1", protocol_cls=_Protocol)
        self.protocol: _Protocol = self.client.protocol  # type: ignore[assignment]
        self.ready = asyncio.Event()
        self.ready_at: float | None = None
        self.ready_text = ""
        self.messages: list[str] = []
        self.waiters: dict[tuple[str, int], asyncio.Future[Published]] = {}
        self.stderr: collections.deque[str] = collections.deque(maxlen=40)
        self.tasks: list[asyncio.Task[None]] = []
        self.incremental = True
        self._register()

    def _register(self) -> None:
        client = self.client

        @client.feature(types.WINDOW_LOG_MESSAGE)
        def log_message(params: types.LogMessageParams) -> None:
            if READY.search(params.message) and self.ready_at is None:
                self.ready_at = time.perf_counter()
                self.ready_text = params.message
                self.ready.set()

        @client.feature(types.WINDOW_SHOW_MESSAGE)
        def show_message(params: types.ShowMessageParams) -> None:
            self.messages.append(params.message)

        @client.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def progress_create(params: types.WorkDoneProgressCreateParams) -> None:
            return None

        @client.feature(types.PROGRESS)
        def progress(params: types.ProgressParams) -> None:
            return None

        @client.feature(types.WORKSPACE_CONFIGURATION)
        def configuration(params: types.ConfigurationParams) -> list[Any]:
            return [None for _ in params.items]

        @client.feature(types.CLIENT_REGISTER_CAPABILITY)
        def register(params: types.RegistrationParams) -> None:
            return None

        @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def publish(params: types.PublishDiagnosticsParams) -> None:
            at = time.perf_counter()
            waiter = self.waiters.pop((params.uri, params.version or 0), None)
            if waiter is not None and not waiter.done():
                waiter.set_result(Published(self.protocol.read_at, at, list(params.diagnostics)))

    @property
    def proc(self) -> asyncio.subprocess.Process | None:
        return self.client._server

    @property
    def label(self) -> str:
        return self.describe(self.pin)

    @staticmethod
    def describe(pin: int | None) -> str:
        return "stdio" if pin is None else f"stdio, pinned to CPU {pin}"

    async def start(self, timeout: float) -> Load:
        """Spawn, initialize, send ``initialized`` and wait for the catalog (at most
        ``timeout`` seconds)."""
        load = Load(self.label)
        pin = self.pin

        def pin_cpu() -> None:
            if pin is not None:
                os.sched_setaffinity(0, {pin})

        t0 = time.perf_counter()
        await self.client.start_io(
            *self.argv,
            env=dict(os.environ),
            start_new_session=True,  # its own process group: its workers go with it
            preexec_fn=pin_cpu if pin is not None else None,
        )
        proc = self.proc
        if proc is None or proc.stdout is None or proc.stderr is None:
            raise SystemExit("bench: the server did not start")
        self._time_reads(proc.stdout)
        self.tasks.append(asyncio.create_task(self._drain(proc.stderr)))
        params = types.InitializeParams(
            capabilities=client_capabilities(),
            process_id=os.getpid(),
            root_uri=self.root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=self.root.as_uri(), name="corpus")],
        )
        async with asyncio.timeout(REQUEST_TIMEOUT):
            result = await self.client.initialize_async(params)
        load.initialize_s = time.perf_counter() - t0
        sync = result.capabilities.text_document_sync
        kind = sync.change if isinstance(sync, types.TextDocumentSyncOptions) else sync
        self.incremental = kind == types.TextDocumentSyncKind.Incremental
        t1 = time.perf_counter()
        self.client.initialized(types.InitializedParams())
        try:
            async with asyncio.timeout(timeout):
                await self.ready.wait()
        except TimeoutError:
            load.note = f"no 'ksql: N symbols' within {timeout:g} s: {self.stuck()}"
            load.messages = list(self.messages)
            return load
        assert self.ready_at is not None
        m = READY.search(self.ready_text)
        assert m is not None
        load.ok = True
        load.rows, load.sources = int(m.group(1).replace(",", "")), int(m.group(2))
        load.load_s, load.total_s = self.ready_at - t1, self.ready_at - t0
        load.rss_kb, load.hwm_kb = proc_status(proc.pid, "VmRSS"), proc_status(proc.pid, "VmHWM")
        load.messages = list(self.messages)
        return load

    def _time_reads(self, reader: asyncio.StreamReader) -> None:
        """Note the time each message body has been read (pygls reads it with readexactly)."""
        read = reader.readexactly
        protocol = self.protocol

        async def readexactly(n: int) -> bytes:
            data = await read(n)
            protocol.read_at = time.perf_counter()
            return data

        reader.readexactly = readexactly  # type: ignore[method-assign]

    async def _drain(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            self.stderr.append(line.decode("utf-8", "replace").rstrip())

    def stuck(self) -> str:
        """What the server's process group is doing (for a load that never ends)."""
        proc = self.proc
        if proc is None:
            return "no process"
        if proc.returncode is not None:
            return f"the server exited with status {proc.returncode}; stderr: {self.stderr_tail()}"
        kids = children(proc.pid)
        threads = sorted(
            wchan(int(t.name), proc.pid) for t in Path(f"/proc/{proc.pid}/task").iterdir()
        )
        waits = collections.Counter(wchan(k) for k in kids)
        return (
            f"server pid {proc.pid} alive, threads in {dict(collections.Counter(threads))}; "
            f"{len(kids)} child process(es) {kids} in {dict(waits)}; stderr: {self.stderr_tail()}"
        )

    def stderr_tail(self) -> str:
        return " | ".join(list(self.stderr)[-5:]) or "(empty)"

    def expect(self, uri: str, version: int) -> asyncio.Future[Published]:
        waiter: asyncio.Future[Published] = asyncio.get_running_loop().create_future()
        self.waiters[(uri, version)] = waiter
        return waiter

    async def diagnosed(
        self, uri: str, version: int, send: Callable[[], None]
    ) -> tuple[float, float, Published]:
        """Send a notification; (round trip, wire, what was published) for ``version``."""
        waiter = self.expect(uri, version)
        start = time.perf_counter()
        send()
        async with asyncio.timeout(REQUEST_TIMEOUT):
            published = await waiter
        return published.at - start, published.read_at - start, published

    async def request(self, call: Coroutine[Any, Any, Any]) -> tuple[float, float, Any]:
        """(round trip, wire, result) of one request; ``call`` is not awaited yet."""
        start = time.perf_counter()
        async with asyncio.timeout(REQUEST_TIMEOUT):
            result = await call
        end = time.perf_counter()
        return end - start, self.protocol.response_read_at - start, result

    def rss(self) -> tuple[int | None, int | None]:
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return None, None
        return proc_status(proc.pid, "VmRSS"), proc_status(proc.pid, "VmHWM")

    async def stop(self) -> str:
        """shutdown + exit when the server is answering; the process group is killed in any
        case (a hung load leaves forked workers behind). Returns '' when the server exited
        with status 0 after shutdown + exit, else what went wrong."""
        proc = self.proc
        if proc is None:
            return "no process"
        problem = "not asked to shut down (it never loaded)"
        if proc.returncode is None and self.ready_at is not None:
            try:
                async with asyncio.timeout(10):
                    await self.client.shutdown_async(None)
                    self.client.exit(None)
                    status = await proc.wait()
                problem = "" if status == 0 else f"exit status {status} after shutdown + exit"
            except Exception as exc:  # a timeout or an error answer
                problem = f"shutdown + exit failed: {type(exc).__name__}: {exc}"
        elif proc.returncode is not None:
            problem = f"exited early with status {proc.returncode}: {self.stderr_tail()}"
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            async with asyncio.timeout(10):
                await self.client.stop()
        for task in self.tasks:
            task.cancel()
        return problem


def client_capabilities() -> types.ClientCapabilities:
    from pytest_lsp import client_capabilities as captured

    return captured("visual-studio-code")


def proc_status(pid: int, key: str) -> int | None:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


def children(pid: int) -> list[int]:
    out: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            out += [int(c) for c in (task / "children").read_text().split()]
    return sorted(out)


def wchan(pid: int, tgid: int | None = None) -> str:
    path = f"/proc/{tgid}/task/{pid}/wchan" if tgid else f"/proc/{pid}/wchan"
    try:
        return Path(path).read_text().strip() or "running"
    except OSError:
        return "?"


# -- measuring -------------------------------------------------------------------------------


@dataclass
class Latency:
    """Samples of one kind of request, in seconds."""

    total: list[float] = field(default_factory=list)
    wire: list[float] = field(default_factory=list)
    by_key: dict[str, float] = field(default_factory=dict)  # the slowest sample per key

    def add(self, total: float, wire: float, key: str = "") -> None:
        self.total.append(total)
        self.wire.append(wire)
        if key:
            self.by_key[key] = max(self.by_key.get(key, 0.0), total)


def percentile(samples: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100)."""
    if not samples:
        return None
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


@dataclass(frozen=True, slots=True)
class Probe:
    site: Site
    offset: int  # the cursor's column, from the name's start

    @property
    def position(self) -> types.Position:
        return types.Position(line=self.site.line, character=self.site.col + self.offset)

    @property
    def prefix(self) -> str:
        return self.site.name[: self.offset]


def completion_probes(doc: Doc, n: int, rng: random.Random, pools: Pools) -> list[Probe]:
    """``n`` cursors inside exported names: a tenth at the common prefixes (``k``, ``dma_``,
    ``usb_``, ``jiff``, when the document has such a name), the rest after 1-6 characters of
    a random one."""
    exported = [s for s in doc.sites if pools.facts(s.name).exported]
    probes: list[Probe] = []
    per_common = max(1, n // 10 // len(COMMON_PREFIXES))
    for prefix in COMMON_PREFIXES:
        sites = [s for s in exported if s.name.startswith(prefix)]
        if sites:
            probes += [Probe(rng.choice(sites), len(prefix)) for _ in range(per_common)]
    while len(probes) < n:
        site = rng.choice(exported)
        probes.append(Probe(site, min(len(site.name), rng.randint(1, 6))))
    rng.shuffle(probes)
    return probes


def hover_probes(doc: Doc, n: int, rng: random.Random) -> list[Probe]:
    """``n`` cursors in the middle of kernel names of the document."""
    return [Probe(s, len(s.name) // 2) for s in (rng.choice(doc.sites) for _ in range(n))]


@dataclass
class Work:
    """Everything a server is asked, made once and asked of every server."""

    small: Doc
    large: Doc
    completions: dict[str, list[Probe]]
    hovers: dict[str, list[Probe]]
    edits: int
    pools: Pools
    expected_labels: dict[str, list[str]] = field(default_factory=dict)
    expected_diagnostics: dict[str, int] = field(default_factory=dict)

    def uri(self, root: Path, doc: Doc) -> str:
        return (root / doc.filename).as_uri()

    def labels(self, prefix: str) -> list[str]:
        """What ``ksql.lsp.completion.complete`` answers in this process."""
        found = self.expected_labels.get(prefix)
        if found is None:
            from ksql.lsp.completion import complete

            found = [c.name for c in complete(self.pools.catalog, prefix)[0]]
            self.expected_labels[prefix] = found
        return found

    def diagnostics_in_process(self, text: str) -> int:
        """How many findings ``diagnose`` makes of ``text`` in this process."""
        found = self.expected_diagnostics.get(text)
        if found is None:
            from ksql.lsp.csource import analyze, parse
            from ksql.lsp.diagnostics import diagnose

            found = len(diagnose(analyze(text, parse(text)), self.pools.catalog))
            self.expected_diagnostics[text] = found
        return found


@dataclass
class Results:
    """One server's numbers."""

    mode: str
    load: Load
    completion: dict[str, Latency] = field(default_factory=dict)
    hover: dict[str, Latency] = field(default_factory=dict)
    opened: dict[str, tuple[float, float, int]] = field(default_factory=dict)
    edits: Latency = field(default_factory=Latency)
    edit_counts: list[int] = field(default_factory=list)
    codes: collections.Counter[str] = field(default_factory=collections.Counter)
    samples: dict[str, list[str]] = field(default_factory=dict)  # prefix -> first labels
    rss_end: tuple[int | None, int | None] = (None, None)


async def measure(server: Server, work: Work, results: Results, checks: Checks) -> None:
    """Open both documents, then completion, hover and edits, one request at a time; the
    client's garbage collector is off meanwhile (its pauses are not the server's)."""
    gc.collect()
    gc.disable()
    try:
        await _measure(server, work, results, checks)
    finally:
        gc.enable()


async def _measure(server: Server, work: Work, results: Results, checks: Checks) -> None:
    mode = mode_label(results.mode)
    for doc in (work.small, work.large):
        uri = work.uri(server.root, doc)
        item = types.TextDocumentItem(uri=uri, language_id="c", version=1, text=doc.text)
        params = types.DidOpenTextDocumentParams(text_document=item)
        total, wire, published = await server.diagnosed(
            uri, 1, functools.partial(server.client.text_document_did_open, params)
        )
        results.opened[doc.filename] = (total, wire, len(published.diagnostics))
        check_diagnostics(
            work,
            doc.text,
            published,
            expected_findings(doc, work.pools),
            f"{doc.filename} didOpen ({mode})",
            checks,
        )
    for doc in (work.small, work.large):
        results.completion[doc.filename] = await complete_all(server, work, doc, results, checks)
    for doc in (work.small, work.large):
        results.hover[doc.filename] = await hover_all(server, work, doc, checks, mode)
    await edit_all(server, work, results, checks)
    results.rss_end = server.rss()


async def complete_all(
    server: Server, work: Work, doc: Doc, results: Results, checks: Checks
) -> Latency:
    uri = work.uri(server.root, doc)
    ident = types.TextDocumentIdentifier(uri=uri)
    lat = Latency()
    wrong: list[str] = []
    for probe in work.completions[doc.filename]:
        params = types.CompletionParams(text_document=ident, position=probe.position)
        total, wire, result = await server.request(
            server.client.text_document_completion_async(params)
        )
        prefix = probe.prefix
        lat.add(total, wire, prefix)
        items = result.items if isinstance(result, types.CompletionList) else result or []
        labels = [i.label for i in items]
        if prefix in COMMON_PREFIXES and prefix not in results.samples:
            results.samples[prefix] = labels[:4]
        if labels != work.labels(prefix) or not labels:
            wrong.append(f"{prefix!r}: {labels[:3]} (in-process {work.labels(prefix)[:3]})")
    mode = mode_label(results.mode)
    checks.agree(
        f"completion labels = complete() in-process, {doc.filename} ({mode})",
        not wrong,
        f"{len(wrong)} of {len(lat.total)} differ or are empty, e.g. {wrong[:2]}",
    )
    jiff = results.samples.get("jiff")
    if jiff is not None:
        checks.agree(
            f"completion 'jiff' offers 'jiffies' first ({mode})",
            jiff[:1] == ["jiffies"],
            f"got {jiff}",
        )
    return lat


async def hover_all(server: Server, work: Work, doc: Doc, checks: Checks, mode: str) -> Latency:
    uri = work.uri(server.root, doc)
    ident = types.TextDocumentIdentifier(uri=uri)
    lat = Latency()
    wrong: list[str] = []
    for probe in work.hovers[doc.filename]:
        params = types.HoverParams(text_document=ident, position=probe.position)
        total, wire, result = await server.request(server.client.text_document_hover_async(params))
        name = probe.site.name
        lat.add(total, wire, name)
        value = result.contents.value if result is not None else ""
        info = work.pools.facts(name)
        if not isinstance(value, str) or not value.startswith(f"### `{name}`"):
            wrong.append(f"{name}: {str(value)[:60]!r}")
        elif ("**exported**" in value) != info.exported:
            wrong.append(f"{name}: exported={info.exported} but card says {value[:80]!r}")
    checks.agree(
        f"hover cards name the symbol and its export status, {doc.filename} ({mode})",
        not wrong,
        f"{len(wrong)} of {len(lat.total)} wrong, e.g. {wrong[:2]}",
    )
    return lat


async def edit_all(server: Server, work: Work, results: Results, checks: Checks) -> None:
    """didChange of one line of the large document to new versions: an exported call and a
    call of an unexported function, alternately."""
    doc = work.large
    uri = work.uri(server.root, doc)
    pools = work.pools
    rng = random.Random(SEED + 1)
    lines = list(doc.lines)
    base = expected_findings(doc, pools)
    mode = mode_label(results.mode)
    wrong: list[str] = []
    for i in range(work.edits):
        version = i + 2
        hidden = i % 2 == 1 and bool(pools.unexported)
        name = rng.choice(pools.unexported if hidden else pools.plain)
        old = lines[doc.edit_line]
        new = f"\tret = {name}(bench, {i}); /* edited by the benchmark */"
        lines[doc.edit_line] = new
        site = Site(doc.edit_line, new.index(name), name)
        expected = base | {
            (site.line, site.col, code)
            for code in pools.facts(name).codes(doc.gpl_license, doc.imports)
        }
        if server.incremental:
            start = types.Position(line=doc.edit_line, character=0)
            end = types.Position(line=doc.edit_line, character=len(old))
            change: Any = types.TextDocumentContentChangePartial(
                range=types.Range(start=start, end=end), text=new
            )
        else:
            change = types.TextDocumentContentChangeWholeDocument(text="\n".join(lines) + "\n")
        params = types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[change],
        )
        total, wire, published = await server.diagnosed(
            uri, version, functools.partial(server.client.text_document_did_change, params)
        )
        results.edits.add(total, wire)
        results.edit_counts.append(len(published.diagnostics))
        results.codes = collections.Counter(str(d.code) for d in published.diagnostics)
        text = "\n".join(lines) + "\n"
        problem = diagnostics_problem(work, text, published, expected)
        if problem:
            wrong.append(f"version {version}: {problem}")
    checks.agree(
        f"diagnostics after each didChange ({mode})",
        not wrong,
        f"{len(wrong)} of {work.edits} versions wrong, e.g. {wrong[:2]}",
    )


def diagnostics_problem(
    work: Work, text: str, published: Published, expected: set[tuple[int, int, str]]
) -> str:
    """'' when the published diagnostics are what modpost's rules predict and what
    ``diagnose`` finds in this process; else what differs."""
    got = {
        (d.range.start.line, d.range.start.character, str(d.code)) for d in published.diagnostics
    }
    in_process = work.diagnostics_in_process(text)
    problems = []
    if got != expected:
        problems.append(
            f"{len(got - expected)} unexpected, e.g. {sorted(got - expected)[:3]}; "
            f"{len(expected - got)} missing, e.g. {sorted(expected - got)[:3]}"
        )
    if in_process != len(published.diagnostics):
        problems.append(f"{len(published.diagnostics)} published, diagnose() finds {in_process}")
    return "; ".join(problems)


def check_diagnostics(
    work: Work,
    text: str,
    published: Published,
    expected: set[tuple[int, int, str]],
    what: str,
    checks: Checks,
) -> None:
    problem = diagnostics_problem(work, text, published, expected)
    checks.agree(f"diagnostics of {what}", not problem, problem)


# -- one server ------------------------------------------------------------------------------


async def run_server(
    argv: Sequence[str],
    root: Path,
    mode: str,
    work: Work | None,
    pin: int | None,
    timeout: float,
    checks: Checks,
) -> Results:
    """Start a server in ``mode`` (the load cache as :func:`cache_mode` sets it), wait for
    its catalog and, given ``work``, measure."""
    what = "measure" if work is not None else "fill the cache"
    print(f"bench: {mode_label(mode)} server, {Server.describe(pin)}: {what}", file=sys.stderr)
    with cache_mode(mode):
        server = Server(argv, root, pin)
        try:
            load = await server.start(timeout)
            results = Results(mode, load)
            if load.ok and work is not None:
                await measure(server, work, results, checks)
        finally:
            stopped = await server.stop()
    if load.ok:
        what = f"server exits cleanly after shutdown + exit ({mode_label(mode)}, {server.label})"
        checks.agree(what, not stopped, stopped)
    return results


async def run_all(
    argv: Sequence[str], root: Path, work: Work, args: argparse.Namespace, checks: Checks
) -> tuple[list[Results], list[str]]:
    """The cold server (pinned to one CPU after a load that hangs), the warm cache's fill and
    the warm server. Returns every server's results (a hung one without numbers) and the
    server bugs seen."""
    cpu = max(os.sched_getaffinity(0))
    pin = cpu if args.pin else None
    bugs: list[str] = []
    out: list[Results] = []
    for mode in (COLD, WARM):
        if mode == WARM:  # fill the cache: a load from the same sources, not timed
            fill = await run_server(argv, root, WARM, None, pin, args.load_timeout, checks)
            if not fill.load.ok and pin is None:
                pin = cpu
                fill = await run_server(argv, root, WARM, None, pin, args.load_timeout, checks)
            if not fill.load.ok:
                bugs.append(f"the warm cache's fill never loaded: {fill.load.note}")
        first_pin = None if mode == WARM else pin  # warm: a cache hit, no decoding workers
        res = await run_server(argv, root, mode, work, first_pin, args.load_timeout, checks)
        out.append(res)
        if not res.load.ok and first_pin is None:
            bugs.append(
                f"{mode_label(mode)} load over stdio never finished: {res.load.note}. "
                f"Measured again with the server pinned to CPU {cpu} (one decoding worker)."
            )
            pin = cpu
            res = await run_server(argv, root, mode, work, pin, args.load_timeout, checks)
            out.append(res)
        if not res.load.ok:
            bugs.append(f"{mode_label(mode)} load failed ({res.load.server}): {res.load.note}")
    return out, bugs


# -- the report ------------------------------------------------------------------------------


def header(corpus: Path, paths: Sequence[Path], catalog: Any, load_s: float, work: Work) -> str:
    def version(dist: str) -> str:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return "?"

    sources = " ".join(f"-s {p.name}" for p in paths)
    lines = [
        "ksql language-server benchmark (LSP on stdio, one request at a time)",
        f"corpus:  {corpus}",
        f"server:  python -m ksql lsp {sources}",
        f"python:  {platform.python_version()}; pygls {version('pygls')}, lsprotocol "
        f"{version('lsprotocol')}, pytest-lsp {version('pytest-lsp')}; cpus {os.cpu_count()}",
        f"host:    {platform.node()} {platform.release()}",
        "client:  pygls LanguageClient with VS Code's capabilities (pytest_lsp), root = corpus;",
        "         its garbage collector off while timing (its pauses are not the server's)",
        "timing:  round trip = request written -> answer decoded by the client (judged);",
        "         wire = -> the answer's bytes read, before the client decodes them;",
        "         percentiles are nearest-rank; diagnostics: notification sent -> the",
        "         publishDiagnostics of that version",
        *CACHE_NOTE,
        f"catalog: {len(catalog):,} rows (loaded in this process too, in {ms(load_s)}, to pick",
        "         names and to check the answers)",
    ]
    for doc in (work.small, work.large):
        names = len({s.name for s in doc.sites})
        license = "GPL" if doc.gpl_license else "Proprietary"
        imports = f", imports {', '.join(sorted(doc.imports))}" if doc.imports else ""
        lines.append(
            f"doc:     {doc.filename}: {len(doc.lines):,} lines, {len(doc.sites):,} kernel names "
            f'in code ({names:,} distinct), MODULE_LICENSE("{license}"){imports}'
        )
    n_c = len(work.completions[work.small.filename])
    n_h = len(work.hovers[work.small.filename])
    lines.append(
        f"asks:    per server and document {n_c:,} completions and {n_h:,} hovers; "
        f"{work.edits} didChange of {work.large.filename}"
    )
    return "\n".join(lines)


def rows(n: int) -> str:
    return f"{n:,} row" if n == 1 else f"{n:,} rows"


def kib(kb: int | None) -> str:
    return "-" if kb is None else f"{kb / 1024:,.0f} MiB"


def load_section(results: Sequence[Results], catalog_rows: int, checks: Checks) -> str:
    body = []
    for r in results:
        ld = r.load
        load = ms(ld.load_s) if ld.ok else "never (hung)"
        body.append(
            [
                mode_label(r.mode),
                ld.server,
                num(ld.rows),
                num(ld.sources),
                ms(ld.initialize_s),
                load,
                ms(ld.total_s),
                kib(ld.rss_kb),
                kib(r.rss_end[0]),
                kib(r.rss_end[1] if r.rss_end[1] else ld.hwm_kb),
            ]
        )
        if ld.ok:
            checks.agree(
                f"server rows = rows loaded in this process ({mode_label(r.mode)}, {ld.server})",
                ld.rows == catalog_rows,
                f"{ld.rows} != {catalog_rows}",
            )
    headers = [
        "mode",
        "server",
        "rows",
        "sources",
        "initialize",
        "initialized -> loaded",
        "start -> loaded",
        "RSS loaded",
        "RSS at end",
        "peak RSS",
    ]
    notes = [
        f"{mode_label(r.mode)} ({r.load.server}): {r.load.note}" for r in results if r.load.note
    ]
    shown = [f"{mode_label(r.mode)}: server said {m!r}" for r in results for m in r.load.messages]
    return "\n".join(
        [
            "loaded = the server logged 'ksql: N symbols from M sources' (window/logMessage);",
            "RSS of the server process (its decoding workers not counted)",
            table(headers, body),
            *notes,
            *shown,
        ]
    )


def judge(targets: Targets, what: str, mode: str, seconds: float | None, target_ms: float) -> str:
    """``meets``/``MISSES`` (cold, judged) or ``warm: ...`` (reference), noted in targets."""
    value = None if seconds is None else seconds * 1e3
    verdict: str = meets(value, target_ms)
    shown = "-" if value is None else f"{value:.2f} ms"
    line = f"{verdict:<6}  {what}: {shown} (target <= {target_ms:g} ms)"
    if mode == WARM:
        targets.warm.append(line)
        return f"warm: {verdict}"
    targets.judged.append(line)
    return verdict


LATENCY_HEADERS = ["document", "mode", "server", "n", "p50", "p90", "p99", "max", "wire p99"]


def latency_cells(lat: Latency) -> list[str]:
    return [
        num(len(lat.total)),
        *(ms(percentile(lat.total, q)) for q in (50, 90, 99, 100)),
        ms(percentile(lat.wire, 99)),
    ]


def request_section(
    results: Sequence[Results],
    work: Work,
    kind: str,
    target_ms: float,
    targets: Targets,
    slowest: Callable[[str], str],
) -> str:
    body = []
    worst: dict[str, float] = {}
    for r in results:
        per_doc = r.completion if kind == "completion" else r.hover
        for doc in (work.small, work.large):
            lat = per_doc.get(doc.filename)
            if lat is None:
                continue
            what = f"{kind} p99, {doc.filename} ({len(doc.lines):,} lines)"
            verdict = judge(targets, what, r.mode, percentile(lat.total, 99), target_ms)
            label = f"{doc.filename} ({len(doc.lines):,} lines)"
            body.append([label, mode_label(r.mode), r.load.server, *latency_cells(lat), verdict])
            if r.mode == COLD:
                for key, t in lat.by_key.items():
                    worst[key] = max(worst.get(key, 0.0), t)
    headers = [*LATENCY_HEADERS, f"p99 <= {target_ms:g} ms"]
    top = sorted(worst.items(), key=lambda kv: -kv[1])[:5]
    lines = [table(headers, body, left=3)]
    if top:
        lines.append(f"slowest (cold, max): {', '.join(f'{slowest(k)} {ms(t)}' for k, t in top)}")
    return "\n".join(lines)


def completion_section(
    results: Sequence[Results], work: Work, catalog: Any, targets: Targets
) -> str:
    def slowest(prefix: str) -> str:
        lo, hi = catalog.prefix_range(prefix)
        return f"{prefix!r} ({rows(hi - lo)})"

    text = request_section(results, work, "completion", TARGET_COMPLETION_MS, targets, slowest)
    samples = next((r.samples for r in results if r.samples), {})
    shown = "; ".join(f"{p!r} -> {', '.join(labels)}" for p, labels in samples.items())
    return f"{text}\nfirst labels (cold): {shown or '-'}"


def hover_section(results: Sequence[Results], work: Work, targets: Targets) -> str:
    def slowest(name: str) -> str:
        return f"{name} ({rows(work.pools.facts(name).rows)})"

    text = request_section(results, work, "hover", TARGET_HOVER_MS, targets, slowest)
    worst = max(
        (
            (t, name)
            for r in results
            if r.mode == COLD
            for lat in r.hover.values()
            for name, t in lat.by_key.items()
        ),
        default=None,
    )
    if worst is None:
        return text
    from ksql.lsp.hover import hover_markdown

    name = worst[1]
    t = best_time(lambda: hover_markdown(work.pools.catalog, name))
    return f"{text}\nin this process: hover_markdown({name!r}) takes {ms(t)} (best of 5)"


def best_time(fn: Callable[[], object], n: int = 5) -> float:
    best = math.inf
    for _ in range(n):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def diagnostics_section(results: Sequence[Results], work: Work, targets: Targets) -> str:
    body = []
    large = work.large
    for r in results:
        for doc in (work.small, large):
            if doc.filename not in r.opened:
                continue
            total, wire, count = r.opened[doc.filename]
            verdict = "-"
            if doc is large:
                what = f"diagnostics after didOpen, {doc.filename}"
                verdict = judge(targets, what, r.mode, total, TARGET_DIAGNOSTICS_MS)
            cells = [num(1), ms(total), ms(total), ms(total), ms(total), ms(wire)]
            label = f"didOpen {doc.filename} ({len(doc.lines):,} lines)"
            body.append([label, mode_label(r.mode), r.load.server, *cells, num(count), verdict])
        if r.edits.total:
            what = f"diagnostics after didChange p99, {large.filename}"
            p99 = percentile(r.edits.total, 99)
            verdict = judge(targets, what, r.mode, p99, TARGET_DIAGNOSTICS_MS)
            counts = sorted(set(r.edit_counts))
            shown = "/".join(num(c) for c in counts)
            label = f"didChange {large.filename} (1 line)"
            cells = latency_cells(r.edits)
            body.append([label, mode_label(r.mode), r.load.server, *cells, shown, verdict])
    headers = [*LATENCY_HEADERS, "diagnostics", f"<= {TARGET_DIAGNOSTICS_MS:g} ms"]
    codes = next((r.codes for r in results if r.codes), collections.Counter())
    by_code = ", ".join(f"{c} {n}" for c, n in sorted(codes.items())) or "-"
    from ksql.lsp.csource import analyze, parse
    from ksql.lsp.diagnostics import diagnose

    text = large.text
    parse_s = best_time(lambda: analyze(text, parse(text)), 3)
    cfile = analyze(text, parse(text))
    diag_s = best_time(lambda: diagnose(cfile, work.pools.catalog), 3)
    return "\n".join(
        [
            table(headers, body, left=3),
            f"didChange alternates an exported call and an unexported one on one line (the count "
            f"alternates); last version's codes: {by_code}",
            f"in this process, {large.filename}: parse + analyze {ms(parse_s)}, diagnose "
            f"{ms(diag_s)} (best of 3)",
        ]
    )


# -- main ------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--corpus",
        metavar="DIR",
        help="corpus cache dir (default: $KSQL_CORPUS or scripts/fetch-corpus.sh .corpus)",
    )
    p.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help=f"N x ({COMPLETIONS} completions, {HOVERS} hovers per document, {EDITS} edits)",
    )
    p.add_argument("--quick", action="store_true", help="vmlinux and Module.symvers only")
    p.add_argument("--strict", action="store_true", help="exit 1 on any MISMATCH")
    p.add_argument(
        "--load-timeout",
        type=float,
        default=60.0,
        metavar="S",
        help="seconds to wait for a server's catalog before calling it hung (default 60)",
    )
    p.add_argument(
        "--pin",
        action="store_true",
        help="pin every decoding server to one CPU from the start (no stdio attempt first)",
    )
    return p.parse_args(argv)


def require(paths: Sequence[Path]) -> None:
    for p in paths:
        if not p.exists():
            raise SystemExit(f"bench: {p} is missing (scripts/fetch-corpus.sh makes it)")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    corpus = corpus_dir(args.corpus)
    names = [VMLINUX, SYMVERS] if args.quick else [VMLINUX, MODULES, SYMVERS]
    paths = [corpus / n for n in names]
    require(paths)
    repeat = max(1, args.repeat)
    checks, targets = Checks(other="expected"), Targets()
    server_argv = [sys.executable, "-m", "ksql", "lsp"]
    for p in paths:
        server_argv += ["-s", str(p)]
    with private_cache():
        start = time.perf_counter()
        catalog = load_in_process(paths)
        load_s = time.perf_counter() - start
        pools = name_pools(catalog)
        small, large = make_docs(pools)
        rng = random.Random(SEED + 2)
        work = Work(
            small,
            large,
            completions={
                d.filename: completion_probes(d, COMPLETIONS * repeat, rng, pools)
                for d in (small, large)
            },
            hovers={d.filename: hover_probes(d, HOVERS * repeat, rng) for d in (small, large)},
            edits=EDITS * repeat,
            pools=pools,
        )
        known = [w for w in FILLER_WORDS if (i := name_info(catalog, w)) and i.codes(False, set())]
        checks.agree("no filler identifier gets a diagnostic", not known, ", ".join(known))
        print(header(corpus, paths, catalog, load_s, work), flush=True)
        results, bugs = asyncio.run(run_all(server_argv, corpus, work, args, checks))
        check_cache_modes(checks)
        print(
            section("a. Server start and catalog load", load_section(results, len(catalog), checks))
        )
        measured = [r for r in results if r.load.ok]
        print(section("b. Completion", completion_section(measured, work, catalog, targets)))
        print(section("c. Hover", hover_section(measured, work, targets)))
        print(section("d. Diagnostics", diagnostics_section(measured, work, targets)))
    summary = [targets.summary(), checks.summary(), *(f"SERVER BUG: {b}" for b in bugs)]
    print(section("Summary", "\n".join(summary)))
    return 1 if args.strict and (checks.failures or bugs) else 0


if __name__ == "__main__":
    sys.exit(main())
