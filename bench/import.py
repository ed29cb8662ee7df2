"""Benchmark the national region and TPS imports on PostgreSQL.

Generates an Indonesia-sized region list (38 provinces, 514 regencies/cities,
~7,300 districts, ~83,700 villages) and TPS list (~820,000 TPS) into
bench/out/, from a fixed seed. Migrates a fresh database `kpuportal_bench`,
then times `manage.py import_regions` and `manage.py import_stations` (wall
clock, process start included) with the peak RSS of each process, and a
second, no-op station import. As a floor, the same files are loaded with a
plain `COPY ... FROM STDIN` into bare tables (no indexes, no constraints) in
the same database. The database is dropped at the end.

Run from the repository root, with PostgreSQL on 127.0.0.1:5432 (user
postgres, no password):

    .venv/bin/python bench/import.py
"""

import csv
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import namedtuple
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
REGIONS_CSV = OUT / "regions.csv"
STATIONS_CSV = OUT / "stations.csv"
SEED = 2024
DB_NAME = "kpuportal_bench"
PG_SERVER = "host=127.0.0.1 port=5432 user=postgres"
AIM_SECONDS = 180

# The 38 provinces of 2024, Aceh (11) to Papua Barat Daya (96).
PROVINCES = [*range(11, 20), 21, *range(31, 37), *range(51, 54), *range(61, 66), *range(71, 77), 81, 82, *range(91, 97)]
REGENCIES, CITIES = 416, 98
DISTRICTS, VILLAGES, STATIONS = 7_300, 83_700, 820_000
SYLLABLES = "ba be bu da di ga gu ja ka ke ku la li ma me mu na ni pa pe pu ra ri sa se si ta te tu wa ya".split()


# -- The files ---------------------------------------------------------------


def spread(total, buckets, rng, low=1, high=None):
    """`buckets` counts of at least `low` (at most `high`) adding up to `total`."""
    counts = [low] * buckets
    left = total - low * buckets
    while left:
        i = rng.randrange(buckets)
        if high is None or counts[i] < high:
            counts[i] += 1
            left -= 1
    return counts


