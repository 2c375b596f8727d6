"""What the numpy ELF decoder raises on a crafted table its own checks let through."""

from __future__ import annotations

from ksql.errors import SourceError

# Each is one clear error for that file (a module tree goes on), never a traceback:
# .files.decode_file words it.
SLIPS = (SourceError, ValueError, IndexError, KeyError, OverflowError, TypeError, AttributeError)
