"""Whether the ELF source also decodes ``.BTF``: asked for every ELF fingerprint, so kept
apart from the decoder (importing it costs ~25 ms a process)."""

from __future__ import annotations

import os


def elf_wanted() -> bool:
    """Whether the ELF source also decodes ``.BTF`` (``KSQL_ELF_BTF=1``). Opt-in: on the
    Debian 6.1 vmlinux it adds ~0.9 s CPU to a ~0.5 s load (decode and merge), far more
    than the few per cent the ELF load may grow by; ``-s btf:VMLINUX`` does the same."""
    return os.environ.get("KSQL_ELF_BTF", "") not in ("", "0")
