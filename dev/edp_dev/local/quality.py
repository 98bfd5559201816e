"""The local quality gate: SQL assertions over Gold (and Silver) that fail the run when data is wrong.

Each check is a SELECT returning the rows that *violate* an assertion, so zero rows is a pass and the rows
returned are the evidence. `{gold}` and `{silver}` stand for the layers' schemas: locally `gold` in the
warehouse dbt builds and `lake.silver` in the crawler's catalog, attached read-only under the alias dbt's
profile gives it. The warehouse is opened read-only too: a gate can look, never change what it judges.

Every check runs even after one fails, and all failures are reported in one PermanentError: bad data (or a
bad check) is not something a retry can fix, and whoever reads the message should see the whole picture.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edp.settings import PermanentError

WAREHOUSE_FILE = "warehouse.duckdb"
LAKE_ALIAS = "lake"  # the alias dbt/profiles.yml attaches the catalog under
LAYERS = {"gold": "gold", "silver": f"{LAKE_ALIAS}.silver"}  # what {gold} and {silver} stand for
EXAMPLES_FETCHED = 5
EXAMPLES_SHOWN = 3


@dataclass
class CheckResult:
    """What one check found: its violating row count and a few of those rows, or the error its SQL raised."""

    index: int  # 1-based, as a person counts the items of the task list
    sql: str
    violations: int = 0
    columns: list[str] = field(default_factory=list)
    examples: list[tuple] = field(default_factory=list)
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and self.violations == 0

    @property
    def headline(self) -> str:
        """The check's index and first SQL line: enough to find it in the task list."""
        first = next((line.strip() for line in self.sql.splitlines() if line.strip()), "")
        return f"check {self.index} ({first[:100]}{'...' if len(first) > 100 else ''})"


def render_sql(sql: str) -> str:
    """The check with its layer placeholders filled in, by str.format as on Athena (edp.kinds.quality_gate), so
    a check means the same on both engines: a literal brace is written doubled (`{{2}}`) in either."""
    return sql.format(**LAYERS).strip().rstrip(";").strip()


def connect(warehouse_path: Path, catalog_path: Path):
    """The warehouse read-only, with the Silver catalog attached as dbt attaches it (if it exists: a gate over
    Gold alone needs no catalog, and a check reading Silver without one fails naming `lake`)."""
    import duckdb

    if not warehouse_path.exists():
        raise PermanentError(f"no Gold warehouse at {warehouse_path}: the quality gate runs after dbt has built it")
    con = duckdb.connect(str(warehouse_path), read_only=True)
    con.execute("SET TimeZone = 'UTC'")  # as dbt's profile sets it, so timestamps read the same
    if catalog_path.exists():
        quoted = str(catalog_path).replace("'", "''")
        con.execute(f"ATTACH '{quoted}' AS {LAKE_ALIAS} (READ_ONLY)")
    return con


def run_check(con, index: int, sql: str) -> CheckResult:
    """Count the violating rows and keep a few. The check is wrapped as a subquery; the newlines keep a
    trailing `-- comment` in it from swallowing the closing parenthesis."""
    import duckdb

    result = CheckResult(index=index, sql=sql)
    try:
        body = render_sql(sql)
    except (KeyError, IndexError, ValueError) as exc:  # the task list refuses these; a hand-made task may not
        result.error = f"unknown placeholder {exc} (only {{gold}} and {{silver}}; write a literal brace doubled)"
        return result
    try:
        result.violations = con.execute(f"SELECT count(*) FROM (\n{body}\n) AS violations").fetchone()[0]
        if result.violations:
            cursor = con.execute(f"SELECT * FROM (\n{body}\n) AS violations LIMIT {EXAMPLES_FETCHED}")
            result.columns = [d[0] for d in cursor.description]
            result.examples = cursor.fetchall()
    except duckdb.Error as exc:  # parser, binder, catalog, conversion...: the check itself is wrong
        result.error = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return result


def run_checks(checks: tuple[str, ...] | list[str], warehouse_path: Path, catalog_path: Path) -> list[CheckResult]:
    """Run every check, failing or not, so one report can name all of them."""
    con = connect(warehouse_path, catalog_path)
    try:
        return [run_check(con, i, sql) for i, sql in enumerate(checks, start=1)]
    finally:
        con.close()


def describe_failure(result: CheckResult) -> str:
    """One failing check for the error message: its headline, then the count and example rows, or the error."""
    if result.error:
        return f"{result.headline}: the SQL failed: {result.error}"
    rows = [", ".join(f"{c}={_text(v)}" for c, v in zip(result.columns, row, strict=True))
            for row in result.examples[:EXAMPLES_SHOWN]]
    noun = "row violates" if result.violations == 1 else "rows violate"
    return f"{result.headline}: {result.violations} {noun} it, e.g.\n" + "\n".join(f"      ({r})" for r in rows)


def _text(value: Any) -> str:
    return "NULL" if value is None else str(value)


def enforce(results: list[CheckResult]) -> None:
    """Fail the run, at once and without retries, naming every failing check."""
    failed = [r for r in results if not r.passed]
    if failed:  # the first line names them all: it is the line the task's failure is logged as
        summary = "; ".join(r.headline for r in failed)
        lines = "\n".join(f"  - {describe_failure(r)}" for r in failed)
        raise PermanentError(f"quality gate: {len(failed)} of {len(results)} check(s) failed: {summary}\n{lines}")


def gate(checks: tuple[str, ...] | list[str], warehouse_path: Path, catalog_path: Path) -> dict:
    """Run the checks and fail on any violation; the metrics a passing gate reports."""
    started = time.monotonic()
    results = run_checks(checks, warehouse_path, catalog_path)
    enforce(results)
    return {"checks": len(results), "passed": sum(r.passed for r in results),
            "seconds": round(time.monotonic() - started, 3)}
