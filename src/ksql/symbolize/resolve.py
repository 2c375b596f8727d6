"""Both directions between addresses and ``name+0xoff/0xsize [module]``: the core kernel
through :class:`KernelTable`, modules through :class:`ModuleImage` (found by name, ``-`` and
``_`` alike, or by build ID), with a KASLR offset and module load bases when known.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ksql.errors import KsqlError
from ksql.kernel.modules import module_name_of_file, normalize_module_name
from ksql.symbolize.kernel_table import KernelTable
from ksql.symbolize.module_image import ModuleImage
from ksql.symbolize.snapshot import SnapshotModules
from ksql.values import frozen


@frozen
class Frame:
    """One resolved location. ``address`` is the runtime address when the KASLR offset or
    the module's base is known (else the link-time address; None for a module without
    base); ``section``/``section_offset`` place module code inside its ``.ko``."""

    name: str
    offset: int
    size: int
    module: str = ""
    address: int | None = None
    build_id: str = ""
    section: str = ""
    section_offset: int = 0
    path: str = ""  # the file the symbol came from (.ko); "" for the core kernel's table

    def text(self) -> str:
        """What ``%pS`` prints."""
        mod = f" [{self.module}]" if self.module else ""
        return f"{self.name}+{self.offset:#x}/{self.size:#x}{mod}"


class Ambiguous(KsqlError):
    """A name with several candidates and nothing (no size, no module) to decide."""


@dataclass
class Symbolizer:
    """Everything needed to resolve frames: the core table, the KASLR offset, where modules
    live and where they were loaded."""

    kernel: KernelTable
    kaslr: int = 0
    module_paths: list[Path] = field(default_factory=list)  # .ko files and directories
    bases: dict[str, int] = field(default_factory=dict)  # module name -> core base
    snapshot: SnapshotModules | None = None  # module rows of a /proc/kallsyms source
    _images: dict[str, ModuleImage | None] = field(default_factory=dict)
    _files: dict[Path, ModuleImage] = field(default_factory=dict)  # each file read once
    _index: dict[str, list[Path]] | None = None

    # -- modules --------------------------------------------------------------------------

    def _module_files(self) -> dict[str, list[Path]]:
        if self._index is None:
            index: dict[str, list[Path]] = {}
            for p in self.module_paths:
                for f in [p] if p.is_file() else _ko_files(p):
                    index.setdefault(module_name_of_file(f.name), []).append(f)
            self._index = index
        return self._index

    def module(self, name: str, build_id: str = "") -> ModuleImage | None:
        """The module called ``name`` (``-``/``_`` alike); among several files of that name
        the one whose build ID matches, when one is given."""
        key = normalize_module_name(name) + "\0" + build_id
        if key in self._images:
            return self._images[key]
        found: ModuleImage | None = None
        for path in self._module_files().get(normalize_module_name(name), []):
            image = self._files.get(path) or self._files.setdefault(path, ModuleImage(path))
            if not build_id or image.build_id == build_id:
                found = image
                break
        self._images[key] = found
        return found

    # -- address -> name ------------------------------------------------------------------

    def describe(self, addresses: list[int]) -> list[Frame | None]:
        """``%pS`` for runtime addresses (kernel/kallsyms.c kallsyms_lookup_buildid(): the
        core kernel first, then the module whose text holds the address)."""
        link = np.array([(a - self.kaslr) % (1 << 64) for a in addresses], dtype=np.uint64)
        hits = self.kernel.lookup(link)
        out: list[Frame | None] = []
        for addr, hit in zip(addresses, hits, strict=True):
            if hit is not None:
                out.append(Frame(hit.name, hit.offset, hit.size, address=addr))
            else:
                out.append(self._in_module(addr) or self._in_snapshot(addr))
        return out

    def _in_snapshot(self, addr: int) -> Frame | None:
        hit = self.snapshot.lookup(addr) if self.snapshot is not None else None
        if hit is None:
            return None
        name, offset, size, module = hit
        return Frame(name, offset, size, module, addr)

    def _in_module(self, addr: int) -> Frame | None:
        for name, base in self.bases.items():
            image = self.module(name)
            if image is None or not base <= addr < base + image.core_text:
                continue
            hit = image.lookup(addr - base)
            if hit is None:
                return None
            return self._module_frame(
                image, hit.name, hit.offset, hit.size, False, hit.layout_offset, addr
            )
        return None

    def _module_frame(
        self,
        image: ModuleImage,
        name: str,
        offset: int,
        size: int,
        init: bool,
        start: int,
        addr: int | None,
    ) -> Frame:
        where = image.section_of(init, start + offset)
        section, sec_off = where if where is not None else ("", 0)
        return Frame(
            name, offset, size, image.name, addr, image.build_id, section, sec_off, str(image.path)
        )

    # -- name -> address ------------------------------------------------------------------

    def locate(
        self,
        name: str,
        offset: int,
        size: int | None = None,
        module: str = "",
        build_id: str = "",
    ) -> Frame:
        """The location ``name+offset[/size] [module]`` names. Duplicate names are told apart
        by size, as scripts/faddr2line does; ``Ambiguous`` when that does not decide."""
        if module:
            return self._locate_in_module(name, offset, size, module, build_id)
        starts = self.kernel.starts_named(name)
        if not starts:
            raise KsqlError(f"{name}: no such symbol in the kernel's table")
        sizes = self.kernel.sizes_at(starts)
        pairs = list(zip(starts, sizes, strict=True))
        if len(pairs) > 1 and size is not None:
            pairs = [p for p in pairs if p[1] == size] or pairs
        if len(pairs) > 1:
            raise Ambiguous(
                f"{name}+{offset:#x}: ambiguous: {len(pairs)} candidates"
                + ("" if size is not None else " (give the size: NAME+OFF/SIZE)")
            )
        start, real_size = pairs[0]
        addr = start + offset + self.kaslr
        return Frame(name, offset, real_size, address=addr % (1 << 64))

    def _locate_in_module(
        self, name: str, offset: int, size: int | None, module: str, build_id: str
    ) -> Frame:
        image = self.module(module, build_id)
        if image is None:
            hint = (
                "add the module's directory or .ko with --modules"
                if not self.module_paths
                else "no such .ko under --modules"
            )
            raise KsqlError(f"{name} [{module}]: module not found ({hint})")
        cands = [(i, o, image.size_at(i, o)) for i, o in image.candidates(name)]
        if not cands:
            raise KsqlError(f"{name}: no such text symbol in {image.path}")
        if len(cands) > 1 and size is not None:
            cands = [c for c in cands if c[2] == size] or cands
        if len(cands) > 1:
            raise Ambiguous(f"{name}+{offset:#x} [{module}]: ambiguous: {len(cands)} candidates")
        init, start, real = cands[0]
        base = self.bases.get(image.name)
        addr = base + start + offset if base is not None and not init else None
        return self._module_frame(image, name, offset, real, init, start, addr)


def _ko_files(root: Path) -> list[Path]:
    """Every ``.ko`` (compressed or not) under ``root``, in a stable order; os.walk, as
    Path.rglob takes ~4x longer over a distribution's 4,000-module tree."""
    found: list[Path] = []
    for top, dirs, files in os.walk(root):
        dirs.sort()
        found.extend(Path(top, f) for f in sorted(files) if ".ko" in f)
    return found
