"""``ksql repl``: load the catalog once, then answer queries -- with completion from the
catalog, highlighting from the grammar's tokens, persistent searchable history and meta
commands on a terminal; one query per line, scriptable, when stdin is not a terminal.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from ksql.catalog import Catalog
from ksql.errors import KsqlError, QuerySyntaxError
from ksql.kernels import Selection, release_of
from ksql.pluginmanager import Plugins
from ksql.render import RENDERERS

MAX_ROWS = 200  # shown on a terminal without an explicit limit; the count says the rest
HELP = f"""\
Type a query (`exported and module=m2`), Tab to complete, Ctrl-R to search history.
  .help               this text
  .sources            what is loaded
  .load PATH ...      load more sources ([TYPE:]PATH, as -s)
  .format FMT         output: {", ".join(RENDERERS)}
  .count QUERY        how many rows match
  .quit               leave (Ctrl-D too)"""


class Session:
    """The REPL's state and its commands; pure of terminal handling, so tests drive it."""

    def __init__(
        self,
        plugins: Plugins,
        specs: list[str],
        catalog: Catalog,
        interactive: bool,
        selection: Selection | None = None,
    ) -> None:
        self.plugins = plugins
        self.specs = list(specs)
        self.selection = selection
        self.catalog = catalog
        self.release = release_of(catalog, selection)  # the toolbar names the kernel
        self.interactive = interactive
        self.format = "table" if interactive else "nm"
        self.done = False

    def execute(self, line: str, out: TextIO, err: TextIO) -> bool:
        """Run one line; False when it failed (the error went to ``err``)."""
        text = line.strip()
        if not text or text.startswith("#"):
            return True
        try:
            if text.startswith("."):
                return self._meta(text, out)
            self._query(text, out)
            return True
        except QuerySyntaxError as exc:
            err.write(f"{exc}\n")
        except KsqlError as exc:
            err.write(f"error: {exc}\n")
        return False

    def _query(self, text: str, out: TextIO) -> None:
        from ksql.query.compiler import compile_query

        plan = compile_query(text)
        rows = plan.rows(self.catalog)
        shown = rows
        if self.interactive and plan.limit is None and self.format != "count":
            shown = rows[:MAX_ROWS]
        RENDERERS[self.format](self.catalog, shown, out)
        if len(shown) < len(rows):
            out.write(
                f"... {len(rows) - len(shown):,} more rows ({len(rows):,} in all): add "
                "'limit N', or '.format nm' and a pipe\n"
            )
        elif self.interactive and self.format != "count":
            out.write(f"({len(rows):,} rows)\n")

    def _meta(self, text: str, out: TextIO) -> bool:
        command, _, rest = text.partition(" ")
        rest = rest.strip()
        if command in (".quit", ".exit", ".q"):
            self.done = True
        elif command == ".help":
            out.write(HELP + "\n")
        elif command == ".format":
            if rest not in RENDERERS:
                raise KsqlError(f".format takes one of {', '.join(RENDERERS)}")
            self.format = rest
        elif command == ".count":
            from ksql.query.compiler import compile_query

            out.write(f"{compile_query(rest).count(self.catalog):,}\n")
        elif command == ".sources":
            for label, rows in self.catalog.loaded:
                out.write(f"  {label}: {rows:,} rows\n")
            out.write(f"  {len(self.catalog):,} symbols in all, kernel {self.release or '?'}\n")
        elif command == ".load":
            if not rest:
                raise KsqlError(".load takes one or more paths")
            self._load(self.specs + shlex.split(rest))
            out.write(f"  {len(self.catalog):,} symbols\n")
        else:
            raise KsqlError(f"unknown command {command!r}; .help lists them")
        return True

    def _load(self, specs: list[str]) -> None:
        from ksql.loading import load_catalog

        catalog = load_catalog(specs, self.plugins)
        catalog.name_order()
        self.catalog, self.specs = catalog, specs
        self.release = release_of(catalog, self.selection)


def run(
    plugins: Plugins,
    specs: list[str],
    stdin: TextIO,
    out: TextIO,
    err: TextIO,
    selection: Selection | None = None,
) -> int:
    from ksql.loading import load_catalog

    interactive = stdin.isatty() and out.isatty()
    if interactive:
        err.write("loading symbols...\r")
        err.flush()
    catalog = load_catalog(specs, plugins)
    catalog.name_order()  # completion's index
    for note in catalog.notes:
        err.write(f"note: {note}\n")
    for problem in catalog.problems:
        err.write(f"warning: {problem}\n")
    session = Session(plugins, specs, catalog, interactive, selection)
    if not interactive:
        return _script(session, stdin, out, err)
    from ksql.repl_ui import prompt_loop

    prompt_loop(session, out, err)
    return 0


def _script(session: Session, lines: Iterable[str], out: TextIO, err: TextIO) -> int:
    failed = False
    for line in lines:
        failed |= not session.execute(line, out, err)
        if session.done:
            break
    return 2 if failed else 0


def history_path() -> Path:
    from platformdirs import user_state_dir

    path = Path(user_state_dir("ksql")) / "history"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
