"""ksql: one query language over every Linux kernel symbol source."""

__version__ = "0.1.0"
