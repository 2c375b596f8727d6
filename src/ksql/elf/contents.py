"""Reading a section's contents by address, shared by both ELF readers (:mod:`.reader` and
``ksql.plugins.elf.reader``): each says where a section's bytes lie in the file
(:meth:`Contents.file_offset`, :meth:`Contents.section_end`), this reads them."""

from __future__ import annotations


class Contents:
    """Mixed into an image class that has ``data``, ``little``, ``is64`` and
    ``_by_name`` (section name -> first index)."""

    __slots__ = ()
    data: bytes
    little: bool
    is64: bool
    _by_name: dict[str, int]

    def file_offset(self, index: int, address: int) -> int | None:
        """Where ``address`` of section ``index`` lies in the file (an address in linked
        images, a section offset for relocatable objects), or None when outside it."""
        raise NotImplementedError

    def section_end(self, index: int) -> int:
        """The file offset just past section ``index``'s contents."""
        raise NotImplementedError

    def index(self, name: str) -> int | None:
        """Index of the first section called ``name``."""
        return self._by_name.get(name)

    def read(self, index: int, address: int, size: int) -> bytes | None:
        off = self.file_offset(index, address)
        if off is None or off + size > len(self.data):
            return None
        return self.data[off : off + size]

    def cstring(self, index: int, address: int) -> str | None:
        off = self.file_offset(index, address)
        if off is None:
            return None
        end = self.data.find(b"\0", off, self.section_end(index))
        if end < 0:
            return None
        return self.data[off:end].decode("utf-8", "surrogateescape")

    def u32(self, chunk: bytes) -> int:
        return int.from_bytes(chunk[:4], "little" if self.little else "big")

    def word(self, chunk: bytes) -> int:
        return int.from_bytes(chunk[: 8 if self.is64 else 4], "little" if self.little else "big")
