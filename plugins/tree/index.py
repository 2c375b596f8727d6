"""A whole tree's sites: which files to scan, scanning them on every core, and turning the
sites into rows -- one per ``(module, name)`` for global symbols, one per file for static
ones -- with the module each file is built into (:mod:`ksql.kernel.kbuild`).
"""

from __future__ import annotations

import functools
import hashlib
import marshal
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ksql.kernel
from ksql.kernel.kbuild import Kbuild, read_config, scan_kbuild, srcarch
from ksql.regular import read_regular
from ksql.sink import RowSink
from ksql.values import field, frozen

from .store import Listing, code_identity, listing, load_sites, save_sites, walk

# The scanner, the rows and the worker pool load when a tree is indexed, not when its
# cache key is checked: a warm query imported them for nothing (the pool's multiprocessing
# and socket alone ~19 ms, the scanner's and rows' patterns and classes ~12 ms).
if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

    from .sites import FileSites

CHUNK = 512  # files per task: few, large results (each a marshal blob)


@frozen
class TreeConfig:
    """A tree's configuration (``.config``, ``include/config/auto.conf`` or
    ``KSQL_KCONFIG``) and where it came from; empty when none was found."""

    values: dict[str, str] = field(default_factory=dict)
    path: str = ""


def find_config(root: Path) -> TreeConfig:
    candidates = [os.environ.get("KSQL_KCONFIG", "")]
    candidates += [str(root / ".config"), str(root / "include/config/auto.conf")]
    for c in candidates:
        if c and Path(c).is_file():
            return TreeConfig(read_config(Path(c)), c)
    return TreeConfig()


def source_files(root: Path, arch: str = "") -> list[str]:
    """Every ``.c``/``.S``/``.h`` below ``root`` (relative, sorted), without the folders of
    :data:`SKIP_TOP` or :data:`SKIP_NAMED` nor other architectures' ``arch/*`` once the
    architecture is known."""
    return walk(root, arch).sources()


def fingerprint(root: Path) -> str:
    """The tree's cache key: the configuration and every scanned file's, Makefile's and
    Kbuild's size and modification time (:func:`plugins.tree.store.listing`)."""
    config = find_config(root)
    digest = hashlib.sha1(config.path.encode())
    if config.path:
        st = os.stat(config.path)
        digest.update(f"{st.st_size}\0{st.st_mtime_ns}".encode())
    found = listing(root, srcarch(config.values))
    _LISTED[str(root)] = found
    digest.update(found.digest().encode())
    return digest.hexdigest()


# The listing the fingerprint just made, for the load that follows it in the same process.
_LISTED: dict[str, Listing] = {}


def scanner_identity() -> str:
    """A hash of the code that makes a file's sites: stored sites of another one are stale.
    (Read from the files, not imported.)"""
    here, kernel = Path(__file__).parent, Path(ksql.kernel.__file__ or "").parent
    files = [here / "scan.py", here / "sites.py", here / "macros.py"]
    return code_identity([*files, kernel / "exportmacros.py", kernel / "definemacros.py"])


def scan_paths(root: str, paths: list[str]) -> bytes:
    """The sites of ``paths`` (relative to ``root``) as a marshal blob of
    :meth:`FileSites.as_tuple` (a process pool's task: one cheap result to send back)."""
    from .scan import scan

    out = []
    for rel in paths:
        try:
            data = read_regular(os.path.join(root, rel))
        except OSError:
            continue
        out.append(scan(rel, data, headers=rel.endswith(".h")).as_tuple())
    return marshal.dumps(out)


