"""The local target end to end, as a person uses it: `edp demo` (seed, run, change, run: the README's main
job), then the stack `edp airflow up` starts, where headless Chromium triggers a run from the Params form.

- After the demo, Silver equals the source row for row and every Gold mart equals the same aggregate computed
  in SQL on PostgreSQL; the second run merged incrementally; the artifacts, history, cost and lineage are there.
- In the UI: the run triggered from the form succeeds; the platform's pages (the `edp` plugin) show the run
  history, the run's report and the dbt docs; the run's Gold Asset events start `edp_pipeline_on_gold` (the
  stack's scheduler keeps Asset schedules on, clocks off).
- Then secret hygiene over all of it: no secret's value is in any file but its own, those files are private,
  and every listening socket of the stack, its tasks and PostgreSQL is on loopback.

One state folder and one stack for all three: the demo, the stack and its run are the costly part, and what
each check reads is exactly what they leave. The browser is Debian's Chromium driven by Playwright.
The secrets are the ones the local target makes: the Airflow `admin` password, the embedded PostgreSQL's
password, Airflow's own keys in airflow.cfg (fernet key, JWT secret, api secret key) and the docker-compose
secrets (`edp airflow secrets`, written into the same state folder here). The scan reads every file of the
state folder as bytes: logs, artifacts, the lake, Airflow's SQLite DB and PostgreSQL's data directory
(PostgreSQL keeps a SCRAM verifier, never the password, so nothing there needs skipping).
"""

from __future__ import annotations

import configparser
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from edp.spec import load_spec
from edp_dev import airflow_stack
from edp_dev import shop as source_db
from edp_dev.local.postgres import EmbeddedPostgres
from tests.conftest import isolated_home, source_connection
from tests.lake_checks import assert_gold_matches, assert_silver_matches
from tests.listeners import Listener, current_listeners, is_loopback, wait_for_listeners

pytestmark = pytest.mark.system

EDP = str(Path(sys.executable).parent / "edp")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DAG_ID = "edp_pipeline"
GOLD_DAG_ID = "edp_pipeline_on_gold"
GOLD_MART = "daily_revenue"  # one of the marts dbt builds (dags/assets.json)
GOLD_TIMEOUT = 900  # a loop or two of the scheduler and one short task when idle; minutes beside the suite in CI
RUN_TIMEOUT = 1500  # ~80 s when idle; a loaded 2-core machine (other suites running) took 824 s and over 900 s
DEMO = ["--customers", "120", "--inserts", "40", "--updates", "30", "--deletes", "12"]
GROUP_OTHER = stat.S_IRWXG | stat.S_IRWXO
NOT_SECRET = {"aws_emulator_credentials"}  # the emulator's placeholder keys, the same on every machine


@dataclass
class Stack:
    info: airflow_stack.StackInfo
    compose_files: list[Path]
    listeners: set[Listener] = field(default_factory=set)  # gathered while it runs, task processes included


@dataclass
class Scene:
    root: Path
    info: airflow_stack.StackInfo
    secrets: dict[str, str]          # name -> value
    secret_files: dict[Path, int]    # path -> the mode it must have
    listeners: set[Listener]
    terminal: str                    # what `edp demo` printed


# -- the scene: the demo, then the stack with one run triggered in the browser -----------------------------

@pytest.fixture(scope="module")
def home():
    with isolated_home("local") as paths:
        try:
            yield paths
        finally:
            airflow_stack.stop_stack()


@pytest.fixture(scope="module")
def demo(home) -> str:
    """What `edp demo` printed; it leaves the embedded PostgreSQL running for the checks and the stack."""
    env = {**os.environ, "EDP_HOME": str(home.root)}
    proc = subprocess.run([EDP, "demo", *DEMO, "--keep-running"], env=env, capture_output=True, text=True,
                          timeout=2400)  # minutes alone, far more beside the suite on 2 cores
    assert proc.returncode == 0, f"edp demo failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def stack(home, demo):
    compose_files = airflow_stack.write_compose_secrets(home.root / "compose")
    info = airflow_stack.start_stack(seed_customers=0, timeout=600)  # 180 s is not enough beside the suite
    try:
        yield Stack(info, compose_files, wait_for_listeners(info, home.pg / "data"))
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


