"""A kernel configuration: its ``CONFIG_X=value`` lines (:func:`read_config`), what it
defines for the C preprocessor, and the Kconfig test macros -- the rules an ``#if`` in
kernel code is evaluated by:

- scripts/kconfig/confdata.c (``conf_write_autoconf`` → include/generated/autoconf.h):
  ``CONFIG_X=y`` defines ``CONFIG_X`` as 1; ``CONFIG_X=m`` defines ``CONFIG_X_MODULE`` as 1
  (and not ``CONFIG_X``); a string, int or hex option defines ``CONFIG_X`` as its value;
  ``n`` or unset defines nothing.
- include/linux/kconfig.h: ``IS_BUILTIN(CONFIG_X)`` is 1 when ``CONFIG_X`` is defined as
  1; ``IS_MODULE(CONFIG_X)`` when ``CONFIG_X_MODULE`` is; ``IS_ENABLED`` is either;
  ``IS_REACHABLE(CONFIG_X)`` is ``IS_BUILTIN`` or (``IS_MODULE`` and the code is built
  as part of a module, ``MODULE`` defined).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path

TESTS = ("IS_ENABLED", "IS_BUILTIN", "IS_MODULE", "IS_REACHABLE")


def defined(name: str, config: Mapping[str, str]) -> int | None:
    """The value autoconf.h gives ``name`` (a ``CONFIG_*`` macro): 1 for y (or m, for the
    ``_MODULE`` name), an option's number, 0 when it defines nothing; None when the value
    is not a number (a string) or the name is not a configuration macro."""
    if not name.startswith("CONFIG_"):
        return None
    value = config.get(name)
    if value is None and name.endswith("_MODULE"):
        return 1 if config.get(name[: -len("_MODULE")]) == "m" else 0
    if value is None or value in ("n", "m"):
        return 0
    if value == "y":
        return 1
    try:
        return int(value, 0)
    except ValueError:
        return None


def is_defined(name: str, config: Mapping[str, str]) -> bool | None:
    """``defined(name)`` for a ``CONFIG_*`` macro; None for any other macro."""
    if not name.startswith("CONFIG_"):
        return None
    if name.endswith("_MODULE") and name not in config:
        return config.get(name[: -len("_MODULE")]) == "m"
    return config.get(name, "n") not in ("n", "m")


def test(macro: str, option: str, config: Mapping[str, str], module: bool | None) -> int | None:
    """``IS_ENABLED(option)`` and its siblings; ``module``: the file is built as part of a
    module (None: unknown)."""
    if not option.startswith("CONFIG_"):
        return None
    value = config.get(option, "n")
    builtin, as_module = value == "y", value == "m"
    if macro == "IS_BUILTIN":
        return int(builtin)
    if macro == "IS_MODULE":
        return int(as_module)
    if macro == "IS_ENABLED":
        return int(builtin or as_module)
    if macro == "IS_REACHABLE":
        if builtin or not as_module:
            return int(builtin)
        return None if module is None else int(module)
    return None


# (A literal first, so the engine jumps from line to line; "^" would be tried at every byte.)
_CONFIG_LINE = re.compile(r"\n(CONFIG_\w+)=([^\r\n]*)")


class ConfigText(Mapping[str, str]):
    """A configuration read on demand: one option is found by its line in the text (a
    module's check asks ~20 of Debian's 6,445 options; :func:`read_config` of all of them
    takes ~7 ms); iterating parses the whole. Where an option is set twice, the last line
    counts, as for :func:`read_config`."""

    def __init__(self, text: str) -> None:
        self._text = "\n" + text
        self._found: dict[str, str | None] = {}
        self._all: dict[str, str] | None = None

    def _whole(self) -> dict[str, str]:
        if self._all is None:
            self._all = dict(_CONFIG_LINE.findall(self._text))
        return self._all

    def __getitem__(self, option: str) -> str:
        if self._all is not None:
            return self._all[option]
        if option not in self._found:
            self._found[option] = self._line(option)
        value = self._found[option]
        if value is None:
            raise KeyError(option)
        return value

    def _line(self, option: str) -> str | None:
        if not option.startswith("CONFIG_") or not option.isidentifier():
            return None
        at = self._text.rfind(f"\n{option}=")
        if at < 0:
            return None
        start = at + len(option) + 2
        found = _LINE_END.search(self._text, start)
        return self._text[start : found.start() if found else len(self._text)]

    def __bool__(self) -> bool:
        return _CONFIG_LINE.search(self._text) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self._whole())

    def __len__(self) -> int:
        return len(self._whole())


_LINE_END = re.compile(r"[\r\n]")


def read_config(path: Path) -> dict[str, str]:
    """``CONFIG_X=value`` lines of a ``.config``, ``auto.conf`` or ``/boot/config-*``; quotes
    stay on strings; ``# CONFIG_X is not set`` is absent. (One pass over the whole text:
    Debian's 9,000-line config in ~2 ms, a match per line took 11 ms.)"""
    return dict(_CONFIG_LINE.findall("\n" + path.read_text(errors="replace")))
