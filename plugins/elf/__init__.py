"""Built-in source: ELF files -- vmlinux, kernel modules (``.ko``, also ``.ko.xz``,
``.ko.zst``, ``.ko.gz``), ``.o`` files -- and directories of modules (``/lib/modules/<rel>``).

Symbols carry nm's type letter exactly as GNU nm prints it (:mod:`.nmtypes`), exports their
flavour, namespace and CRC (:mod:`.kexports`), imports the CRC the module expects, and each
module its ``.modinfo`` as queryable fields (:mod:`.modinfo`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from ksql.elf.magic import ELF_MAGIC, is_compressed
from ksql.hookspecs import hookimpl
from ksql.kernel.modules import VMLINUX
from ksql.sink import Batch, RowSink
from ksql.source import DefaultSource, Kernel, SourceRegistry, SourceType

# Every ksql run imports every plugin: the decoder (with numpy and multiprocessing) is
# imported only when an ELF source is read.


class ElfSource(SourceType):
    name = "elf"
    description = "vmlinux, modules (.ko, .ko.xz/.zst/.gz), .o files, module directories"

    def recognizes(self, path: Path, head: bytes) -> bool:
        if path.is_dir():
            from .files import has_modules

            return has_modules(path)
        if head.startswith(ELF_MAGIC):
            return True
        return is_compressed(head) and path.name.endswith(_COMPRESSED)

    def fingerprint(self, path: Path) -> str | None:
        from .special import wanted

        if not path.is_dir():
            found = super().fingerprint(path)
        else:
            from .files import tree_fingerprint

            found = tree_fingerprint(path)
        # The rows differ with special symbols kept: so does the cache key.
        from ..btf.optin import elf_wanted

        if found is not None and elf_wanted():
            found += ":btf"
        return None if found is None else found + (":special-syms" if wanted() else "")

    def independent(self, path: Path) -> bool:
        """Unless its BTF is read too (KSQL_ELF_BTF=1): a module's split BTF continues the
        vmlinux BTF an earlier source left (:mod:`..btf.bases`)."""
        from ..btf.optin import elf_wanted

        return not elf_wanted()

    def taken(self, path: Path, batches: Sequence[Batch]) -> None:
        if batches:
            _remember_kernel(path, batches[0])

    def load(self, path: Path, sink: RowSink) -> None:
        from .files import Progress, module_files, read_file, read_tree

        if not path.is_dir():
            batch = read_file(path)
            sink.append(batch)
            _remember_kernel(path, batch)
            from ..btf.optin import elf_wanted

            if elf_wanted():  # KSQL_ELF_BTF=1: the same decoder as -s btf:PATH
                from ..btf.load import load_elf

                load_elf(path, sink)
            return
        files = module_files(path)
        progress = Progress(len(files), f"loading {len(files)} modules")
        try:
            for batch in read_tree(files, progress=progress):
                sink.append(batch)
        finally:
            progress.close()


def _remember_kernel(path: Path, batch: Batch) -> None:
    """A linked kernel's .BTF is the base of module BTF read after it. Not decoded here:
    that costs ~0.5 s (the corpus vmlinux), so BTF rows of an ELF file are opt-in,
    -s btf:PATH (README, "Sources")."""
    if len(batch) and batch["module"][0] == VMLINUX:
        from ..btf.bases import remember

        remember(path)


_COMPRESSED = (".ko.xz", ".ko.gz", ".ko.zst", ".o.xz", ".o.gz", ".o.zst", ".xz", ".gz", ".zst")


@hookimpl
def ksql_register_sources(registry: SourceRegistry) -> None:
    registry.register(ElfSource())


@hookimpl
def ksql_default_sources(kernel: Kernel) -> Iterable[DefaultSource]:
    if not kernel.selected:  # a whole module tree is too slow for every default run
        return
    # Debian's and Ubuntu's -dbg/-dbgsym packages, then Fedora's kernel-debuginfo
    for debug in ("/usr/lib/debug/boot/vmlinux-{}", "/usr/lib/debug/lib/modules/{}/vmlinux"):
        path = kernel.path(debug.format(kernel.release))
        if path.exists() or "boot" in debug:
            yield DefaultSource("elf", path)
    # where `make modules_install` and the distributions' packages put the modules
    yield DefaultSource("elf", kernel.path(f"/lib/modules/{kernel.release}"))
