"""The fault suite's harness: a real PostgreSQL with the shop and extra tables, the local DMS, the Glue script
under local Spark, and after each fault the checks of tests/lake_checks.py (Silver equals PostgreSQL row for
row; Gold equals the SQL aggregates). Airflow is left out: the faults live in the layers below it.

Each test file gets its own PostgreSQL and state folder (module scope), so the files run in parallel.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg2
import pytest

from edp.settings import LocalPaths
from edp.spec import load_spec
from edp_dev import shop
from edp_dev.local import catalog, dbt_cli
from edp_dev.local.cdc import OUTPUT_SETTINGS, LocalDms
from edp_dev.local.glue import run_script
from edp_dev.local.postgres import Connection, EmbeddedPostgres
from tests.conftest import isolated_home
from tests.lake_checks import assert_gold_matches, assert_silver_matches

SHOP_KEYS = {s.name: list(s.primary_key) for s in load_spec().sources}


@dataclass
class Lake:
    """Source, Bronze and Silver of one test file; `run()` is one pipeline run below Airflow."""

    paths: LocalPaths
    info: Connection
    conn: object
    keys: dict[str, list[str]] = field(default_factory=lambda: dict(SHOP_KEYS))

    def sql(self, *statements: str, params=None) -> None:
        with self.conn.cursor() as cur:
            for statement in statements:
                cur.execute(statement, params)

    def add_table(self, ddl: str, name: str, key: list[str]) -> None:
        """A table of the file's own, replicated like the shop's (before the first run: DMS selects tables
        when the task starts)."""
        self.sql(ddl, f"ALTER PUBLICATION {shop.PUBLICATION} ADD TABLE {name}")
        self.keys[name] = key

    def dms(self) -> LocalDms:
        return LocalDms(self.info, self.paths.bronze, "public", tuple(self.keys), shop.PUBLICATION)

    def capture(self):
        return self.dms().run()

    def merge(self, tables=None) -> dict[str, dict]:
        results = {}
        for table in tables or self.keys:
            results[table] = run_script("bronze_to_silver.py", {
                "JOB_NAME": "faults", "bronze_path": self.paths.bronze.as_uri(), "silver_path": self.paths.silver.as_uri(),
                "schema": "public", "table": table, "primary_key": ",".join(self.keys[table])})
        return results

    def run(self) -> dict[str, dict]:
        self.capture()
        return self.merge()

    def assert_silver_matches(self, *tables: str) -> None:
        for table in tables or tuple(self.keys):
            assert_silver_matches(self.conn, self.paths.silver, table, self.keys[table])

    def assert_gold_matches(self) -> None:
        catalog.crawl(self.paths.silver, self.paths.catalog, "silver", tuple(SHOP_KEYS))
        dbt_cli.build("build")
        assert_gold_matches(self.paths.warehouse, self.conn)


@pytest.fixture(scope="module")
def lake(spark, request):
    name = request.module.__name__.rsplit(".", 1)[-1]
    with isolated_home(name) as paths:
        info = EmbeddedPostgres(paths.pg).start()
        conn = psycopg2.connect(info.dsn(), options=OUTPUT_SETTINGS)  # PostgreSQL's text as the DMS stand-in reads it
        conn.autocommit = True
        shop.seed(conn, shop.SeedSize(customers=30, products=10, orders=60), rng_seed=5)
        conn.autocommit = True
        try:
            yield Lake(paths, info, conn)
        finally:
            conn.close()
