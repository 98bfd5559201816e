"""The Airflow UI as a person uses it: headless Chromium logs in, triggers edp_pipeline through the Params
form and sees the run succeed; then opens the platform's pages through the UI (the `edp` plugin): the run
history, the run's report as a tab of the run and the dbt docs; and sees the run's Gold Asset events start the
Gold consumer, `edp_pipeline_on_gold` (the stack's scheduler keeps Asset schedules on, clocks off).

The stack is the one `edp airflow up` starts (`edp_dev.airflow_stack`), in a state folder of its own
with a small seeded source.  The browser is Debian's Chromium driven by Playwright (no browser download).
"""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import isolated_home

pytestmark = pytest.mark.system

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DAG_ID = "edp_pipeline"
GOLD_DAG_ID = "edp_pipeline_on_gold"
GOLD_MART = "daily_revenue"  # one of the marts dbt builds (dags/assets.json)
GOLD_TIMEOUT = 300  # the scheduler creates the run within a loop or two; its one task is a few seconds
RUN_TIMEOUT = 1500  # ~80 s when idle; a loaded 2-core machine (other suites running) took 824 s and over 900 s


@pytest.fixture(scope="module")
def stack():
    from edp_dev import airflow_stack

    with isolated_home("airflow-ui") as paths:
        info = airflow_stack.start_stack(seed_customers=60, timeout=600)  # 180 s is not enough beside the suite on 2 cores
        try:
            yield paths, info
        finally:
            airflow_stack.stop_stack()


@pytest.fixture(scope="module")
def browser():
    # `make setup` installs both (playwright as a dev extra, Chromium as a Debian package): missing is a failure
    from playwright import sync_api

    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: `make setup` installs it (apt-get install chromium)")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


def test_trigger_edp_pipeline_from_the_params_form_and_see_it_succeed(stack, browser):
    paths, info = stack
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(30_000)
    shots = paths.root / "screenshots"
    shots.mkdir(exist_ok=True)
    try:
        log_in(page, info.url, info.password())
        run_id = trigger_from_form(page, info.url)
        run = wait_for_run(page, info.url, run_id)
        print(f"{run_id}: {run['state']} after {run.get('duration')} s")
        if run["state"] != "success":
            pytest.fail(f"run {run_id} ended {run['state']}\n{failed_task_logs(page, info, run_id)}")
        page.goto(f"{info.url}/dags/{DAG_ID}/runs/{run_id}")
        page.get_by_text(run_id).first.wait_for()
        page.screenshot(path=str(shots / "run.png"))
    except Exception:
        page.screenshot(path=str(shots / "failure.png"))
        raise
    if run["state"] != "success":
        pytest.fail(f"run {run_id} ended {run['state']}\n{failed_task_logs(page, info, run_id)}")
    assert run["conf"]["full_refresh"] is True, run["conf"]  # the switch flipped in the form reached the run
    assert "target" not in run["conf"] and run["triggered_by"] == "ui"  # the target is the deployment's
    assert (Path(paths.artifacts.joinpath("latest").read_text().strip()) / "report.html").is_file()
    try:
        see_the_plugin_pages(page, info.url, run_id)
    except Exception:
        page.screenshot(path=str(shots / "plugin-failure.png"))
        raise
    page.screenshot(path=str(shots / "plugin.png"))
    gold = wait_for_gold_consumer(page, info.url, run_id)
    assert gold["state"] == "success", gold


def wait_for_gold_consumer(page, url: str, run_id: str) -> dict:
    """The `edp_pipeline_on_gold` run the pipeline run's Gold Asset events started, once it has finished:
    asset-triggered, and the events it consumed come from `run_id`."""
    deadline = time.monotonic() + GOLD_TIMEOUT
    while True:
        runs = api_get(page, url, f"/dags/{GOLD_DAG_ID}/dagRuns?order_by=-run_after")["dag_runs"]
        for run in runs:
            events = api_get(page, url, f"/dags/{GOLD_DAG_ID}/dagRuns/{run['dag_run_id']}/upstreamAssetEvents")
            if any(e.get("source_run_id") == run_id for e in events["asset_events"]):
                assert run["run_type"] == "asset_triggered", run
                if run["state"] in ("success", "failed"):
                    return run
        if time.monotonic() > deadline:
            pytest.fail(f"no finished {GOLD_DAG_ID} run from {run_id}'s Gold Asset events after {GOLD_TIMEOUT} s: "
                        f"{[(r['dag_run_id'], r['run_type'], r['state']) for r in runs]}")
        time.sleep(3)


