"""``ksql repl``: load the catalog once, then answer queries -- with completion from the
catalog, highlighting from the grammar's tokens, persistent searchable history and meta
commands on a terminal; one query per line, scriptable, when stdin is not a terminal.
"""

from __future__ import annotations

import io
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
  .output [FILE]      results to FILE (emptied first); alone or `stdout`: the terminal
  .pager on|off       page results taller than the terminal ($KSQL_PAGER, $PAGER, less)
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
        pager: str | None = None,
        paging: bool = False,
    ) -> None:
        self.plugins = plugins
        self.specs = list(specs)
        self.selection = selection
        self.catalog = catalog
        self.release = release_of(catalog, selection)  # the toolbar names the kernel
        self.interactive = interactive
        self.format = "table" if interactive else "nm"
        self.pager = pager  # the pager setting, as ksql.terminal.pager_command takes it
        self.paging = paging  # results taller than the terminal go through the pager
        self.output: TextIO | None = None  # .output FILE: results go there
        self.output_name: str | None = None
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
        from ksql import terminal
        from ksql.query.compiler import compile_query

        plan = compile_query(text)
        rows = plan.rows(self.catalog)
        if self.output is not None:  # the whole result, as `ksql query -f FMT >FILE` writes
            RENDERERS[self.format](self.catalog, rows, self.output)
            self.output.flush()
            return
        pager = terminal.pager_command(self.pager) if self.paging and out.isatty() else None
        buffer = io.StringIO() if pager else None  # measured before it is shown
        target = out if buffer is None else buffer
        shown = rows
        if self.interactive and plan.limit is None and self.format != "count":
            shown = rows[:MAX_ROWS]
        RENDERERS[self.format](self.catalog, shown, target)
        if len(shown) < len(rows):
            target.write(
                f"... {len(rows) - len(shown):,} more rows ({len(rows):,} in all): add "
                "'limit N', or '.format nm' and a pipe\n"
            )
        elif self.interactive and self.format != "count":
            target.write(f"({len(rows):,} rows)\n")
        if buffer is not None:  # below it: the next prompt and the toolbar
            terminal.page_if_tall(out, buffer.getvalue(), pager, reserve=2)

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

            result = self.output or out
            result.write(f"{compile_query(rest).count(self.catalog):,}\n")
            result.flush()
        elif command == ".output":
            self._redirect(_words(rest))
        elif command == ".pager":
            self._set_paging(rest, out)
        elif command == ".sources":
            for label, rows in self.catalog.loaded:
                out.write(f"  {label}: {rows:,} rows\n")
            out.write(f"  {len(self.catalog):,} symbols in all, kernel {self.release or '?'}\n")
        elif command == ".load":
            if not rest:
                raise KsqlError(".load takes one or more paths")
            self._load(self.specs + _words(rest))
            out.write(f"  {len(self.catalog):,} symbols\n")
        else:
            raise KsqlError(f"unknown command {command!r}; .help lists them")
        return True

    def _redirect(self, words: list[str]) -> None:
        if len(words) > 1:
            raise KsqlError(".output takes one file (quote a name with spaces)")
        output = None
        if words and words[0] != "stdout":
            path = Path(words[0]).expanduser()
            try:
                output = path.open("w", encoding="utf-8")
            except OSError as exc:  # the session keeps the output it had
                raise KsqlError(f"cannot write {path}: {exc.strerror or exc}") from None
        self.close()
        self.output, self.output_name = output, words[0] if output else None

    def _set_paging(self, rest: str, out: TextIO) -> None:
        from ksql.terminal import pager_command

        if rest not in ("on", "off", ""):
            raise KsqlError(".pager takes on or off")
        command = pager_command(self.pager)
        if rest == "on" and command is None:
            raise KsqlError(
                "no pager to turn on: $KSQL_PAGER, the pager setting or $PAGER is empty or "
                "cat, or names a program that is not installed"
            )
        if rest:
            self.paging = rest == "on"
        else:
            out.write(f"pager {command if self.paging and command else 'off'}\n")

    def close(self) -> None:
        """Close the ``.output`` file, if any; results go to the terminal again."""
        if self.output is not None:
            self.output.close()
        self.output = self.output_name = None

    def _load(self, specs: list[str]) -> None:
        from ksql.loading import load_catalog

        catalog = load_catalog(specs, self.plugins, long_lived=True)
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
    pager: str | None = None,
    no_pager: bool = False,
) -> int:
    """``pager``: the pager setting; ``no_pager``: start with paging off (``.pager on``)."""
    from ksql.loading import load_catalog

    interactive = stdin.isatty() and out.isatty()
    if interactive:
        err.write("loading symbols...\r")
        err.flush()
    catalog = load_catalog(specs, plugins, long_lived=True)
    catalog.name_order()  # completion's index
    for note in catalog.notes:
        err.write(f"note: {note}\n")
    for problem in catalog.problems:
        err.write(f"warning: {problem}\n")
    paging = interactive and not no_pager
    session = Session(plugins, specs, catalog, interactive, selection, pager, paging)
    try:
        if not interactive:
            return _script(session, stdin, out, err)
        from ksql.repl_ui import prompt_loop

        prompt_loop(session, out, err)
        return 0
    finally:
        session.close()


def _words(text: str) -> list[str]:
    """A meta command's arguments, split as the shell splits them."""
    try:
        return shlex.split(text)
    except ValueError as exc:  # an unclosed quote
        raise KsqlError(f"{exc}: {text}") from None


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
