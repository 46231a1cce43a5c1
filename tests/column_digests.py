"""Every column of a cdncost lake's ingest tables, read by an independent reader, as one
digest per column: proves two writers wrote the same values (row for row, null for null),
whatever encodings they chose.

Usage: column_digests.py LAKE duckdb|pyarrow  -> JSON on stdout:
  {"cdn_requests": {"rows": N, "columns": {name: sha256, ...}}, "rejects": {...}}

Rows are ordered by (source_file, line_no); a value is written canonically (timestamps as
epoch milliseconds, bytes as hex, missing as a NUL) so both readers give the same digest.
With pyarrow, a string column that comes back as anything but a string type (say, a
dictionary) is an error: the lake's contract is plain strings to every reader.
"""
import glob
import hashlib
import json
import sys

lake, reader = sys.argv[1], sys.argv[2]
TABLES = {"cdn_requests": "cdn_requests/**/*.parquet", "rejects": "rejects/*.parquet"}


def canonical(value):
    if value is None:
        return "\0"
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    return str(value)


def digests(names, columns):
    out = {}
    for name, values in zip(names, columns):
        h = hashlib.sha256()
        for v in values:
            h.update(canonical(v).encode("utf-8", "surrogatepass"))
            h.update(b"\x1f")
        out[name] = h.hexdigest()
    return out


def with_duckdb(pattern):
    import duckdb

    con = duckdb.connect()
    rel = con.execute(
        f"""SELECT * FROM read_parquet('{lake}/{pattern}', hive_partitioning = false)
            ORDER BY source_file, line_no"""
    )
    names = [d[0] for d in rel.description]
    rows = rel.fetchall()
    if "ts" in names:
        i = names.index("ts")
        rows = [r[:i] + (int(r[i].timestamp() * 1000),) + r[i + 1 :] for r in rows]
    return names, list(zip(*rows)) if rows else [[] for _ in names]


def with_pyarrow(pattern):
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    files = sorted(glob.glob(f"{lake}/{pattern}", recursive=True))
    table = pa.concat_tables([pq.read_table(f, partitioning=None) for f in files])
    for field in table.schema:
        if pa.types.is_dictionary(field.type):
            sys.exit(f"pyarrow reads {field.name} as {field.type}, not as strings")
    names = table.schema.names
    columns = []
    for name in names:
        column = table.column(name)
        if pa.types.is_timestamp(column.type):
            column = pc.cast(column, pa.int64())
        columns.append(column.to_pylist())
    # (pyarrow sorts and takes neither string_view nor binary_view: order in Python.)
    f, n = columns[names.index("source_file")], columns[names.index("line_no")]
    order = sorted(range(table.num_rows), key=lambda i: (f[i], n[i]))
    columns = [[c[i] for i in order] for c in columns]
    return names, columns


read = {"duckdb": with_duckdb, "pyarrow": with_pyarrow}[reader]
result = {}
for table, pattern in TABLES.items():
    names, columns = read(pattern)
    rows = len(columns[0]) if columns else 0
    result[table] = {"rows": rows, "columns": digests(names, columns)}
print(json.dumps(result, indent=1, sort_keys=True))
