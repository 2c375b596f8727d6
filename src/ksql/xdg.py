"""The user's configuration and cache directories on Linux without importing platformdirs
(its import, with tempfile and random, is a tenth of a warm ``ksql check``): the XDG base
directory rules in the cases where every platformdirs ksql accepts (>= 4.0) gives the same
answer -- an absolute ``$XDG_CONFIG_HOME``/``$XDG_CACHE_HOME``, else an absolute ``$HOME``
with the variable unset. Anything else (other systems, relative or blank values) returns
None, and the caller asks platformdirs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_DEFAULTS = {"XDG_CONFIG_HOME": ".config", "XDG_CACHE_HOME": ".cache"}


def user_dir(variable: str, app: str = "ksql") -> Path | None:
    """``$variable/app`` (``XDG_CONFIG_HOME`` or ``XDG_CACHE_HOME``), or the default under
    ``$HOME``; None when platformdirs should decide."""
    if not sys.platform.startswith("linux"):
        return None
    value = os.environ.get(variable, "")
    if os.path.isabs(value):
        return Path(value) / app
    home = os.environ.get("HOME", "")
    if not value and os.path.isabs(home):
        return Path(home) / _DEFAULTS[variable] / app
    return None
