"""Where the language server's symbols come from: ``ksql lsp -s``, else the client's
``initializationOptions.sources``, else workspace configuration ``ksql.sources``, else
``sources = [...]`` in ``.ksql.toml`` at the workspace root, else the running kernel's
defaults. Specs may use ``~``, ``$(uname -r)`` / ``${release}``, ``${machine}`` and
``${workspaceFolder}``. Workspace files only name paths: plugins come from installed entry
points, never from the workspace.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ksql.errors import KsqlError
from ksql.source import RunningKernel

TOML = ".ksql.toml"
_TYPED = re.compile(r"^([A-Za-z_][\w-]*):(?!//)(.*)$")


def expand(spec: str, kernel: RunningKernel, root: Path | None = None) -> str:
    """Placeholders and ``~`` in one source spec (``TYPE:`` prefix kept)."""
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


def sources_from(value: Any) -> list[str] | None:
    """A ``sources`` setting, validated: a list of strings (or one string)."""
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise KsqlError(f"'sources' must be a list of paths, not {type(value).__name__}")


def toml_sources(root: Path | None) -> list[str] | None:
    if root is None:
        return None
    path = root / TOML
    if not path.is_file():
        return None
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, UnicodeError, tomllib.TOMLDecodeError) as exc:
        raise KsqlError(f"{path}: {exc}") from exc
    try:
        return sources_from(data.get("sources"))
    except KsqlError as exc:
        raise KsqlError(f"{path}: {exc}") from exc


def choose(*candidates: Sequence[str] | None) -> list[str]:
    """The first non-empty candidate list; empty means the running kernel's defaults."""
    for c in candidates:
        if c:
            return list(c)
    return []
