"""Every engine filters the lake right: for every column of every table, the number of rows
with `col IS NOT NULL` and with `col = v` (v: the column's most and least frequent values)
must be what a full, unfiltered read says. Filters are where readers use the files'
statistics and page indexes to skip data, so a file that lies in them gives wrong counts
silently; a whole read does not show it.

    filter_lake.py --engines duckdb,pyarrow,polars,spark [--lake DIR] [--reports DIR ...]
                   [--s3 ENDPOINT BUCKET PREFIX]

- `--lake DIR` (or `--s3 …`, the lake on an S3 endpoint: DuckDB through httpfs, pyarrow
  through S3FileSystem): every table directory of the lake (hive-partitioned) is checked.
- `--reports DIR`: every `*.parquet` file in DIR is checked as a table of its own.
- `CDNCOST_DUCKDB_FROM=DIR` puts DIR first on the path before DuckDB is imported (the
  DuckDB 1.5.5 that CI installs beside its httpfs extension, see `.ci/run`).

The truth is pyarrow reading every file whole, with no filter (nothing to skip, nothing
to trust). Prints one line per engine with the number of checks; exit 1 on any mismatch
(each listed), 77 when an engine is not installed.
"""
import argparse
import datetime as dt
import glob
import os
import sys
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

MISSING = 77
# Hive partition keys: each engine infers their type itself (pyarrow: `date` text,
# the others: a date), so their values are given to each engine in its own type.
PARTITION_KEYS = {"date", "hour", "interval"}


class Table:
    """One table: a hive-partitioned directory of the lake, or one report file."""

    def __init__(self, name, location, hive):
        self.name, self.location, self.hive = name, location, hive

    def pattern(self):
        return f"{self.location}/**/*.parquet" if self.hive else self.location


def lake_tables(root, listdir):
    tables = []
    for name in sorted(listdir(root)):
        if name.startswith(("_", ".")):
            continue
        tables.append(Table(name, f"{root}/{name}", hive=True))
    return tables


def report_tables(directory):
    return [
        Table(os.path.basename(path), path, hive=False)
        for path in sorted(glob.glob(f"{directory}/*.parquet"))
    ]


def plain_type(t):
    """The type a value is compared in: view types as their ordinary counterparts."""
    if pa.types.is_string_view(t) or pa.types.is_large_string(t):
        return pa.string()
    if pa.types.is_binary_view(t) or pa.types.is_large_binary(t):
        return pa.binary()
    if pa.types.is_dictionary(t):
        return plain_type(t.value_type)
    return t


def truth(table, filesystem):
    """(rows, {column: (not-null count, [(value, count) for the values to try])})."""
    dataset = ds.dataset(table.location, format="parquet", filesystem=filesystem,
                         partitioning="hive" if table.hive else None)
    whole = dataset.to_table()
    columns = {}
    for name in whole.column_names:
        column = whole.column(name)
        column = column.cast(plain_type(column.type))
        not_null = len(column) - column.null_count
        counts = pc.value_counts(column.combine_chunks().drop_null()).to_pylist()
        # Most frequent, least frequent (ties broken by the value, so runs agree).
        counts.sort(key=lambda vc: (-vc["counts"], repr(vc["values"])))
        tried = []
        if counts:
            tried.append(counts[0])
            if len(counts) > 1:
                tried.append(counts[-1])
        columns[name] = (not_null, [(vc["values"], vc["counts"]) for vc in tried])
    return whole.num_rows, columns


def as_partition_value(column, value, engine):
    if column in PARTITION_KEYS and isinstance(value, str) and engine != "pyarrow":
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return value
    return value


# Engines: each opens a table once and counts rows by a filter: `None` is IS NOT NULL.

class DuckDB:
    name = "duckdb"

    def __init__(self, s3):
        source = os.environ.get("CDNCOST_DUCKDB_FROM")
        if source:
            if not os.path.isdir(f"{source}/duckdb"):
                raise ImportError(f"no DuckDB in {source}")
            sys.path.insert(0, source)
        import duckdb
        if source and not duckdb.__file__.startswith(source):
            raise ImportError(f"DuckDB came from {duckdb.__file__}, not {source}")
        self.version = duckdb.__version__
        self.con = duckdb.connect(config={"allow_unsigned_extensions": "true"} if s3 else {})
        self.scheme = "s3://" if s3 else ""
        if s3:
            endpoint, key, secret = s3
            extension = glob.glob(f"{source}/duckdb_extension_httpfs/extensions/"
                                  f"v{duckdb.__version__}/httpfs.duckdb_extension")
            if not extension:
                raise ImportError(f"no httpfs extension for DuckDB {duckdb.__version__}")
            self.con.execute(f"LOAD '{extension[0]}'")
            self.con.execute(
                f"""CREATE SECRET lake (TYPE s3, KEY_ID '{key}', SECRET '{secret}',
                    ENDPOINT '{endpoint.split("://", 1)[1]}', URL_STYLE 'path',
                    USE_SSL false, REGION 'us-east-1')""")

    def open(self, table):
        hive = ", hive_partitioning = true" if table.hive else ""
        return f"read_parquet('{self.scheme}{table.pattern()}'{hive})"

    def count(self, source, column, value):
        where = f'"{column}" IS NOT NULL' if value is None else f'"{column}" = ?'
        params = [] if value is None else [as_partition_value(column, value, self.name)]
        return self.con.execute(f"SELECT count(*) FROM {source} WHERE {where}",
                                params).fetchone()[0]


