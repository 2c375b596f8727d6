"""The BTF wire format, from the kernel's ``include/uapi/linux/btf.h``: the header, the kinds,
and how many 32-bit words each kind's record takes. Cheap to import: ``recognizes`` needs
only :data:`MAGIC_LE` / :data:`MAGIC_BE`.
"""

from __future__ import annotations

from enum import IntEnum

# struct btf_header: __u16 magic (BTF_MAGIC 0xeB9F), __u8 version (BTF_VERSION 1), __u8 flags,
# __u32 hdr_len, then type_off, type_len, str_off, str_len -- offsets counted from the end
# of the header (hdr_len bytes), so a later, longer header still reads (btf.h).
MAGIC = 0xEB9F
MAGIC_LE = b"\x9f\xeb"
MAGIC_BE = b"\xeb\x9f"
VERSION = 1
HEADER_MIN = 24


class BtfKind(IntEnum):
    """``BTF_KIND_*`` (btf.h). DECL_TAG and TYPE_TAG came with 223f903e9c83 ("bpf: Rename
    BTF_KIND_TAG to BTF_KIND_DECL_TAG", 5.16) and 8c42d2fa4eea ("bpf: Support
    BTF_KIND_TYPE_TAG for btf_type_tag attributes", 5.17); ENUM64 with 6089fb325cf7 ("bpf:
    Add btf enum64 support", 6.0)."""

    UNKN = 0
    INT = 1
    PTR = 2
    ARRAY = 3
    STRUCT = 4
    UNION = 5
    ENUM = 6
    FWD = 7
    TYPEDEF = 8
    VOLATILE = 9
    CONST = 10
    RESTRICT = 11
    FUNC = 12
    FUNC_PROTO = 13
    VAR = 14
    DATASEC = 15
    FLOAT = 16
    DECL_TAG = 17
    TYPE_TAG = 18
    ENUM64 = 19


KIND_MAX = max(BtfKind)

# struct btf_type is three words: name_off; info (bits 0-15 vlen, 24-28 kind, 31 kind_flag);
# size or type. What follows it (btf.h): INT one word (encoding, offset, bits); ARRAY a
# struct btf_array (type, index_type, nelems); STRUCT/UNION vlen struct btf_member (name_off,
# type, offset); ENUM vlen struct btf_enum (name_off, val); FUNC_PROTO vlen struct btf_param
# (name_off, type); VAR a struct btf_var (linkage); DATASEC vlen struct btf_var_secinfo
# (type, offset, size); DECL_TAG a struct btf_decl_tag (component_idx); ENUM64 vlen struct
# btf_enum64 (name_off, val_lo32, val_hi32). Everything else: nothing.
HEAD_WORDS = 3
FIXED_WORDS: dict[int, int] = {
    BtfKind.INT: 1,
    BtfKind.ARRAY: 3,
    BtfKind.VAR: 1,
    BtfKind.DECL_TAG: 1,
}
WORDS_PER_VLEN: dict[int, int] = {
    BtfKind.STRUCT: 3,
    BtfKind.UNION: 3,
    BtfKind.ENUM: 2,
    BtfKind.FUNC_PROTO: 2,
    BtfKind.DATASEC: 3,
    BtfKind.ENUM64: 3,
}

# INT encoding bits (btf.h BTF_INT_ENCODING): SIGNED 1, CHAR 2, BOOL 4.
INT_SIGNED = 1
INT_BOOL = 4

# enum btf_func_linkage (btf.h): BTF_FUNC_STATIC 0, GLOBAL 1, EXTERN 2; btf_var linkage:
# BTF_VAR_STATIC 0, GLOBAL_ALLOCATED 1, GLOBAL_EXTERN 2. Linkage says nothing about
# EXPORT_SYMBOL: ksql never derives ``exported`` from it.
