"""`vidassets query "SQL"`: DuckDB SQL over the warehouse tables, printed as a table, CSV or JSON.

    vidassets query "SELECT status, count(*) AS videos FROM videos GROUP BY status"
    vidassets query "SELECT * FROM segments WHERE text ILIKE '%budget%'" --format csv --root ./out

The root comes from `--root`, else `VIDASSETS_STORAGE_ROOT`, else `s3://vidassets`; S3 endpoint and credentials
come from the standard AWS environment. Only the tables a query names are listed and registered.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from vidassets.analytics.schemas import SCHEMAS, TABLES
from vidassets.analytics.warehouse import Warehouse, is_changed_file_error
from vidassets.storage import S3Options, Store

FORMATS = ("table", "csv", "json")
MAX_CELL = 60


class QueryError(RuntimeError):
    """A query the warehouse cannot answer, with a message meant for the analyst."""


def referenced_tables(sql: str) -> list[str]:
    """Warehouse tables named in `sql` (word match; all tables when none is named, e.g. `SHOW TABLES`)."""
    named = [t for t in TABLES if re.search(rf"(?<![\w.]){re.escape(t)}(?!\w)", sql, re.IGNORECASE)]
    return named or list(TABLES)


def _tables_help(tables: Sequence[str] = TABLES) -> str:
    return "\n".join(f"  {t}({', '.join(SCHEMAS[t].names)})" for t in tables)


def _friendly(err: duckdb.Error, sql: str) -> QueryError:
    message = str(err).strip()
    if isinstance(err, duckdb.CatalogException):
        return QueryError(f"{message}\nwarehouse tables:\n{_tables_help()}")
    if isinstance(err, duckdb.BinderException) and "column" in message.lower():
        named = [t for t in TABLES if re.search(rf"(?<![\w.]){t}(?!\w)", sql, re.IGNORECASE)] or list(TABLES)
        return QueryError(f"{message}\ncolumns of the tables in this query:\n{_tables_help(named)}")
    if isinstance(err, duckdb.ParserException):
        return QueryError(f"{message}\n(DuckDB SQL; quote the whole query for the shell)")
    return QueryError(message)


def _integral_decimals_to_int(table: pa.Table) -> pa.Table:
    """DuckDB's SUM over integers is HUGEINT (decimal128(38, 0) in Arrow); give analysts int64 when it fits."""
    for i, fld in enumerate(table.schema):
        if pa.types.is_decimal(fld.type) and fld.type.scale == 0:
            with contextlib.suppress(pa.ArrowInvalid, pa.ArrowNotImplementedError):
                table = table.set_column(i, fld.name, pc.cast(table.column(i), pa.int64()))
    return table


def _to_arrow(relation: duckdb.DuckDBPyRelation | None) -> pa.Table:
    if relation is None:  # a statement without a result (SET, CREATE …)
        return pa.table({})
    if hasattr(relation, "to_arrow_table"):
        return relation.to_arrow_table()
    return relation.arrow()  # duckdb < 1.4


ATTEMPTS = 3


def run_query_arrow(root: str | Store, sql: str) -> pa.Table:
    """Run DuckDB `sql` against the warehouse at `root` (a storage root or its `Store`); raises QueryError with a
    helpful message.

    A query lists the files first and reads them after; a video re-processed or deleted in between can remove a
    listed file. Then the query is run again on a fresh listing (up to 3 attempts)."""
    where = root if isinstance(root, str) else root.root
    for attempt in range(1, ATTEMPTS + 1):
        try:
            con = Warehouse(root).connect(referenced_tables(sql))
        except (OSError, ValueError) as err:
            raise QueryError(f"cannot read the warehouse at {where}: {err}") from err
        except Exception as err:  # botocore errors (credentials, missing bucket) without importing botocore here
            if type(err).__module__.startswith("botocore"):
                raise QueryError(f"cannot read the warehouse at {where}: {err}") from err
            raise
        try:
            return _integral_decimals_to_int(_to_arrow(con.sql(sql)))
        except duckdb.Error as err:
            if attempt < ATTEMPTS and is_changed_file_error(err):
                continue
            raise _friendly(err, sql) from err
        finally:
            con.close()
    raise AssertionError("unreachable")


# Nullable pandas dtypes, so an int column with nulls stays integers (not float64) and booleans stay booleans.
_PANDAS_TYPES = {
    pa.int8(): pd.Int8Dtype(), pa.int16(): pd.Int16Dtype(), pa.int32(): pd.Int32Dtype(), pa.int64(): pd.Int64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
}


def run_query(root: str | Store, sql: str) -> pd.DataFrame:
    """The result of DuckDB `sql` over the warehouse at `root` as a pandas DataFrame."""
    return run_query_arrow(root, sql).to_pandas(types_mapper=_PANDAS_TYPES.get)


# --------------------------------------------------------------------------------------------- output formats

def _plain(value: Any) -> Any:
    """A JSON-able Python value."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _cell(value: Any) -> str:
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float):
        return repr(round(value, 6))
    return str(value)


def format_table(table: pa.Table) -> str:
    names = table.column_names
    rows = [[_cell(v) for v in row.values()] for row in table.to_pylist()]
    clipped = [[c if len(c) <= MAX_CELL else c[:MAX_CELL - 1] + "…" for c in row] for row in rows]
    widths = [max([len(n)] + [len(r[i]) for r in clipped]) for i, n in enumerate(names)]
    numeric = [pa.types.is_integer(f.type) or pa.types.is_floating(f.type) for f in table.schema]

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if num else c.ljust(w)
                         for c, w, num in zip(cells, widths, numeric, strict=True)).rstrip()

    out = [line(names), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in clipped]
    out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(out) + "\n"


def format_csv(table: pa.Table) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(table.column_names)
    for row in table.to_pylist():
        writer.writerow([_cell(v) for v in row.values()])
    return buffer.getvalue()


def format_json(table: pa.Table) -> str:
    records = [{k: _plain(v) for k, v in row.items()} for row in table.to_pylist()]
    return json.dumps(records, ensure_ascii=False, indent=1) + "\n"


def render(table: pa.Table, fmt: str) -> str:
    if fmt == "csv":
        return format_csv(table)
    if fmt == "json":
        return format_json(table)
    return format_table(table)


def store_for(root: str, s3: S3Options) -> Store:
    """The `Store` of a storage root given on a command line; QueryError for one that is not a storage root."""
    try:
        return Store.for_root(root.rstrip("/") or root, s3)
    except ValueError as err:
        raise QueryError(f"cannot read the warehouse at {root}: {err}") from err
