"""The `edp` Airflow plugin's parts that need no server: what it registers and which keys it serves (the
browser test opens its pages through a running Airflow)."""

from __future__ import annotations

import pytest
from fastapi import HTTPException

from edp import ui


def test_the_plugin_mounts_its_app_and_adds_menu_entries_and_a_run_tab():
    plugin = ui.EdpUiPlugin
    assert [a["url_prefix"] for a in plugin.fastapi_apps] == [ui.PREFIX]
    views = {v["url_route"]: v for v in plugin.external_views}
    assert views["edp-run-history"]["href"] == "/edp/runs/index.html" and views["edp-run-history"]["destination"] == "nav"
    assert views["edp-run-report"]["href"] == "/edp/run/{DAG_ID}/{RUN_ID}"
    assert views["edp-run-report"]["destination"] == "dag_run"
    routes = {r.path for r in plugin.fastapi_apps[0]["app"].routes}
    assert routes == {"/", "/runs/{key:path}", "/run/{dag_id}/{run_id}", "/docs"}  # /docs is dbt's, no Swagger


@pytest.mark.parametrize("key", ["runs/../pg/conn.json", "runs//x", "pg/conn.json", "runs/a/../../x", "/etc/passwd",
                                 "runs/", "runs/a\\..\\b"])
def test_keys_outside_the_runs_are_refused(key):
    with pytest.raises(HTTPException) as caught:
        ui.safe_key(key)
    assert caught.value.status_code == 404


def test_the_local_store_reads_published_files_only(tmp_path):
    from edp_dev.local.publish import LocalArtifacts

    (tmp_path / "artifacts" / "runs" / "r1" / "docs").mkdir(parents=True)
    (tmp_path / "artifacts" / "runs" / "r1" / "report.html").write_text("<p>r1</p>")
    (tmp_path / "secret").write_text("no")
    (tmp_path / "artifacts" / "latest").write_text(str(tmp_path / "artifacts" / "runs" / "r1") + "\n")
    store = LocalArtifacts(tmp_path / "artifacts")
    assert store.get(ui.safe_key("runs/r1/report.html")) == b"<p>r1</p>"
    assert store.get("runs/../../secret") is None and store.get("runs/r2/report.html") is None
    assert store.latest_folder() == "r1" and store.docs_key("r1") == "runs/r1/docs/index.html"