@pytest.fixture(scope="module")
def ui_run(home, stack, browser):
    """Log in, trigger edp_pipeline from the Params form with `Full refresh` on, wait for the run to end
    (gathering the listeners the task processes open meanwhile: Spark, the local DMS); the page stays logged in."""
    info = stack.info
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    # beside the rest of the suite on 2 cores the stack's API server took over 30 s to serve its first page in CI:
    # a page, its bundle and its API calls get minutes, not Playwright's 30 s
    page.set_default_timeout(120_000)
    page.set_default_navigation_timeout(300_000)
    shots = home.root / "screenshots"
    shots.mkdir(exist_ok=True)
    try:
        log_in(page, info.url, info.password())
        run_id = trigger_from_form(page, info.url)
        run = wait_for_run(page, info.url, run_id, lambda: stack.listeners.update(current_listeners(info, home.pg / "data")))
        print(f"{run_id}: {run['state']} after {run.get('duration')} s")
        if run["state"] == "success":
            page.goto(f"{info.url}/dags/{DAG_ID}/runs/{run_id}")
            page.get_by_text(run_id).first.wait_for()
            page.screenshot(path=str(shots / "run.png"))
    except Exception:
        page.screenshot(path=str(shots / "failure.png"))
        raise
    yield page, run
    page.close()


@pytest.fixture(scope="module")
def scene(home, demo, stack, ui_run) -> Scene:
    """The state folder once the stack has stopped, with every secret it holds and the file each belongs in."""
    airflow_stack.stop_stack()
    return Scene(home.root, stack.info, *collect_secrets(home, stack.info, stack.compose_files), stack.listeners, demo)


# -- the demo's lake, artifacts and lineage ----------------------------------------------------------------

def test_the_demo_leaves_every_layer_equal_to_the_source(home, demo):
    paths = home
    batch = re.search(r"simulator batch: (\d+) inserted, (\d+) updated, (\d+) deleted rows", demo)
    assert batch and all(int(n) > 0 for n in batch.groups()), demo[-3000:]
    run2 = sorted((paths.root / "logs").glob("demo-run2-*.log"))
    assert len(run2) == 1 and "'mode': 'merge'" in run2[0].read_text(), "the second run must merge incrementally"
    conn = source_connection(EmbeddedPostgres(paths.pg).start())
    try:
        spec = load_spec()
        for table in source_db.TABLES:
            assert_silver_matches(conn, paths.silver, table, list(spec.source(table).primary_key))
        assert_gold_matches(paths.warehouse, conn)
    finally:
        conn.close()

    run_folder = Path(paths.artifacts.joinpath("latest").read_text().strip())
    assert f"run report: {run_folder / 'report.html'}" in demo
    for name in ("manifest.json", "run_results.json", "catalog.json", "docs/index.html", "report.html", "metrics.json"):
        assert (run_folder / name).is_file(), name
    results = json.loads((run_folder / "run_results.json").read_text())
    assert {r["status"] for r in results["results"]} <= {"success", "pass"}
    assert any(r["unique_id"].startswith("unit_test.") for r in results["results"])
    # the second run built every mart incrementally (only the dates, customers and products its changes touched),
    # and each still equals PostgreSQL's figures above: deletes included, through the tombstones' last values
    for mart, touched in (("daily_revenue", "touched_dates"), ("customer_lifetime_value", "touched_customers"),
                          ("product_performance", "touched_products")):
        built = next(r for r in results["results"] if r["unique_id"] == f"model.edp.{mart}")
        assert touched in built["compiled_code"], f"the second run must build {mart} incrementally"
    metrics = json.loads((run_folder / "metrics.json").read_text())
    assert set(metrics["layers"]) == {"bronze", "silver", "gold"}
    assert metrics["layers"]["gold"]["daily_revenue"] > 0
    assert any(k.startswith("bronze_to_silver[") for k in metrics["durations"])
    report = (run_folder / "report.html").read_text()
    assert "<svg" in report and "Rows per layer" in report and "Task duration" in report
    assert_history_tests_freshness_and_cost(paths, run_folder, metrics, report)
    assert_lineage_chains_postgres_to_gold(paths, conn_tables=source_db.TABLES)


# -- the UI ------------------------------------------------------------------------------------------------

