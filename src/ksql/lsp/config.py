"""Where the language server's symbols come from, first found wins: ``ksql lsp -s/-k/-b``;
the project's ``.ksql.toml`` (the workspace root or the nearest parent: a project's file wins
over the editor's global settings, as clangd's ``.clangd`` does); the client's
``initializationOptions.sources``; workspace configuration ``ksql.sources``; the user's
``config.toml``; else the running kernel's defaults. The files are read by
:mod:`ksql.config`, as the command line reads them. Specs may use ``~``, ``$(uname -r)`` /
``${release}``, ``${machine}`` and ``${workspaceFolder}``. Workspace files only name paths:
plugins come from installed entry points, never from the workspace.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ksql import config as files
from ksql.config import expand
from ksql.errors import KsqlError

TOML = files.PROJECT_FILE


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
    """The project file's sources (its ``kernel``/``basedir`` expanded), from the workspace
    root upward; None without one."""
    path = files.project_file(root) if root is not None else None
    return _specs(files.read(path)) if path is not None else None


def user_sources() -> list[str] | None:
    """The user's ``config.toml`` sources; None without one."""
    path = files.user_file()
    return _specs(files.read(path)) if path.is_file() else None


def _specs(settings: files.Config) -> list[str] | None:
    from ksql.kernels import sources_for

    if not settings.names_kernel:
        return None
    return sources_for(settings, None)[0]


def choose(*candidates: Sequence[str] | None) -> list[str]:
    """The first non-empty candidate list; empty means the running kernel's defaults."""
    for c in candidates:
        if c:
            return list(c)
    return []


__all__ = ["TOML", "choose", "expand", "sources_from", "toml_sources", "user_sources"]
