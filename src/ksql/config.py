"""Configuration files, one reader for every front end (CLI, REPL, language server).

``.ksql.toml`` in the current directory or the nearest parent (the project's, as clangd's
``.clangd`` or ruff's ``ruff.toml`` are found), then ``config.toml`` in the user
configuration directory (``$XDG_CONFIG_HOME/ksql``, through platformdirs). Precedence:
command line > environment (``KSQL_SOURCES``) > project file > user file > defaults. Which
kernel to read is one setting: the first layer that says anything about it (``sources``,
``kernel`` or ``basedir``) decides all three, so ``-k`` never mixes with a file's ``sources``.
Relative paths in a file are relative to that file's directory.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from ksql.errors import KsqlError
from ksql.source import Kernel
from ksql.values import field, frozen

PROJECT_FILE = ".ksql.toml"
USER_FILE = "config.toml"
COLORS = ("auto", "always", "never")
# key -> what it holds, for the messages
KEYS = {
    "sources": "a list of source specs ([TYPE:]PATH)",
    "kernel": "a kernel release, as -k",
    "basedir": "a root directory, as -b",
    "format": "the default output format of query",
    "pager": "a pager command line (as $PAGER)",
    "color": "auto, always or never",
}
KERNEL_KEYS = ("sources", "kernel", "basedir")
_TYPED = re.compile(r"^([A-Za-z_][\w-]*):(?!//)(.*)$")
_TOML_AT = re.compile(r"^(.*) \(at line (\d+), column (\d+)\)$")


@frozen
class Config:
    """Settings and the file (and line) each came from; None where nothing set it."""

    sources: tuple[str, ...] | None = None
    kernel: str | None = None
    basedir: str | None = None
    format: str | None = None
    pager: str | None = None
    color: str | None = None
    origin: dict[str, str] = field(default_factory=dict)  # key -> "FILE:LINE"

    def where(self, key: str) -> str:
        """``FILE:LINE`` of a setting, for messages about its value."""
        return self.origin.get(key, key)

    @property
    def names_kernel(self) -> bool:
        return any(getattr(self, k) is not None for k in KERNEL_KEYS)

    def over(self, lower: Config) -> Config:
        """This layer over ``lower``: key by key, the kernel keys as one."""
        values: dict[str, Any] = {}
        origin = dict(lower.origin)
        for key in KEYS:
            mine = getattr(self, key)
            take_mine = self.names_kernel if key in KERNEL_KEYS else mine is not None
            if take_mine:
                values[key] = mine
                origin.pop(key, None)
                if key in self.origin:
                    origin[key] = self.origin[key]
            else:
                values[key] = getattr(lower, key)
        return Config(**values, origin=origin)


def project_file(start: Path | None = None) -> Path | None:
    """The nearest ``.ksql.toml`` from ``start`` (the current directory) upward."""
    here = (start or Path.cwd()).absolute()
    for folder in (here, *here.parents):
        candidate = folder / PROJECT_FILE
        if candidate.is_file():
            return candidate
    return None


def user_file() -> Path:
    from ksql.xdg import user_dir

    found = user_dir("XDG_CONFIG_HOME")
    if found is not None:
        return found / USER_FILE
    from platformdirs import user_config_dir

    return Path(user_config_dir("ksql")) / USER_FILE


def read(path: Path) -> Config:
    """One file's settings; a :class:`KsqlError` naming ``FILE:LINE`` for anything wrong."""
    try:
        text = path.read_text()
    except (OSError, UnicodeError) as exc:
        raise KsqlError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from exc
    import tomllib  # only when there is a file to read

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = _TOML_AT.match(str(exc))
        where, what = (f"{path}:{m.group(2)}", m.group(1)) if m else (str(path), str(exc))
        if not m and str(exc).endswith(" (at end of document)"):
            where, what = f"{path}:{text.count(chr(10)) + 1}", str(exc).rsplit(" (", 1)[0]
        raise KsqlError(f"{where}: {what} (not valid TOML)") from exc
    lines = _key_lines(text)
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for key, value in data.items():
        where = f"{path}:{lines.get(key, 1)}"
        if key not in KEYS:
            import difflib

            close = difflib.get_close_matches(key, list(KEYS), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise KsqlError(f"{where}: unknown setting {key!r}; {hint}known: {', '.join(KEYS)}")
        values[key] = _checked(key, value, where, path.parent)
        origin[key] = where
    return Config(**values, origin=origin)


def _checked(key: str, value: Any, where: str, folder: Path) -> Any:
    if key == "sources":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise KsqlError(f"{where}: 'sources' must be {KEYS['sources']}")
        return tuple(relative_to(spec, folder) for spec in value)
    if not isinstance(value, str) or not value:
        raise KsqlError(f"{where}: {key!r} must be {KEYS[key]}, not {value!r}")
    if key == "color" and value not in COLORS:
        raise KsqlError(f"{where}: 'color' must be {KEYS['color']}, not {value!r}")
    if key == "basedir":
        return relative_to(value, folder)
    return value


def relative_to(spec: str, folder: Path) -> str:
    """A spec's relative path made relative to ``folder`` (``TYPE:`` kept; ``~`` and
    placeholders such as ``${release}`` left for :func:`expand`)."""
    m = _TYPED.match(spec)
    prefix, path = (m.group(1) + ":", m.group(2)) if m else ("", spec)
    if path and not path.startswith(("/", "~", "$")):
        path = str(folder / path)
    return prefix + path


def _key_lines(text: str) -> dict[str, int]:
    """The line each top-level key is set on (tomllib keeps no positions)."""
    found: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        m = re.match(r"\s*[\"']?([A-Za-z0-9_-]+)[\"']?\s*=", line)
        if m and m.group(1) not in found:
            found[m.group(1)] = number
    return found


def environment() -> Config:
    """``KSQL_SOURCES``: specs separated by whitespace (``:`` belongs to ``TYPE:PATH``)."""
    text = os.environ.get("KSQL_SOURCES", "").strip()
    if not text:
        return Config()
    return Config(sources=tuple(text.split()), origin={"sources": "KSQL_SOURCES"})


def load(start: Path | None = None) -> Config:
    """Environment over the project file over the user file."""
    merged = Config()
    user = user_file()
    if user.is_file():
        merged = read(user)
    project = project_file(start)
    if project is not None:
        merged = read(project).over(merged)
    return environment().over(merged)


def expand(spec: str, kernel: Kernel, root: Path | None = None) -> str:
    """Placeholders and ``~`` in one source spec (``TYPE:`` prefix kept): ``$(uname -r)`` or
    ``${release}``, ``$(uname -m)`` or ``${machine}``, ``${workspaceFolder}``; with ``root``,
    a relative path that exists there is taken from there."""
    text = spec.replace("$(uname -r)", kernel.release).replace("${release}", kernel.release)
    text = text.replace("$(uname -m)", kernel.machine).replace("${machine}", kernel.machine)
    if root is not None:
        text = text.replace("${workspaceFolder}", str(root))
    m = _TYPED.match(text)
    prefix, path = (m.group(1) + ":", m.group(2)) if m else ("", text)
    if path.startswith("~"):
        path = str(Path(path).expanduser())
    if root is not None and path and not path.startswith("/") and (root / path).exists():
        path = str(root / path)
    return prefix + path


def command_line(sources: list[str], kernel: str | None, basedir: str | None) -> Config:
    """The command line's ``-s``, ``-k`` and ``-b`` as the top layer."""
    return Config(sources=tuple(sources) if sources else None, kernel=kernel, basedir=basedir)


__all__ = ["Config", "command_line", "expand", "load", "project_file", "read", "user_file"]
