#!/usr/bin/env python3
"""A/B of ingest builds or settings on the peak-hour files of bench-data/ (made by
benches/ingest.sh): each variant runs once per round, in turn, for N rounds; prints the
minimum and median CPU seconds (user + sys) of each. CPU time, not wall time: a lever's
effect on one core's work, less shaken by the machine's noise than wall time.

  benches/ab.py 7 /tmp/cdncost-before target/release/cdncost
  benches/ab.py 5 'GLIBC_TUNABLES=glibc.malloc.trim_threshold=0 target/release/cdncost' target/release/cdncost

A variant is a command line: leading NAME=VALUE words are environment variables."""
import glob
import os
import resource
import shlex
import shutil
import statistics
import subprocess
import sys

rounds, variants = int(sys.argv[1]), sys.argv[2:]
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
files = sorted(glob.glob(f"{root}/bench-data/logs-180000-4-real/cdn_logs/*/*2026111820*"))
assert files, "no bench data: run benches/ingest.sh once"
lake = f"{root}/bench-data/lake-ab"
seconds = {v: [] for v in variants}
for _ in range(rounds):
    for variant in variants:
        words = shlex.split(variant)
        env = dict(os.environ, POLARS_MAX_THREADS="1")
        while "=" in words[0]:
            name, value = words.pop(0).split("=", 1)
            env[name] = value
        shutil.rmtree(lake, ignore_errors=True)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(words + ["ingest", "--lake", lake, "-j", "1", "-q"] + files,
                       env=env, stdout=subprocess.DEVNULL, check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        seconds[variant].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
lake_mb = sum(os.path.getsize(f) for f in glob.glob(f"{lake}/cdn_requests/**/*.parquet", recursive=True)) / 1e6
for variant, xs in seconds.items():
    print(f"min {min(xs):.3f} s  median {statistics.median(xs):.3f} s  {variant}")
print(f"(lake of the last variant: {lake_mb:.2f} MB)")