def place_name(rng):
    words = range(rng.randint(1, 2))
    return " ".join("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in words).upper()


def region_rows(rng):
    """(code, name) of every region, sorted by code; and the village codes."""
    rows, villages = [], []
    regencies = spread(REGENCIES, len(PROVINCES), rng, high=69)
    cities = spread(CITIES, len(PROVINCES), rng, low=0, high=29)
    regency_codes = []
    for province, n_regencies, n_cities in zip(PROVINCES, regencies, cities):
        rows.append((f"{province}", place_name(rng)))
        for number in [*range(1, n_regencies + 1), *range(71, 71 + n_cities)]:
            code = f"{province}.{number:02d}"
            kind = "KOTA" if number >= 71 else "KAB."
            rows.append((code, f"{kind} {place_name(rng)}"))
            regency_codes.append(code)
    districts = spread(DISTRICTS, len(regency_codes), rng, high=99)
    district_codes = []
    for regency, n_districts in zip(regency_codes, districts):
        for number in range(1, n_districts + 1):
            code = f"{regency}.{number:02d}"
            rows.append((code, place_name(rng)))
            district_codes.append(code)
    for district, n_villages in zip(district_codes, spread(VILLAGES, len(district_codes), rng, high=999)):
        city = int(district.split(".")[1]) >= 71
        kelurahan = n_villages if city else sum(rng.random() < 0.05 for _ in range(n_villages))
        numbers = [1001 + i for i in range(kelurahan)] + [2001 + i for i in range(n_villages - kelurahan)]
        for number in numbers:
            code = f"{district}.{number}"
            rows.append((code, place_name(rng)))
            villages.append(code)
    # Kemendagri lists are sorted by code, which puts every parent first.
    return sorted(rows), sorted(villages)


def station_rows(villages, rng):
    for village, n_stations in zip(villages, spread(STATIONS, len(villages), rng)):
        for number in range(1, n_stations + 1):
            yield village, number, rng.randint(100, 600)


def write_csv(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def generate_files():
    rng = random.Random(SEED)
    OUT.mkdir(parents=True, exist_ok=True)
    regions, villages = region_rows(rng)
    write_csv(REGIONS_CSV, ["code", "name"], regions)
    write_csv(STATIONS_CSV, ["village code", "TPS number", "DPT"], station_rows(villages, rng))
    return {"regions": len(regions), "villages": len(villages), "stations": STATIONS}


# -- The database ------------------------------------------------------------


def on_server(statement):
    """Run one statement outside a transaction, as CREATE/DROP DATABASE need."""
    connection = psycopg2.connect(f"{PG_SERVER} dbname=postgres")
    connection.autocommit = True  # `with connection` would open a transaction
    try:
        with connection.cursor() as cursor:
            cursor.execute(statement)
    finally:
        connection.close()


def create_database():
    on_server(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    on_server(f"CREATE DATABASE {DB_NAME}")


def drop_database():
    on_server(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


def count_rows(table):
    connection = psycopg2.connect(f"{PG_SERVER} dbname={DB_NAME}")
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {table}")
            return cursor.fetchone()[0]
    finally:
        connection.close()


def copy_baseline():
    """Seconds to COPY each file into a bare table: the floor for the imports."""
    tables = {
        "regions": ("bench_regions (code varchar, name varchar)", REGIONS_CSV),
        "stations": ("bench_stations (village varchar, number int, dpt int)", STATIONS_CSV),
    }
    seconds = {}
    connection = psycopg2.connect(f"{PG_SERVER} dbname={DB_NAME}")
    try:
        for key, (table, path) in tables.items():
            name = table.split()[0]
            with connection.cursor() as cursor:
                cursor.execute(f"CREATE TABLE {table}")
                connection.commit()
                start = time.perf_counter()
                with open(path, encoding="utf-8") as handle:
                    cursor.copy_expert(f"COPY {name} FROM STDIN WITH (FORMAT csv, HEADER true)", handle)
                connection.commit()
                seconds[key] = time.perf_counter() - start
    finally:
        connection.close()
    return seconds


# -- The commands ------------------------------------------------------------


def django_env():
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{DB_NAME}",
        DJANGO_SECRET_KEY="bench-only-not-a-secret",
        DJANGO_DEBUG="0",
        KPU_LOG_LEVEL="WARNING",
    )
    env.pop("REDIS_URL", None)
    return env


Run = namedtuple("Run", "seconds rss_mib output")


def manage(*args):
    """Run a manage.py command and time it; exit with its output if it fails."""
    command = [sys.executable, "manage.py", *map(str, args)]
    with tempfile.TemporaryFile() as output:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, env=django_env(), stdout=output, stderr=subprocess.STDOUT)
        # wait4 gives this child's own rusage, unlike RUSAGE_CHILDREN's running
        # maximum over all children. ru_maxrss is in KiB on Linux.
        _pid, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        text = output.read().decode("utf-8", "replace").strip()
    if process.returncode:
        sys.exit(f"manage.py {' '.join(command[2:])} failed ({process.returncode}):\n{text}")
    return Run(seconds, usage.ru_maxrss / 1024, text)


def changes(output):
    """(created, updated) from an import command's summary line."""
    match = re.search(r"(\d+) created, (\d+) ", output)
    if not match:
        sys.exit(f"Unexpected import output: {output}")
    return int(match.group(1)), int(match.group(2))


# -- The report --------------------------------------------------------------


def report(counts, imports, copies, rerun):
    ladder_import = imports["regions"].seconds + imports["stations"].seconds
    ladder_copy = copies["regions"] + copies["stations"]
    print()
    print(f"Rows: {counts['regions']:,} regions ({counts['villages']:,} villages), {counts['stations']:,} TPS.")
    print(f"{'':<24}{'import':>9}{'COPY':>9}{'ratio':>8}{'peak RSS':>12}")
    for key in ("regions", "stations"):
        run = imports[key]
        ratio = run.seconds / copies[key]
        print(f"{key:<24}{run.seconds:>8.1f}s{copies[key]:>8.2f}s{ratio:>7.0f}x{run.rss_mib:>8.0f} MiB")
    print(f"{'whole ladder':<24}{ladder_import:>8.1f}s{ladder_copy:>8.2f}s{ladder_import / ladder_copy:>7.0f}x")
    print(f"{'stations again (no-op)':<24}{rerun.seconds:>8.1f}s{'':>17}{rerun.rss_mib:>8.0f} MiB")
    verdict = "within" if ladder_import <= AIM_SECONDS else "OVER"
    print(
        f"Total import {ladder_import:.1f} s against the {AIM_SECONDS // 60}-minute aim: {verdict} "
        f"({ladder_import / AIM_SECONDS:.0%} of it). Import times include starting Django."
    )


def run_imports():
    imports = {}
    for key, path in (("regions", REGIONS_CSV), ("stations", STATIONS_CSV)):
        imports[key] = manage(f"import_{key}", path.relative_to(ROOT))
        print(f"import_{key}: {imports[key].seconds:.1f} s. {imports[key].output}")
    rerun = manage("import_stations", STATIONS_CSV.relative_to(ROOT))
    print(f"import_stations again: {rerun.seconds:.1f} s. {rerun.output}")
    if changes(rerun.output) != (0, 0):
        sys.exit("The second station import changed rows: it should be a no-op.")
    return imports, rerun


def check_stored(counts):
    stored = {"regions": count_rows("results_region"), "stations": count_rows("results_pollingstation")}
    expected = {"regions": counts["regions"], "stations": counts["stations"]}
    if stored != expected:
        sys.exit(f"The database holds {stored}, the files {expected}.")


def main():
    start = time.perf_counter()
    counts = generate_files()
    print(
        f"Generated {REGIONS_CSV.relative_to(ROOT)} and {STATIONS_CSV.relative_to(ROOT)} "
        f"in {time.perf_counter() - start:.1f} s."
    )
    create_database()
    try:
        print(f"Migrated {DB_NAME} in {manage('migrate', '-v0').seconds:.1f} s.")
        imports, rerun = run_imports()
        check_stored(counts)
        report(counts, imports, copy_baseline(), rerun)
    finally:
        drop_database()


if __name__ == "__main__":
    main()
