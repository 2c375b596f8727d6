"""The did-you-mean hints of the query compiler's errors: what a word that names nothing was
probably meant to be. (``difflib`` is imported when a hint is wanted, not with the compiler.)
"""

from __future__ import annotations

from ksql.query.fields import FIELDS, FLAGS, ValueKind
from ksql.query.parser import vocabulary

__all__ = ["bare_word_hint", "did_you_mean"]


def did_you_mean(word: str, choices: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}? " if close else ""


def bare_word_hint(word: str) -> str:
    """Why a bare word that matched no name is likely a mistake ("" when it is not): a field
    named alone (``declared_at``), or a word close to a flag, a field or a keyword."""
    field = FIELDS.get(word)
    if field is not None:  # not a typo of itself
        if field.kind in (ValueKind.STRING, ValueKind.SITE, ValueKind.PATH, ValueKind.MODINFO):
            example = f"{field.name}=* for any value"
        elif field.kind is ValueKind.NUMBER:
            example = f"e.g. {field.name}>0"
        else:
            example = f"e.g. {field.name}={(field.choices or ('VALUE',))[0]}"
        return f"{field.name!r} is a field: compare it ({example}) "
    words = [*FLAGS, *FIELDS, *(k.lower() for k in vocabulary().keywords)]
    return did_you_mean(word, words) or _prefix_hint(word, [*FLAGS])


def _prefix_hint(word: str, choices: list[str]) -> str:
    """``gpl_only`` -> ``gpl``: a choice the word starts with, then ``_`` or ``-``."""
    low = word.lower()
    found = [c for c in choices if low.startswith((c + "_", c + "-"))]
    return f"did you mean {max(found, key=len)!r}? " if found else ""
