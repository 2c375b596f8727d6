"""``python -m ksql``.

``-m`` puts the current directory first on ``sys.path``; in a workspace that holds a
``lark.py`` or ``numpy.py`` (or anything named like a module ksql imports later), the
language server started there would run the workspace's code. The directory goes before
anything of ksql's is imported: only the entry ``-m`` adds (the first); a directory the user
names in ``PYTHONPATH`` stays.
"""

import os
import sys


def _drop_cwd(path: list[str]) -> None:
    if path and (path[0] in ("", ".") or os.path.abspath(path[0]) == os.getcwd()):
        del path[0]


_drop_cwd(sys.path)

from ksql.cli import run  # noqa: E402

run()
