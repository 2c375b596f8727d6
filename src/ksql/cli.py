"""The ``ksql`` command: arguments in, catalog and query, rendering out. Exit codes follow
grep: 0 when something matched, 1 when nothing did, 2 on an error.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn, TextIO

from ksql.cliparser import COMMANDS
from ksql.cliparser import build_parser as build_parser
from ksql.errors import KsqlError

if TYPE_CHECKING:
    from ksql.config import Config

EXIT_MATCH, EXIT_NONE, EXIT_ERROR = 0, 1, 2
# Writing the answer failed for a reason of the output's, not of ksql's.
_OUTPUT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG})


USAGE = """\
usage: ksql COMMAND [options]     (ksql COMMAND --help for more)

  ksql query 'exported and module=m2' -s /proc/kallsyms     ask a question
  ksql query 'gpl and namespace=DMA_BUF' -k 6.1.0-50-amd64   about an installed kernel
  ksql check my.ko -k 6.1.0-50-amd64                        will it link and load there
  ksql symbolize -s vmlinux < oops.txt                      decode an oops (ksql addr: one)
  ksql diff OLD NEW                                         what changed between kernels
  ksql export DIR; ksql history DIR QUERY                   many kernels, Parquet + DuckDB
  ksql type 'struct module' -s /sys/kernel/btf/vmlinux      a type's layout from BTF
  ksql sources                                              what ksql reads, and the kernel
  ksql repl                                                 an interactive query shell
  ksql lsp                                                  the language server for editors
  ksql completion bash                                      shell completion (bash, zsh, fish)
