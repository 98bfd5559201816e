"""The MWAA package in a fresh virtualenv: Airflow + the generated requirements, `edp` only from plugins.zip.

MWAA installs requirements.txt under the official Airflow constraints file its first line names. That
file cannot be fetched here (no internet besides the package index), so the test swaps the line for the
repo's vendored pins (constraints/py3.11.txt, which pin the same Airflow) and installs from PyPI with uv
(a dev dependency): every package is pinned, so uv installs what MWAA's pip would, in seconds instead of
minutes (pip took 6.5 minutes of the suite). The DAG folder is laid out as `edp mwaa deploy` uploads it, terraform/ included, so the
DagBag also proves .airflowignore keeps the non-DAG files out of parsing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from edp import mwaa
from edp.settings import REPO_ROOT

pytestmark = pytest.mark.system

PARSE = """
import importlib, json, pkgutil, sys
import edp
# every module of the shipped package imports with MWAA's requirements alone
modules = sorted(m.name for m in pkgutil.walk_packages(edp.__path__, "edp."))
for name in modules:
    importlib.import_module(name)
from airflow._shared.module_loading import find_path_from_directory  # what DagBag lists files with
from airflow.configuration import conf
from airflow.dag_processing.dagbag import DagBag

bag = DagBag(dag_folder=sys.argv[1])
syntax = conf.get_mandatory_value("core", "dag_ignore_file_syntax")
print(json.dumps({"edp": edp.__file__, "modules": modules, "dags": sorted(bag.dag_ids), "errors": bag.import_errors, "syntax": syntax,
                  "seen": sorted(find_path_from_directory(sys.argv[1], ".airflowignore", syntax))}))
"""


def test_generated_requirements_install_and_every_dag_imports_from_plugins_zip(tmp_path):
    started = time.monotonic()
    built = mwaa.package(tmp_path / "package", "dev")
    lines = built["requirements.txt"].read_text().splitlines()
    assert lines[0].startswith("--constraint ")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("\n".join([f'--constraint "{REPO_ROOT / "constraints" / "py3.11.txt"}"', *lines[1:]]))

    venv = tmp_path / "venv"
    uv = str(Path(sys.executable).parent / "uv")
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, cwd=tmp_path)
    python = str(venv / "bin" / "python")
    # --native-tls: the system's certificates, as pip uses them (a proxy's own CA included)
    subprocess.run([uv, "pip", "install", "--quiet", "--native-tls", "--python", python,
                    f"apache-airflow=={mwaa.airflow_version()}", "-r", str(requirements)],
                   check=True, cwd=tmp_path, timeout=600)
    installed = time.monotonic()

    plugins = tmp_path / "plugins"
    with zipfile.ZipFile(built["plugins.zip"]) as zf:
        zf.extractall(plugins)
    dags = tmp_path / "dags"
    for key, path in mwaa.deploy_files().items():  # the dags/ prefix exactly as deploy uploads it
        if key.startswith(mwaa.DAGS_PREFIX):
            (dags / key.removeprefix(mwaa.DAGS_PREFIX)).parent.mkdir(parents=True, exist_ok=True)
            (dags / key.removeprefix(mwaa.DAGS_PREFIX)).write_bytes(path.read_bytes())
    assert (dags / "terraform" / "stacks").is_dir() and (dags / ".airflowignore").is_file()

    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "AIRFLOW_HOME": str(tmp_path / "airflow"),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "PYTHONPATH": str(plugins),
           "EDP_TARGET": "aws", "EDP_ENVIRONMENT": "dev", "EDP_TERRAFORM_DIR": str(dags / "terraform")}
    parsed = subprocess.run([python, "-c", PARSE, str(dags)], env=env, cwd=tmp_path, capture_output=True,
                            text=True, timeout=300)
    assert parsed.returncode == 0, parsed.stderr[-4000:]
    result = json.loads(parsed.stdout.strip().splitlines()[-1])
    assert result["errors"] == {}
    assert result["dags"] == ["edp_pipeline", "edp_pipeline_on_gold", "edp_session", "edp_session_sweep"]
    assert result["edp"].startswith(str(plugins) + os.sep)  # the package came from plugins.zip, not the repo
    assert {"edp.cli", "edp.aws.executors", "edp.operators.terraform", "edp.mwaa"} <= set(result["modules"])
    # with the default syntax in force, .airflowignore leaves only the DAG files to look at
    assert result["syntax"] == "glob"
    assert {os.path.relpath(f, dags) for f in result["seen"]} == {"edp_pipeline.py", "edp_on_gold.py", "edp_session.py"}
    print(f"install {installed - started:.0f}s, DAG parse {time.monotonic() - installed:.0f}s")
