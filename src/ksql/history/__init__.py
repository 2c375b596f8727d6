"""Many kernels: a catalog as Arrow and Parquet, ``ksql diff`` (DuckDB over two tables, with
distribution policies), ``ksql export`` and ``ksql history`` (the query language as SQL over
Parquet files)."""