"""


def run() -> NoReturn:
    """The ``ksql`` program: :func:`main`, then the process ends at once. Everything a
    command opens it closes itself (files, spool folders, worker pools, databases), so the
    interpreter's teardown (freeing every module and the catalog's arrays one object at a
    time) would only delay the exit: ~20 ms of a warm query's ~230 ms here."""
    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):
            pass  # the reader went away (| head), or the command closed it (ksql lsp)
        except OSError as exc:  # a full disk, a closed descriptor: say so, fail
            os.write(2, f"ksql: cannot write the output: {exc.strerror}\n".encode())
            code = EXIT_ERROR
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    # numpy's OpenBLAS starts a thread per core when numpy is imported, and ksql does no
    # linear algebra: one thread saves ~60 ms of CPU a process (ksql symbolize: 0.44-0.47 s
    # user -> 0.37-0.41 s, same runs). A value the user set wins.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    words = list(sys.argv[1:] if argv is None else argv)
    if "_ARGCOMPLETE" in os.environ:  # the shell asks for completions (argcomplete)
        from ksql.completion import autocomplete

        autocomplete(build_parser())
    if not words:
        sys.stderr.write(USAGE)
        return EXIT_ERROR
    full_help = "-h" in words or "--help" in words
    command = words[0] if words[0] in COMMANDS and not full_help else None
    args = build_parser(full_help, command).parse_args(words)
    if getattr(args, "special_syms", False):
        os.environ["KSQL_SPECIAL_SYMS"] = "1"  # read by the ELF source, also in its workers
    try:
        _settle_sources(args)
        if args.command == "query":
            return _query(args, sys.stdout, sys.stderr)
        if args.command == "lsp":
            from ksql.lsp.listen import run as lsp

            return lsp(args)
        if args.command == "check":
            from ksql.check.command import run as check

            return check(args, sys.stdout, sys.stderr)
        if args.command in ("diff", "export", "history"):
            from ksql.history.command import run_command

            return run_command(args, sys.stdout, sys.stderr)
        if args.command in ("addr", "symbolize"):
            from ksql.symbolize.command import main as symbolize

            return symbolize(args)
        if args.command == "type":  # the BTF plugin's layouts (ksql.plugins.btf.types)
            import importlib

            types = importlib.import_module("ksql.plugins.btf.types")
            return int(types.main(args.name, args.source, sys.stdout))
        if args.command == "completion":
            from ksql.completion import shell_script

            sys.stdout.write(shell_script(args.shell))
            return EXIT_MATCH
        if args.command == "repl":
            from ksql.pluginmanager import load_plugins
            from ksql.repl import run
            from ksql.spool import STDIN, spooled

            if STDIN in args.source:
                raise KsqlError("the REPL reads queries from standard input: -s - is for query")
            with spooled(args.source) as specs:
                plugins = load_plugins(args.plugin, args.block)
                return run(
                    plugins,
                    specs,
                    sys.stdin,
                    sys.stdout,
                    sys.stderr,
                    args.selection,
                    args.settings.pager,
                    args.no_pager,
                )
        return _sources(args, sys.stdout)
    except KsqlError as exc:
        print(f"ksql: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:
        # The reader went away (| head): not an error; keep Python from complaining.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_MATCH
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug: one line, the traceback only on request
        if isinstance(exc, OSError) and exc.errno in _OUTPUT_ERRNOS:
            print(f"ksql: cannot write the output: {exc.strerror}", file=sys.stderr)
            return EXIT_ERROR
        if os.environ.get("KSQL_DEBUG"):
            raise
        print(
            f"ksql: internal error: {type(exc).__name__}: {exc} "
            "(set KSQL_DEBUG=1 for the traceback, and please report it)",
            file=sys.stderr,
        )
        return EXIT_ERROR


def _settle_sources(args: argparse.Namespace) -> None:
    """Every command with source options gets its sources here, before dispatch: the
    command line's ``-s``/``-k``/``-b`` over ``KSQL_SOURCES`` over ``.ksql.toml`` over the
    user's config file (the language server reads the files from its workspace itself).
    Sets ``args.source`` (specs), ``args.selection`` (the chosen kernel or None) and
    ``args.settings`` (the merged configuration)."""
    if not hasattr(args, "source"):
        return
    from ksql import config
    from ksql.kernels import sources_for

    settings = config.command_line(
        args.source, getattr(args, "kernel", None), getattr(args, "basedir", None)
    )
    if args.command != "lsp":
        settings = settings.over(config.load())
    plugins = None
    if settings.kernel is not None or settings.basedir is not None:
        from ksql.pluginmanager import load_plugins

        plugins = load_plugins(getattr(args, "plugin", []), getattr(args, "block", []))
    args.source, args.selection = sources_for(settings, plugins)
    args.settings = settings
    kconfig = args.selection.kconfig if args.selection else None
    if kconfig is not None and "KSQL_KCONFIG" not in os.environ:
        os.environ["KSQL_KCONFIG"] = str(kconfig)  # what a tree source builds modules with


def _query(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ksql import terminal
    from ksql.loading import load_catalog
    from ksql.pluginmanager import load_plugins
    from ksql.query.compiler import compile_query
    from ksql.render import RENDERERS, render_table

    plan = compile_query(args.query)  # a bad query fails before any file is read
    plugins = load_plugins(args.plugin, args.block)
    from ksql.spool import spooled

    with spooled(args.source) as specs:
        catalog = load_catalog(specs, plugins, use_cache=specs == args.source)
    for note in catalog.notes:
        print(f"ksql: note: {note}", file=err)
    for problem in catalog.problems:
        print(f"ksql: warning: {problem}", file=err)
    rows = plan.rows(catalog)
    if err.isatty():
        from ksql.kernels import describe

        print(f"ksql: kernel {describe(catalog, args.selection)}", file=err)
    fmt = args.format or _configured_format(args.settings) or ("table" if out.isatty() else "nm")
    color = terminal.use_color(args.color or args.settings.color or "auto", out)
    paging = not args.no_pager and out.isatty()  # terminal.paged() pages only a terminal
    pager = terminal.pager_command(args.settings.pager) if paging else None
    with terminal.paged(out, pager) as stream:
        if fmt == "table":
            cols = None if args.wide else terminal.width(out)
            render_table(catalog, rows, stream, width=cols, color=color)
        else:
            RENDERERS[fmt](catalog, rows, stream)
        stream.flush()
    return EXIT_MATCH if len(rows) else EXIT_NONE


def _configured_format(settings: Config) -> str | None:
    from ksql.render import RENDERERS

    if settings.format is not None and settings.format not in RENDERERS:
        raise KsqlError(
            f"{settings.where('format')}: no format {settings.format!r} "
            f"(known: {', '.join(RENDERERS)})"
        )
    return settings.format


def _sources(args: argparse.Namespace, out: TextIO) -> int:
    from ksql.builder import CatalogBuilder
    from ksql.kernels import describe
    from ksql.loading import Resolved, default_sources, load_one, resolve
    from ksql.pluginmanager import load_plugins

    plugins = load_plugins(args.plugin, args.block)
    out.write("plugins:\n")
    for source_type in plugins.registry:
        out.write(
            f"  {source_type.name:<10} {source_type.description}"
            f"  [{plugins.plugin_of(source_type)}]\n"
        )
    blocked = [n for n in args.block if plugins.manager.is_blocked(n)]
    if blocked:
        out.write(f"  blocked: {', '.join(blocked)}\n")
    selection = args.selection
    if selection is not None:
        out.write(f"sources for kernel {selection.label}:\n")
    else:
        running = "" if args.source else f" ({os.uname().release})"
        out.write("sources:\n" if args.source else f"sources for the running kernel{running}:\n")
    builder = CatalogBuilder()
    failures = 0
    # (shown, resolved, problem, whether a problem is a failure)
    candidates: list[tuple[str, Resolved | None, str, bool]] = []
    if args.source:
        for spec in args.source:
            try:
                candidates.append((spec, resolve(spec, plugins), "", True))
            except KsqlError as exc:
                candidates.append((spec, None, str(exc), True))
        for path, why in selection.skipped if selection else ():
            candidates.append((path, None, why, False))
    else:
        for d in default_sources(plugins):
            st = plugins.registry.get(d.source_type)
            if d.skip_reason:
                candidates.append((str(d.path), None, f"skipped: {d.skip_reason}", False))
            elif not d.path.exists():
                candidates.append((str(d.path), None, "not found", False))
            elif st is not None:
                candidates.append((str(d.path), Resolved(st, d.path), "", False))
    for shown, resolved, problem, fails in candidates:
        if resolved is None:
            out.write(f"  {shown}: {problem}\n")
            failures += fails
            continue
        try:
            rows = load_one(builder, resolved)
        except KsqlError as exc:
            out.write(f"  {shown}: {resolved.source_type.name}: error: {exc}\n")
            failures += 1
            continue
        out.write(f"  {shown}: {resolved.source_type.name}, {rows} rows\n")
    catalog = builder.build()
    for note in catalog.notes:
        out.write(f"  note: {note}\n")
    for problem in catalog.problems:
        out.write(f"  warning: {problem}\n")
    out.write(f"catalog: {len(catalog)} symbols in {len(catalog.module_names())} modules\n")
    out.write(f"kernel: {describe(catalog, selection)}\n")
    return EXIT_ERROR if failures else EXIT_MATCH
