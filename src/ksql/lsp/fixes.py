"""The quick fix for a missing namespace import: one ``MODULE_IMPORT_NS`` line after the
file's last MODULE_*() / module_init() line. The argument is a string literal from 6.13
(cdd30ebb1b9f, "module: Convert symbol namespace to string literal") and a bare name
before; the file's own style wins, then the loaded kernel's version.
"""

from __future__ import annotations

from ksql.lsp.csource import CFile
from ksql.values import frozen


@frozen
class Insertion:
    line: int
    text: str
    title: str


def import_namespace(cfile: CFile, namespace: str, kernel: tuple[int, int] | None) -> Insertion:
    style = cfile.import_style
    if style is None:
        style = "bare" if kernel is not None and kernel < (6, 13) else "string"
    arg = f'"{namespace}"' if style == "string" else namespace
    line = f"MODULE_IMPORT_NS({arg});\n"
    return Insertion(cfile.insert_line, line, f"Add MODULE_IMPORT_NS({arg})")
