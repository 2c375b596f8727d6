#!/usr/bin/env python3
"""Write man/ksql.1 from the argument parser (tests/test_manpage.py checks it is current)."""

from pathlib import Path

from ksql.manpage import render

target = Path(__file__).resolve().parent.parent / "man" / "ksql.1"
target.write_text(render())
print(target)
