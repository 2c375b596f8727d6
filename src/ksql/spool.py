"""Sources that are streams: ``-s -`` (standard input), ``-s /dev/stdin``, ``-s <(cmd)`` and
named pipes. Type detection reads a file's head and the decoder reads it again, which a pipe
cannot give twice; so the command line copies each stream once into a private temporary
file (bounded, as text sources are) and hands that over. Only the command line does this:
the language server never reads a stream (a pipe without a writer would block its load).
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ksql.errors import KsqlError, SourceError
from ksql.source import MAX_TEXT

STDIN = "-"


@contextmanager
def spooled(specs: Sequence[str]) -> Iterator[list[str]]:
    """``specs`` with every stream replaced by a temporary copy, removed afterwards."""
    folder: Path | None = None
    out = []
    shown: dict[str, str] = {}  # copy -> what the user wrote, for messages
    try:
        for spec in specs:
            prefix, path = _split(spec)
            if not _is_stream(path):
                out.append(spec)
                continue
            if folder is None:
                import tempfile  # only for a stream: tempfile and shutil cost every start

                folder = Path(tempfile.mkdtemp(prefix="ksql-"))
            copy = folder / (f"stdin-{len(out)}" if path == STDIN else Path(path).name)
            _copy(path, copy)
            out.append(prefix + str(copy))
            shown[str(copy)] = "standard input" if path == STDIN else path
        try:
            yield out
        except KsqlError as exc:
            text = str(exc)
            for copy_path, original in shown.items():
                text = text.replace(copy_path, original)
            raise KsqlError(text) from exc
    finally:
        if folder is not None:
            import shutil

            shutil.rmtree(folder, ignore_errors=True)


def _split(spec: str) -> tuple[str, str]:
    """(``"TYPE:"`` or ``""``, the path); a path with a colon stays whole."""
    name, sep, rest = spec.partition(":")
    if sep and rest and "/" not in name and not Path(spec).exists():
        return name + ":", rest
    return "", spec


def _is_stream(path: str) -> bool:
    if path == STDIN:
        return True
    try:
        return stat.S_ISFIFO(os.stat(path).st_mode)
    except OSError:
        return False


def _copy(path: str, copy: Path) -> None:
    with copy.open("wb") as f:
        source = sys.stdin.buffer if path == STDIN else open(path, "rb")  # noqa: SIM115
        try:
            left = MAX_TEXT + 1
            while left > 0:
                chunk = source.read(min(1 << 20, left))
                if not chunk:
                    break
                f.write(chunk)
                left -= len(chunk)
        finally:
            if source is not sys.stdin.buffer:
                source.close()
    if copy.stat().st_size > MAX_TEXT:
        raise SourceError(path, f"more than {MAX_TEXT >> 20} MiB on a stream: not a symbol list")