def test_trigger_edp_pipeline_from_the_params_form_and_see_it_succeed(home, stack, ui_run):
    page, run = ui_run
    info, run_id = stack.info, run["dag_run_id"]
    if run["state"] != "success":
        pytest.fail(f"run {run_id} ended {run['state']}\n{failed_task_logs(page, info, run_id)}")
    assert run["conf"]["full_refresh"] is True, run["conf"]  # the switch flipped in the form reached the run
    assert "target" not in run["conf"] and run["triggered_by"] == "ui"  # the target is the deployment's
    assert (Path(home.artifacts.joinpath("latest").read_text().strip()) / "report.html").is_file()
    shots = home.root / "screenshots"
    try:
        see_the_plugin_pages(page, info.url, run_id)
    except Exception:
        page.screenshot(path=str(shots / "plugin-failure.png"))
        raise
    page.screenshot(path=str(shots / "plugin.png"))
    gold = wait_for_gold_consumer(page, info.url, run_id)
    assert gold["state"] == "success", gold
    # clocks off: the demo stored edp_pipeline with last night's run due, and the stack started none of it
    clocked = [r["dag_run_id"] for dag in (DAG_ID, "edp_session_sweep")
               for r in api_get(page, info.url, f"/dags/{dag}/dagRuns")["dag_runs"] if r["run_type"] == "scheduled"]
    assert not clocked, f"the stack started clock-scheduled runs: {clocked}"


# -- secret hygiene over everything the scene left ---------------------------------------------------------

def test_no_file_but_its_own_holds_a_secret(scene):
    leaks = []
    for path in sorted(scene.root.rglob("*")):
        if path.is_symlink() or not path.is_file() or path in scene.secret_files:
            continue
        content = path.read_bytes()
        leaks += [f"{path.relative_to(scene.root)}: {name}" for name, value in scene.secrets.items()
                  if value.encode() in content]
    assert not leaks, "secret values found in files:\n" + "\n".join(leaks)
    assert (scene.root / "logs" / "airflow-standalone.log").stat().st_size > 0, "the stack's log was scanned"
    assert list((Path(scene.info.home) / "logs").rglob("*.log")), "the stack's task logs were scanned"
    printed = [name for name, value in scene.secrets.items() if value in scene.terminal]
    assert not printed, f"`edp demo` printed {printed}"


def test_secret_files_are_private_and_so_are_their_folders(scene):
    for path, mode in scene.secret_files.items():
        assert stat.S_IMODE(path.stat().st_mode) == mode, f"{path}: {oct(path.stat().st_mode)}, want {oct(mode)}"
        for folder in folders_between(scene.root, path):
            folder_mode = stat.S_IMODE(folder.stat().st_mode)
            assert not folder_mode & (stat.S_IRGRP | stat.S_IWGRP | stat.S_IROTH | stat.S_IWOTH), \
                f"{folder} ({oct(folder_mode)}) on the way to {path.name} lets others list or write it"
        if mode & GROUP_OTHER:  # readable by others (the compose files): the folder must keep everyone else out
            assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700, path.parent


def test_logs_are_private(scene):
    logs = scene.root / "logs"
    assert stat.S_IMODE(logs.stat().st_mode) == 0o700
    wide = [p.name for p in logs.iterdir() if stat.S_IMODE(p.stat().st_mode) != 0o600]
    assert not wide, f"log files not 0600: {wide}"


def test_every_listener_is_on_loopback(scene):
    ports = {item.port for item in scene.listeners}
    assert scene.info.port in ports, f"the api-server's port {scene.info.port} not among {scene.listeners}"
    assert len({item.pid for item in scene.listeners if "serve-logs" in item.command}) >= 2, \
        f"both log servers (scheduler's, triggerer's) should listen: {scene.listeners}"
    for item in sorted(scene.listeners, key=lambda item: (item.command, item.port)):
        print(f"{item.address}:{item.port}  pid {item.pid}  {item.command[:100]}")
    wide = [item for item in scene.listeners if not is_loopback(item.address)]
    assert not wide, "listening beyond loopback:\n" + "\n".join(map(str, wide))


def folders_between(root: Path, path: Path) -> list[Path]:
    """The folders below the state root down to `path`'s own (the root itself is the caller's choice)."""
    return [folder for folder in path.parents if folder != root and folder.is_relative_to(root)]


