"""A catalog as an Arrow table: the one bridge from ksql's numpy columns to pyarrow, DuckDB
and Parquet (``ksql diff``, ``ksql export --format parquet``, ``ksql history``).

The Arrow schema is derived from :data:`ksql.model.COLUMNS` (the schema declared once on
``Symbol``): a new catalog column becomes a Parquet column with no edit here. Columns are
named by their query field (``source``, not ``sources``), so a query compiles to SQL over
the same names. Unknown values are nulls: an address not given, a size or CRC no source
knew, an empty namespace or section. Enumerations are their labels (``EXPORT_SYMBOL_GPL``,
``global``), the type is its nm letter.

pyarrow is imported here only: this module is loaded by the commands that need it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ksql.catalog import Catalog
from ksql.model import COLUMNS
from ksql.schema import ColumnSpec, Encoding, ValueKind

# Bump when a column's meaning or type changes (a new column is additive and keeps it).
SCHEMA_VERSION = "1"
SCHEMA_KEY = b"ksql.schema"

_STRING_DICT = pa.dictionary(pa.int32(), pa.string())


def arrow_type(spec: ColumnSpec) -> pa.DataType:
    """The Arrow type of one catalog column, from its declaration."""
    if spec.encoding is Encoding.PACKED:
        return pa.string()
    if spec.encoding is Encoding.SOURCE_SET:
        return pa.list_(_STRING_DICT)
    if spec.encoding is Encoding.INTERNED or spec.enum is not None:
        return _STRING_DICT
    if spec.kind is ValueKind.LETTER:
        return _STRING_DICT
    if spec.dtype == np.bool_:
        return pa.bool_()
    return pa.from_numpy_dtype(spec.dtype)


def symbol_schema() -> pa.Schema:
    """Every catalog column as an Arrow field, in declaration order."""
    fields = [
        pa.field(c.field, arrow_type(c), nullable=c.encoding is not Encoding.PACKED)
        for c in COLUMNS
    ]
    return pa.schema(fields, metadata={SCHEMA_KEY: SCHEMA_VERSION.encode()})


def catalog_table(catalog: Catalog, rows: Any = None, names: pa.Array | None = None) -> pa.Table:
    """The catalog's rows (all, or the row numbers / boolean mask ``rows``) as a table of
    :func:`symbol_schema`; ``names`` is :func:`name_array` when the caller has it."""
    cols = catalog.columns()
    names = name_array(catalog) if names is None else names
    take = None
    if rows is not None:
        take = np.flatnonzero(rows) if np.asarray(rows).dtype == np.bool_ else np.asarray(rows)
        names = names.take(pa.array(take, type=pa.int64()))
    arrays: list[pa.Array] = []
    for spec in COLUMNS:
        if spec.encoding is Encoding.PACKED:
            arrays.append(names)
            continue
        values = cols[spec.name]
        if take is not None:
            values = values[take]
        arrays.append(_column(catalog, spec, values, take))
    return pa.Table.from_arrays(arrays, schema=symbol_schema())


def name_array(catalog: Catalog) -> pa.Array:
    """The name column, split by Arrow from the catalog's newline-joined blob (one C pass;
    a Python list of 0.9 M strings costs ~0.3 s more)."""
    n = len(catalog)
    if n == 0:
        return pa.array([], type=pa.string())
    blob = catalog.columns().name.blob
    parts = pc.split_pattern(pa.array([blob[1:-1]], type=pa.large_string()), pattern="\n")
    return parts.flatten().cast(pa.string())


def _source_lists(catalog: Catalog, codes: Any) -> pa.Array:
    """Each row's source labels, built from the source-set codes with whole-array numpy
    steps (a list of strings per row took 2.8 s to take and sort at 0.9 M rows)."""
    sets = catalog.source_sets()
    sizes = np.array([len(s) for s in sets], dtype=np.int64)
    flat = np.array([i for s in sets for i in s], dtype=np.int32)
    starts = np.zeros(len(sets), dtype=np.int64)
    np.cumsum(sizes[:-1], out=starts[1:])
    codes = codes.astype(np.int64)
    lengths = sizes[codes]
    offsets = np.zeros(len(codes) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    within = np.arange(int(offsets[-1]), dtype=np.int64) - np.repeat(offsets[:-1], lengths)
    values = flat[np.repeat(starts[codes], lengths) + within]
    labels = pa.array(catalog.source_labels.strings, type=pa.string())
    return pa.ListArray.from_arrays(
        pa.array(offsets), pa.DictionaryArray.from_arrays(values, labels)
    )


def _column(catalog: Catalog, spec: ColumnSpec, values: Any, take: Any) -> pa.Array:
    if spec.encoding is Encoding.INTERNED:
        table = catalog.table(spec.name)
        empty = table.codes.get("")  # "" is unknown: null (Parquet dictionaries hold no null)
        mask = None if empty is None else values == empty
        dictionary = pa.array(table.strings, type=pa.string())
        return pa.DictionaryArray.from_arrays(values.astype(np.int32), dictionary, mask=mask)
    if spec.encoding is Encoding.SOURCE_SET:
        return _source_lists(catalog, values)
    if spec.enum is not None:
        labels = [getattr(e, "label", e.name) for e in spec.enum]
        return pa.DictionaryArray.from_arrays(
            values.astype(np.int32), pa.array(labels, type=pa.string())
        )
    if spec.kind is ValueKind.LETTER:
        # "?" is a letter of its own ("type unknown", as nm prints it): kept, not null.
        letters = pa.array([chr(i) for i in range(256)], type=pa.string())
        return pa.DictionaryArray.from_arrays(values.astype(np.int32), letters)
    if spec.dtype == np.bool_:
        return pa.array(values, type=pa.bool_())
    if spec.nullable:
        known = catalog.columns()[spec.known_key]
        if take is not None:
            known = known[take]
        return pa.array(values, mask=~known, type=arrow_type(spec))
    unknown = spec.dtype.type(spec.unknown)
    return pa.array(values, mask=values == unknown, type=arrow_type(spec))