def see_the_plugin_pages(page, url: str, run_id: str) -> None:
    """Browse > Run history shows this run's row (success, tests, cost) linking to its report; the run's
    "Run report" tab shows the report with its tests, freshness and cost; Browse > dbt docs shows dbt's docs
    naming a Gold mart."""
    page.goto(f"{url}/plugin/edp-run-history")
    history = page.frame_locator("iframe")
    row = history.locator("tr.run", has_text=run_id)
    row.wait_for()
    assert "success" in row.locator("td.status").inner_text()
    assert "passed" in row.inner_text() and "$" in row.inner_text()
    row.get_by_role("link", name=run_id).click()
    history.locator("#status").wait_for()
    assert history.locator("#status").inner_text() == "success"

    page.goto(f"{url}/dags/{DAG_ID}/runs/{run_id}/plugin/edp-run-report")
    report = page.frame_locator("iframe")
    report.locator("#cost").wait_for()
    assert run_id in report.locator("body").inner_text()
    assert "passed" in report.locator("#tests").inner_text()
    assert report.locator("#freshness tr").count() > 1

    # Browse > dbt docs: dbt's own docs site of the newest run, its project tree naming the marts (the tree's
    # folders start collapsed: the mart's entry is there, not shown)
    page.goto(f"{url}/plugin/edp-dbt-docs")
    docs = page.frame_locator("iframe")
    mart = docs.locator(".filename-normal", has_text=GOLD_MART)
    mart.first.wait_for(state="attached", timeout=120_000)
    assert mart.first.text_content().strip() == GOLD_MART
    assert "dbt" in (docs.locator("body").text_content() or "").lower()


def log_in(page, url: str, password: str) -> None:
    page.goto(url)
    page.wait_for_url("**/auth/login**")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda u: "/auth/login" not in u)


def trigger_from_form(page, url: str) -> str:
    """Open the Trigger dialog, flip `Full refresh` on, name the run, submit; returns the run id."""
    page.goto(f"{url}/dags/{DAG_ID}")
    page.get_by_role("button", name="Trigger").first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Run Parameters").wait_for()
    for field in ("element_tables", "element_full_refresh", "element_refresh_source"):  # the target is not a param
        assert dialog.locator(f"[name={field}]").count() == 1, f"the Params form has no {field}"
    switch = dialog.locator("input[name=element_full_refresh]")
    assert not switch.is_checked()
    dialog.locator("label[data-scope=switch]", has=page.locator("input[name=element_full_refresh]")).click()
    assert switch.is_checked()
    run_id = f"ui_test_{uuid.uuid4().hex[:8]}"
    dialog.get_by_text("Advanced Options").click()
    dialog.locator("input[name=dagRunId]").fill(run_id)
    dialog.get_by_test_id("trigger-dag-submit").click()
    dialog.wait_for(state="hidden")
    return run_id


def api_get(page, url: str, path: str):
    """A REST call with the logged-in session's token (the UI keeps it in the `_token` cookie)."""
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "_token")
    # a busy 2-core machine (the suite's other workers) can hold the API server past the page's 30 s default
    response = page.request.get(f"{url}/api/v2{path}", headers={"Authorization": f"Bearer {token}"},
                                timeout=120_000)
    assert response.ok, f"GET {path}: {response.status} {response.text()[:500]}"
    return response.json()


def wait_for_run(page, url: str, run_id: str) -> dict:
    deadline = time.monotonic() + RUN_TIMEOUT
    while True:
        run = api_get(page, url, f"/dags/{DAG_ID}/dagRuns/{run_id}")
        if run["state"] in ("success", "failed") or time.monotonic() > deadline:
            return run
        time.sleep(3)


def failed_task_logs(page, info, run_id: str) -> str:
    tis = api_get(page, info.url, f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances")["task_instances"]
    out = [f"{t['task_id']}[{t['map_index']}]: {t['state']} (try {t['try_number']})" for t in tis]
    run_logs = Path(info.home) / "logs" / f"dag_id={DAG_ID}" / f"run_id={run_id}"
    for t in tis:
        if t["state"] not in ("success", "skipped"):
            for log in sorted(run_logs.glob(f"task_id={t['task_id']}/**/*.log")):
                out.append(f"--- {log.relative_to(run_logs)}\n{log.read_text(errors='replace')[-4000:]}")
    return "\n".join(out)