def collect_secrets(paths, info, compose_files: list[Path]) -> tuple[dict[str, str], dict[Path, int]]:
    """Every secret value the state folder holds, and the file each lives in with the mode that file needs."""
    secrets = {"airflow admin password": info.password()}
    files = {info.password_file: 0o600}
    conn_file = paths.pg / "connection.json"
    secrets["postgres password"] = json.loads(conn_file.read_text())["password"]
    files[conn_file] = 0o600
    cfg = Path(info.home) / "airflow.cfg"
    parser = configparser.RawConfigParser(strict=False)
    parser.read(cfg)
    for section, option in (("core", "fernet_key"), ("api_auth", "jwt_secret"), ("api", "secret_key")):
        if value := parser.get(section, option, fallback=""):
            secrets[f"airflow.cfg {section}.{option}"] = value
    files[cfg] = 0o600
    for path in compose_files:
        if path.name not in NOT_SECRET:
            secrets[f"compose {path.name}"] = path.read_text()
            files[path] = airflow_stack.COMPOSE_SECRET_MODE
    assert all(len(v) >= 16 for v in secrets.values()), "a secret this short would match by chance"
    return secrets, files


# -- helpers ---------------------------------------------------------------------------------------------

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
    for name in ("element_tables", "element_full_refresh", "element_refresh_source"):  # the target is not a param
        assert dialog.locator(f"[name={name}]").count() == 1, f"the Params form has no {name}"
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


def wait_for_run(page, url: str, run_id: str, meanwhile) -> dict:
    """The run as it ended (or as it stands after RUN_TIMEOUT); `meanwhile()` is called at every poll."""
    deadline = time.monotonic() + RUN_TIMEOUT
    while True:
        meanwhile()
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


def assert_lineage_chains_postgres_to_gold(paths, conn_tables):
    """The OpenLineage provider's file transport left one JSON event per file under <state>/lineage/; the
    COMPLETE events of the pipeline's tasks chain: PostgreSQL tables -> Bronze -> Silver -> Gold, each
    task's outputs being the next task's inputs by namespace and name."""
    events = [json.loads(p.read_text()) for p in sorted(paths.root.joinpath("lineage").glob("event*"))]
    complete = [e for e in events if e.get("eventType") == "COMPLETE" and e["job"]["name"].startswith("edp_pipeline.")]
    assert complete, f"no COMPLETE events among {len(events)} in {paths.root / 'lineage'}"

    def io(task: str, side: str) -> set[tuple[str, str]]:
        return {(d["namespace"], d["name"]) for e in complete if e["job"]["name"] == f"edp_pipeline.{task}"
                for d in e.get(side, [])}

    sources = io("cdc_ingest", "inputs")
    assert {n.rsplit(".", 1)[-1] for _, n in sources} == set(conn_tables)
    assert all(ns.startswith("postgres://127.0.0.1:") for ns, _ in sources)
    bronze = io("cdc_ingest", "outputs")
    assert len(bronze) == len(conn_tables) and bronze == io("bronze_to_silver", "inputs")
    silver = io("bronze_to_silver", "outputs")  # each table and its tombstones
    assert len(silver) == 2 * len(conn_tables) and io("dbt_build", "inputs") <= silver
    assert {n.rsplit("/", 1)[-1].rsplit(".", 1)[-1] for _, n in io("dbt_build", "inputs")} >= set(conn_tables)
    gold = {n for _, n in io("dbt_build", "outputs")}
    assert "gold.daily_revenue" in gold and len(gold) == 3


def assert_history_tests_freshness_and_cost(paths, run_folder, metrics, report):
    """The run history lists both demo runs, newest first, linked to their reports; each run's metrics carry its dbt
    tests, Silver's freshness from dbt and the cost estimate from this machine's figures."""
    from edp import pricing

    assert metrics["status"] == "success" and metrics["duration_seconds"] > 0
    assert metrics["tests"]["total"] > 10 and metrics["tests"]["failed"] == []
    assert set(metrics["freshness"]) == set(source_db.TABLES) and 0 <= metrics["silver_lag_seconds"] < 3600
    cost = metrics["cost"]
    assert cost["basis"].startswith("estimate of the AWS cost") and cost["region"] == pricing.REGION
    assert len(cost["inputs"]["glue_job_seconds"]) == len(source_db.TABLES) and cost["total_usd"] > 0
    assert {"ecs_task_seconds", "crawler_seconds", "athena_bytes_scanned", "dms_hours", "rds_hours"} <= set(cost["lines"])
    assert 'id="tests"' in report and 'id="freshness"' in report and 'id="cost"' in report
    page = paths.artifacts.joinpath("index.html").read_text()
    links = re.findall(r'<a href="(runs/[^"]+/report.html)">', page)
    assert len(links) == 2 and links[0] == f"runs/{run_folder.name}/report.html"
    assert all(paths.artifacts.joinpath(link).is_file() for link in links)
    assert page.count('<tr class="run success">') == 2 and f"${cost['total_usd']:.4f}" in page