class Scanner:
    """Scans batches of files on every core; results come back in submission order.
    Without more than one core it scans in-process."""

    def __init__(self, root: Path) -> None:
        self.root = str(root)
        self.pending: list[tuple[int, Future[bytes] | bytes]] = []
        workers = len(os.sched_getaffinity(0))
        self.pool: ProcessPoolExecutor | None = None
        if workers > 1:
            import multiprocessing
            import threading
            from concurrent.futures import ProcessPoolExecutor

            # As plugins/elf/files.py: fork only from a single-threaded process.
            method = "fork" if threading.active_count() == 1 else "forkserver"
            self.pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method))

    def submit(self, files: list[str]) -> None:
        for i in range(0, len(files), CHUNK):
            chunk = files[i : i + CHUNK]
            if self.pool is None:
                self.pending.append((len(chunk), scan_paths(self.root, chunk)))
            else:
                self.pending.append((len(chunk), self.pool.submit(scan_paths, self.root, chunk)))

    def results(self, progress: Callable[[int], None] | None = None) -> Iterator[tuple[Any, ...]]:
        """The sites of every file submitted so far; the scanner takes more afterwards."""
        try:
            for count, result in self.pending:
                blob = result if isinstance(result, bytes) else result.result()
                if progress:
                    progress(count)
                yield from marshal.loads(blob)
        except BaseException:
            self.close()
            raise
        finally:
            self.pending = []

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
            self.pool = None


def index_tree(
    root: Path,
    sink: RowSink,
    *,
    declarations_only: bool = False,
    label: str = "scanning",
    config: TreeConfig | None = None,
    symbol_modules: dict[str, str] | None = None,
) -> None:
    """Scan the tree at ``root`` into ``sink``; a headers tree (``declarations_only``)
    names each declared symbol's module from ``symbol_modules`` (its Module.symvers).

    Files whose size and modification time match the last run's reuse its sites
    (:mod:`plugins.tree.store`); the headers are scanned on the worker processes while this
    one reads the Makefiles, and the ``.c`` files once Kbuild says which are built."""
    config = config or find_config(root)
    use_store = not os.environ.get("KSQL_NO_CACHE")
    # With the cache on, loading_catalog's fingerprint() call just made the listing.
    memo = _LISTED.pop(str(root), None)
    found = (memo if use_store else None) or listing(
        root, srcarch(config.values), use_store=use_store
    )
    code = scanner_identity()
    stored = load_sites(root, code) if use_store else {}
    run = functools.partial(
        _index, root, sink, config, found, code, use_store, declarations_only, label
    )
    try:
        run(stored, symbol_modules)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        if not stored:
            raise
        # A damaged store of sites (one that marshal reads, in the wrong shape): the tree
        # is scanned afresh and the store rewritten, as a damaged load cache entry is.
        sink.note(f"{root}: the stored sites were unusable ({exc}); scanned afresh")
        run({}, symbol_modules)


