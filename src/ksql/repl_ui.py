"""The REPL's terminal side, on prompt_toolkit: completion (ksql.query.complete), syntax
highlighting (ksql.query.tokens), a bottom toolbar, and persistent history searchable with
Ctrl-R."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, TextIO

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import CompleteEvent, Completer, Completion, PathCompleter
from prompt_toolkit.document import Document
from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.lexers import Lexer
from prompt_toolkit.styles import Style

from ksql.query.complete import complete
from ksql.query.tokens import tokens

if TYPE_CHECKING:
    from ksql.repl import Session

STYLE = Style.from_dict(
    {
        "keyword": "bold ansiblue",
        "field": "ansicyan",
        "flag": "ansimagenta",
        "operator": "ansiyellow",
        "string": "ansigreen",
        "number": "ansigreen",
        "punctuation": "",
        "error": "bg:ansired ansiwhite",
        "bottom-toolbar": "noreverse bg:ansibrightblack ansiwhite",
    }
)
_META = (".help", ".sources", ".load", ".format", ".count", ".output", ".pager", ".quit")

_PATHS = PathCompleter(expanduser=True)


class QueryCompleter(Completer):
    def __init__(self, session: Session) -> None:
        self.session = session

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterable[Completion]:
        text = document.text_before_cursor
        if text.startswith("."):
            command, _, rest = text.partition(" ")
            if not rest and " " not in text:
                yield from (Completion(m, -len(text)) for m in _META if m.startswith(text))
                return
            if command in (".format", ".pager"):
                from ksql.render import RENDERERS

                words = RENDERERS if command == ".format" else ("on", "off")
                yield from (Completion(w, -len(rest)) for w in words if w.startswith(rest.strip()))
                return
            if command in (".load", ".output"):
                yield from _PATHS.get_completions(Document(rest.split(" ")[-1]), complete_event)
                return
            if command != ".count":
                return
            text = rest
        found = complete(text, len(text), self.session.catalog)
        replace = len(text) - found.start
        for c in found.candidates:
            yield Completion(c.text, -replace, display_meta=c.meta or c.kind)


class QueryLexer(Lexer):
    def lex_document(self, document: Document) -> Callable[[int], StyleAndTextTuples]:
        lines = document.lines

        def line(n: int) -> StyleAndTextTuples:
            text = lines[n] if n < len(lines) else ""
            if text.startswith("."):
                return [("class:keyword", text)]
            return [
                (f"class:{kind}" if kind != "text" else "", part) for kind, part in tokens(text)
            ]

        return line


def make_prompt(session: Session, history: History | None = None) -> PromptSession[str]:
    def toolbar() -> str:
        kernel = session.release or "unknown kernel"
        output = f" · output {session.output_name}" if session.output_name else ""
        return (
            f" {kernel} · {len(session.catalog):,} symbols · format {session.format}{output}"
            " · .help "
        )

    if history is None:
        try:
            from ksql.repl import history_path

            history = FileHistory(str(history_path()))
        except OSError:
            history = InMemoryHistory()
    return PromptSession(
        message="ksql> ",
        completer=QueryCompleter(session),
        lexer=QueryLexer(),
        style=STYLE,
        history=history,
        bottom_toolbar=toolbar,
        complete_while_typing=False,
    )


def prompt_loop(session: Session, out: TextIO, err: TextIO) -> None:
    prompt = make_prompt(session)
    while not session.done:
        try:
            line = prompt.prompt()
        except KeyboardInterrupt:
            continue
        except EOFError:
            break
        try:
            session.execute(line, out, err)
        except KeyboardInterrupt:
            # as psql and pgcli: Ctrl-C cancels the running query or .load, not the session;
            # a cancelled .load leaves the catalog as it was (it is replaced only when whole)
            out.flush()
            err.write(f"\ncancelled; still {len(session.catalog):,} symbols loaded\n")
        out.flush()