class PyArrow:
    name = "pyarrow"

    def __init__(self, filesystem):
        self.version = pa.__version__
        self.filesystem = filesystem

    def open(self, table):
        # As pandas users filter: the dataset API, its filter pushed into the scan.
        return ds.dataset(table.location, format="parquet", filesystem=self.filesystem,
                          partitioning="hive" if table.hive else None)

    def count(self, dataset, column, value):
        field = pc.field(column)
        if value is None:
            expression = field.is_valid()
        else:
            expression = field == pa.scalar(value, type=plain_type(dataset.schema.field(column).type))
        return dataset.to_table(columns=[column], filter=expression).num_rows


class Polars:
    name = "polars"

    def __init__(self):
        import polars
        self.pl = polars
        self.version = polars.__version__

    def open(self, table):
        return self.pl.scan_parquet(table.pattern(), hive_partitioning=table.hive)

    def count(self, frame, column, value):
        pl = self.pl
        col = pl.col(column)
        if value is None:
            condition = col.is_not_null()
        else:
            dtype = frame.collect_schema()[column]
            value = as_partition_value(column, value, self.name)
            condition = col == pl.lit(value).cast(dtype)
        return frame.filter(condition).select(pl.len()).collect().item()


class Spark:
    name = "spark"

    def __init__(self):
        import shutil
        if not shutil.which("java"):
            raise ImportError("no Java runtime")
        from pyspark.sql import SparkSession, functions
        self.F = functions
        self.spark = (SparkSession.builder.master("local[2]").appName("cdncost-filters")
                      .config("spark.ui.enabled", "false")
                      .config("spark.sql.session.timeZone", "Asia/Shanghai")
                      .config("spark.driver.bindAddress", "127.0.0.1")
                      .config("spark.driver.host", "127.0.0.1")
                      .getOrCreate())
        self.spark.sparkContext.setLogLevel("ERROR")
        self.version = self.spark.version

    def open(self, table):
        return self.spark.read.parquet(table.location)

    def count(self, frame, column, value):
        F = self.F
        col = F.col(f"`{column}`")
        if value is None:
            return frame.filter(col.isNotNull()).count()
        value = as_partition_value(column, value, self.name)
        if isinstance(value, bytes):
            value = bytearray(value)
        return frame.filter(col == F.lit(value)).count()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", required=True)
    parser.add_argument("--lake")
    parser.add_argument("--reports", nargs="*", default=[])
    parser.add_argument("--s3", nargs=3, metavar=("ENDPOINT", "BUCKET", "PREFIX"))
    args = parser.parse_args()

    filesystem, s3 = None, None
    tables = []
    if args.s3:
        from pyarrow import fs
        endpoint, bucket, prefix = args.s3
        key, secret = os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]
        s3 = (endpoint, key, secret)
        filesystem = fs.S3FileSystem(access_key=key, secret_key=secret,
                                     endpoint_override=endpoint, scheme="http",
                                     region="us-east-1")
        root = f"{bucket}/{prefix}"
        listdir = lambda path: [info.base_name for info in
                                filesystem.get_file_info(fs.FileSelector(path))
                                if info.type == fs.FileType.Directory]
        tables += lake_tables(root, listdir)
    elif args.lake:
        tables += lake_tables(args.lake, lambda p: [n for n in os.listdir(p)
                                                    if os.path.isdir(os.path.join(p, n))])
    for directory in args.reports:
        tables += report_tables(directory)
    if not tables:
        sys.exit("no tables found")

    engines = []
    for name in args.engines.split(","):
        try:
            if name == "duckdb":
                engines.append(DuckDB(s3))
            elif name == "pyarrow":
                engines.append(PyArrow(filesystem))
            elif name == "polars":
                engines.append(Polars())
            elif name == "spark":
                engines.append(Spark())
            else:
                sys.exit(f"unknown engine {name}")
        except ImportError as e:
            print(f"{name} is not installed: {e}", file=sys.stderr)
            sys.exit(MISSING)

    wrong, checks = [], {engine.name: 0 for engine in engines}
    columns_seen = 0
    for table in tables:
        rows, columns = truth(table, filesystem)
        columns_seen += len(columns)
        for engine in engines:
            try:
                source = engine.open(table)
            except Exception as e:  # a reader that cannot open a table is a failure too
                wrong.append(f"{engine.name} {engine.version}: {table.name}: cannot open: {e}")
                continue
            for column, (not_null, values) in columns.items():
                cases = [(None, not_null)] + values
                for value, want in cases:
                    what = "IS NOT NULL" if value is None else f"= {value!r}"[:80]
                    try:
                        got = engine.count(source, column, value)
                    except Exception as e:
                        got = f"error: {str(e).splitlines()[0][:200]}"
                    checks[engine.name] += 1
                    if got != want:
                        wrong.append(f"{engine.name} {engine.version}: {table.name}.{column} "
                                     f"{what}: {got} rows, truth {want}")
    for engine in engines:
        print(f"{engine.name} {engine.version}: {checks[engine.name]} filtered counts over "
              f"{len(tables)} tables, {columns_seen} columns")
    if wrong:
        print(f"{len(wrong)} filtered counts differ from the whole read:", file=sys.stderr)
        for line in wrong:
            print("  " + line, file=sys.stderr)
        sys.exit(1)
    print("every filtered count equals the whole read")


if __name__ == "__main__":
    main()
