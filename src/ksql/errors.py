"""Every error ksql raises on purpose derives from :class:`KsqlError`; the CLI prints it as one
line (or a caret block for queries) and exits 2, the language server turns it into a message.
"""

from __future__ import annotations

from pathlib import Path


class KsqlError(Exception):
    """Base of ksql's errors: the message is meant for the user as it stands."""


class SourceError(KsqlError):
    """A source file that cannot be read or parsed.

    ``line`` is 1-based where the format is line-oriented; ``offset`` a byte offset otherwise.
    """

    def __init__(
        self,
        path: str | Path,
        message: str,
        *,
        line: int | None = None,
        offset: int | None = None,
        hint: str = "",
    ) -> None:
        self.path = str(path)
        self.line = line
        self.offset = offset
        self.message = message
        self.hint = hint
        where = self.path
        if line is not None:
            where += f":{line}"
        elif offset is not None:
            where += f": at byte offset {offset}"
        text = f"{where}: {message}"
        if hint:
            text += f" ({hint})"
        super().__init__(text)


class PluginError(KsqlError):
    """A plugin that cannot be loaded, or a source spec naming an unknown plugin."""


class QuerySyntaxError(KsqlError):
    """A query that does not parse or does not make sense, pointing at a 1-based column.

    ``str()`` is the message, then the query and a caret line under the offending column.
    """

    def __init__(
        self, message: str, text: str, column: int, expected: tuple[str, ...] = ()
    ) -> None:
        self.message = message
        self.text = text
        self.column = column
        self.expected = expected
        super().__init__(message)

    def __str__(self) -> str:
        caret = " " * (self.column - 1) + "^"
        return f"{self.message} (column {self.column})\n  {self.text}\n  {caret}"
