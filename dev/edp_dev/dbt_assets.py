"""`edp assets render|check`: dags/assets.json (the Gold marts and the Silver tables each reads) from dbt's
manifest, which `dbt parse` writes without touching a database. The DAG reads the file at parse time instead
of running dbt there; `check` fails when the dbt project and the file disagree (a test runs it)."""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

from edp.assets import ASSETS_FILE, manifest_gold
from edp.settings import dags_dir
from edp_dev.local.dbt_cli import DbtError, dbt_args, dbt_env, dbt_executable

HEADER = "written by `edp assets render` from dbt's manifest: do not edit"


def parse_manifest() -> dict:
    """dbt's manifest of the project in dbt/, from `dbt parse` into a scratch target folder."""
    with tempfile.TemporaryDirectory(prefix="edp-dbt-parse-") as scratch:
        argv = [dbt_executable(), *dbt_args("parse", target=Path(scratch), logs=Path(scratch))]
        proc = subprocess.run(argv, env=dbt_env(), capture_output=True, text=True)
        if proc.returncode != 0:
            raise DbtError(f"`dbt parse` failed (exit {proc.returncode}):\n{(proc.stdout + proc.stderr)[-3000:]}")
        return json.loads((Path(scratch) / "manifest.json").read_text())


def rendered() -> str:
    return json.dumps({"_": HEADER, "gold": manifest_gold(parse_manifest())}, indent=1, sort_keys=True) + "\n"


def render(path: Path | None = None) -> Path:
    path = path or dags_dir() / ASSETS_FILE
    path.write_text(rendered())
    return path


def is_fresh(path: Path | None = None) -> bool:
    path = path or dags_dir() / ASSETS_FILE
    return path.is_file() and path.read_text() == rendered()
