"""``ksql check`` output: text (``file: severity: message`` a finding, then indented
``modpost:``/``dmesg:``/``fix:`` lines and the insmod/modprobe verdict), JSON, and SARIF
2.1.0 for code-scanning upload.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TextIO

from ksql import __version__
from ksql.check.run import Verdict
from ksql.kernel.facts import Finding

FORMATS = ("text", "json", "sarif")


def render_text(verdicts: Sequence[Verdict], out: TextIO, *, quiet: bool = False) -> None:
    for v in verdicts:
        where = v.module.path
        for f in v.findings:
            out.write(f"{where}: {f.severity}: {f.message} [{f.check}]\n")
            if quiet:
                continue
            if f.modpost:
                out.write(f"    modpost: {f.modpost}\n")
            for line in f.dmesg:
                out.write(f"    dmesg:   {line}\n")
            if f.fix:
                out.write(f"    fix:     {f.fix}\n")
        if not v.loads:
            out.write(f"{where}: would not load: {v.insmod}\n")
            if not quiet:
                out.write(f"    {v.modprobe}\n")


def _finding(f: Finding) -> dict[str, Any]:
    return {
        "check": f.check,
        "severity": f.severity,
        "message": f.message,
        "symbol": f.symbol or None,
        "modpost": f.modpost or None,
        "dmesg": list(f.dmesg),
        "errno": f.errno or None,
        "insmod": f.insmod or None,
        "fix": f.fix or None,
    }


def render_json(verdicts: Sequence[Verdict], out: TextIO) -> None:
    doc = [
        {
            "path": v.module.path,
            "module": v.module.name,
            "loads": v.loads,
            "insmod": None if v.loads else v.insmod,
            "modprobe": None if v.loads else v.modprobe,
            "findings": [_finding(f) for f in v.findings],
        }
        for v in verdicts
    ]
    json.dump(doc, out, indent=2)
    out.write("\n")


_LEVEL = {"error": "error", "warning": "warning", "note": "note"}


def render_sarif(verdicts: Sequence[Verdict], out: TextIO) -> None:
    """One run, one rule per check code, one result per finding located at the module."""
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for v in verdicts:
        for f in v.findings:
            rules.setdefault(
                f.check,
                {"id": f.check, "shortDescription": {"text": f.check.replace("-", " ")}},
            )
            text = f.message
            if f.dmesg:
                text += " -- dmesg: " + " / ".join(f.dmesg)
            if f.fix:
                text += f" -- fix: {f.fix}"
            results.append(
                {
                    "ruleId": f.check,
                    "level": _LEVEL[f.severity],
                    "message": {"text": text},
                    "locations": [
                        {"physicalLocation": {"artifactLocation": {"uri": v.module.path}}}
                    ],
                }
            )
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "ksql check",
                        "version": __version__,
                        "rules": list(rules.values()),
                    }
                },
                "results": results,
            }
        ],
    }
    json.dump(doc, out, indent=2)
    out.write("\n")


RENDER = {"json": render_json, "sarif": render_sarif}
