"""Which changes fail a kABI check: distribution presets and SUSE's severity rules.

A **policy** says which change kinds (:data:`ksql.history.diff.KINDS`) break the ABI, reproducing
each distribution's tool:

- ``suse``: ``ksymvers compare`` (SUSE/suse-kabi-tools ``src/symvers/mod.rs``,
  ``compare_with_buffer``): an export removed, its CRC changed, or EXPORT_SYMBOL turned
  EXPORT_SYMBOL_GPL fails; an addition and GPL -> plain are "implicitly tolerated"; nothing
  else is compared.
- ``rhel``: ``check-kabi`` (Red Hat kernel ``redhat/kabi/check-kabi``, ``check_kabi``): a
  CRC change or a removal is an "ABI BREAKAGE"; a symbol whose module directory changed is
  a warning, and the script exits 1 on warnings too ("if fail or warn: sys.exit(1)").
- ``ubuntu``: ``abi-check`` (Ubuntu kernel ``debian/scripts/checks/abi-check``): only
  "Changes from GPL to non-GPL are bad"; moves are logged, additions ignored. (The script
  reads ``vals['loc']`` of a removed symbol, which only has ``'old'``, and stops with a
  KeyError; ksql lets a removal pass, as the script's intent reads.)

A **rules file** is SUSE's kABI severity format (suse-kabi-tools ``doc/suse-kabi-tools.5``,
``src/rules/mod.rs``): ``[MODULE|NAMESPACE|SYMBOL] PATTERN PASS|FAIL`` per line, ``#``
comments, shell wildcards ``*`` and ``?``, first match wins. Without the type word a pattern
with ``/`` or equal to ``vmlinux`` is a module, an all-capitals one a namespace, else a
symbol. As in ``ksymvers``, the first matching rule's PASS tolerates a change (PASS makes
them "tolerated by rules"), a FAIL rule cannot fail what the policy tolerates, and the rules read
the old side's module and namespace (the new side's for an addition).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from enum import Enum
from pathlib import Path

from ksql.errors import KsqlError, SourceError
from ksql.history.diff import KINDS, Change
from ksql.values import frozen

_REMOVALS = frozenset({"removed", "unexported"})

# Kinds each tool reports and fails on; the rest it does not look at.
POLICIES: dict[str, frozenset[str]] = {
    "suse": frozenset({*_REMOVALS, "crc", "plain-to-gpl"}),
    "rhel": frozenset({*_REMOVALS, "crc", "moved"}),
    "ubuntu": frozenset({"gpl-to-plain"}),
}
# Kinds ksymvers prints (its short and symbols formats show these only).
KSYMVERS_KINDS = frozenset({"added", "exported", *_REMOVALS, "crc", "plain-to-gpl", "gpl-to-plain"})
assert all(p <= set(KINDS) for p in POLICIES.values())


class Verdict(Enum):
    FAIL = "FAIL"
    PASS = "PASS"  # the policy does not fail this kind ("implicitly tolerated")
    TOLERATED = "TOLERATED"  # a rule's PASS tolerates what the policy fails


@frozen
class Rule:
    type: str  # MODULE, NAMESPACE or SYMBOL
    pattern: str
    fail: bool
    line: int
    regex: re.Pattern[str]

    def matches(self, change: Change) -> bool:
        if self.type == "MODULE":
            return self._module(change.module)
        if self.type == "NAMESPACE":
            return change.namespace is not None and bool(self.regex.match(change.namespace))
        return bool(self.regex.match(change.name))

    def _module(self, module: str) -> bool:
        # ksql names modules as the kernel does (usb_storage); Module.symvers and the rules
        # use the build path (drivers/usb/storage/usb-storage): match the path's last part.
        return bool(self.regex.match(module))


def _module_regex(pattern: str, path: Path, line: int) -> re.Pattern[str]:
    last = pattern.rsplit("/", 1)[-1]
    if "/" in pattern and last.strip("*?") == "":
        raise SourceError(
            path,
            f"module pattern {pattern!r} names a directory; ksql knows modules by name "
            "(usb_storage), not build path",
            line=line,
            hint="name the modules (drivers/usb/storage/usb-storage or usb_storage)",
        )
    return re.compile(fnmatch.translate(last.replace("-", "_")))


def parse_rules(text: str, path: Path) -> list[Rule]:
    """The rules of a severity file; SourceError at the line of a bad one."""
    rules = []
    for number, raw in enumerate(text.splitlines(), 1):
        words = raw.split("#", 1)[0].split()
        if not words:
            continue
        if len(words) == 2:
            pattern, verdict = words
            if "/" in pattern or pattern == "vmlinux":
                kind = "MODULE"
            elif pattern == pattern.upper():
                kind = "NAMESPACE"
            else:
                kind = "SYMBOL"
        elif len(words) == 3:
            kind, pattern, verdict = words
            if kind not in ("MODULE", "NAMESPACE", "SYMBOL"):
                raise SourceError(
                    path,
                    f"invalid rule type {kind!r}, must be either MODULE, NAMESPACE or SYMBOL",
                    line=number,
                )
        else:
            raise SourceError(
                path,
                f"expected '[type] <pattern> <verdict>', got {len(words)} words",
                line=number,
            )
        if verdict.upper() not in ("PASS", "FAIL"):
            raise SourceError(
                path, f"invalid verdict {verdict!r}, must be either PASS or FAIL", line=number
            )
        regex = (
            _module_regex(pattern, path, number)
            if kind == "MODULE"
            else re.compile(fnmatch.translate(pattern))
        )
        rules.append(Rule(kind, pattern, verdict.upper() == "FAIL", number, regex))
    return rules


def load_rules(path: Path) -> list[Rule]:
    try:
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError as exc:
        raise SourceError(path, f"cannot read: {exc.strerror or exc}") from exc
    return parse_rules(text, path)


def policy(name: str) -> frozenset[str]:
    try:
        return POLICIES[name]
    except KeyError:
        raise KsqlError(f"no policy {name!r}; choices: {', '.join(POLICIES)}") from None


def verdicts(
    changes: Sequence[Change], failing: frozenset[str], rules: Sequence[Rule] = ()
) -> list[Verdict]:
    """One verdict per change, in ksymvers' order of questions: a matching PASS rule
    tolerates the change; else a kind the policy does not fail passes; else it fails (a
    FAIL rule cannot fail a change the policy tolerates, as in ``process_change``)."""
    out = []
    for change in changes:
        rule = next((r for r in rules if r.matches(change)), None)
        if rule is not None and not rule.fail:
            out.append(Verdict.TOLERATED)
        elif change.kind not in failing:
            out.append(Verdict.PASS)
        else:
            out.append(Verdict.FAIL)
    return out