def _index(
    root: Path,
    sink: RowSink,
    config: TreeConfig,
    found: Listing,
    code: str,
    use_store: bool,
    declarations_only: bool,
    label: str,
    stored: dict[str, tuple[int, int, tuple[Any, ...]]],
    symbol_modules: dict[str, str] | None,
) -> None:
    from ..elf.files import Progress
    from .rows import RowBuilder, expand_xmacros
    from .sites import FileSites

    arch = srcarch(config.values)
    files = found.sources()
    scanner = Scanner(root)
    reused: dict[str, tuple[Any, ...]] = {}

    def submit(batch: list[str]) -> None:
        todo = []
        for rel in batch:
            old = stored.get(rel)
            if old is not None and (old[0], old[1]) == found.files[rel]:
                reused[rel] = old[2]
            else:
                todo.append(rel)
        scanner.submit(todo)

    headers = [f for f in files if f.endswith(".h")]
    submit(headers)
    beside: set[str] = set()
    if config.path and not declarations_only:
        kbuild = scan_kbuild(root, config.values, found.files)
        # Built files first; a .c file beside them only once a built file (or one of those)
        # includes it (kernel/sched/build_policy.c includes idle.c). The others are built
        # into nothing: in the 6.1 tree 161 of the 5,144 such files are included (two
        # levels deep), and the other 4,983 are no longer scanned (the same rows).
        folders = {f.rpartition("/")[0] for f in kbuild.files}
        others = [
            f
            for f in files
            if not f.endswith(".h") and (f in kbuild.files or f.rpartition("/")[0] in folders)
        ]
        beside = {f for f in others if f not in kbuild.files}
    else:
        kbuild = Kbuild()
        others = [] if declarations_only else [f for f in files if not f.endswith(".h")]
        if not declarations_only:
            sink.note(
                f"{root}: no kernel configuration (.config, include/config/auto.conf or "
                "KSQL_KCONFIG): every file counts, in vmlinux"
            )
    batch = [f for f in others if f not in beside]
    progress = Progress(len(headers) + len(batch), f"{label} files")  # (the count grows)
    progress(len(reused))
    builder = RowBuilder(kbuild, strict=bool(config.path), declarations_only=declarations_only)
    fresh: dict[str, tuple[Any, ...]] = {}
    sites_of: dict[str, FileSites] = {}
    deferred: set[str] = set()
    rank = {rel: i for i, rel in enumerate(headers + others)}  # the order sites count in

    def take(files: list[str]) -> None:
        """The sites of ``files``, in their order, as they come: what needs no other file's
        sites goes into the rows now, while the workers scan on -- a header's declarations,
        a built file without wrapped exports -- and the rest once every file is in."""
        results = scanner.results(progress)
        for rel in files:
            data = reused.get(rel)
            while data is None and rel not in fresh:
                got = next(results, None)
                if got is None:
                    break  # unreadable: no sites
                fresh[got[0]] = got
            data = data or fresh.get(rel)
            if data is None:
                continue
            sites = sites_of[rel] = FileSites.from_tuple(data)
            builder.add_declarations(sites)
            if rel.endswith(".h"):
                builder.learn_renames(sites)
                if sites.exports or sites.definitions:
                    deferred.add(rel)
            elif sites.wrapped or (rel not in kbuild.files and builder.strict):
                deferred.add(rel)
            else:
                if sites.xmacros:
                    expand_xmacros(sites, root, config.values, arch)
                builder.add_sites(sites, rank[rel])
        for got in results:  # (none, unless a file was unreadable)
            fresh[got[0]] = got

    try:
        submit(batch)
        progress(sum(rel in reused for rel in batch))
        take(headers + batch)
        while True:  # the files the built ones include, level by level
            wanted = _included(batch, fresh, reused, beside)
            beside -= wanted
            batch = sorted(wanted)
            if not batch:
                break
            progress.total += len(batch)
            before = len(reused)
            submit(batch)
            progress(len(reused) - before)
            take(batch)
    finally:
        scanner.close()
        progress.close()
    if use_store and fresh:
        keep = {rel: v for rel, v in stored.items() if rel in found.files}
        keep.update({rel: (*found.files[rel], data) for rel, data in fresh.items()})
        save_sites(root, code, keep)
    scanned = [sites_of[rel] for rel in headers + others if rel in sites_of]  # in file order
    builder.learn_includes(scanned)
    builder.learn_wrappers(scanned)
    for sites in scanned:
        if sites.path in deferred:
            builder.unwrap(sites)
            if sites.xmacros and not declarations_only:
                expand_xmacros(sites, root, config.values, arch)
            builder.add_sites(sites, rank[sites.path])
    builder.emit(sink, symbol_modules)


def _included(
    batch: list[str],
    fresh: dict[str, tuple[Any, ...]],
    reused: dict[str, tuple[Any, ...]],
    beside: set[str],
) -> set[str]:
    """The files of ``beside`` that a file of ``batch`` includes ('#include "idle.c"'),
    as :meth:`RowBuilder.learn_includes` resolves them."""
    from .sites import INCLUDES

    wanted: set[str] = set()
    for rel in batch:
        data = fresh.get(rel) or reused.get(rel)
        if data is None:
            continue
        folder = rel.rpartition("/")[0]
        for inc in data[INCLUDES]:
            path = os.path.normpath(f"{folder}/{inc}" if folder else inc)
            if path in beside:
                wanted.add(path)
    return wanted


def symvers_modules(root: Path) -> dict[str, str]:
    """name -> module from a headers tree's ``Module.symvers`` (Debian ships it there)."""
    from ksql.kernel.modules import normalize_module_name

    path = root / "Module.symvers"
    out: dict[str, str] = {}
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return out
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) >= 3:
            out[parts[1]] = normalize_module_name(parts[2])
    return out
