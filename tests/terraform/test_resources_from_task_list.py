"""Terraform creates what the task list names, with no HCL edit: a second Glue job (another script, not
mapped) and a second crawler (over Gold) are added to a copy of dags/pipeline.yaml, rendered as `edp sfn
render` does into a private copy of terraform/, and the foundation stack of the emulator environment is planned
against the local AWS emulator (`edp infra plan`'s code path). The plan creates each task's job and crawler
under the name the state machine and the Airflow operators derive, and the state machine's role (and MWAA's
pipeline policy) names them. A plan, not an apply: nothing is created, so it stays cheap.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from edp import asl
from edp.aws.names import Platform
from edp.environments import terraform_root
from edp.kinds.base import resource_name
from edp.settings import REPO_ROOT, glue_scripts_dir
from edp.spec import default_spec_path, load_spec
from edp_dev.emulator.server import AwsEmulator
from tests.terraform.conftest import requires_terraform

pytestmark = [requires_terraform, pytest.mark.integration]

PREFIX = "edp-emulator"
NEW_SCRIPT = "silver_snapshot.py"
NEW_TASKS = [
    {"id": "silver_snapshot", "kind": "glue_job", "upstream": ["crawl_silver"], "timeout_minutes": 20,
     "args": {"script": NEW_SCRIPT, "workers": 3}},
    {"id": "crawl_gold", "kind": "glue_crawler", "upstream": ["dbt_build"], "timeout_minutes": 15,
     "args": {"layer": "gold"}},
]
STEP_FUNCTIONS = Path("modules") / "step_functions"
TERRAFORM = REPO_ROOT / "terraform"  # the repo's (terraform_dir() names the copy while the plan fixture is up)


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    """(spec, private terraform/ copy, plan JSON) of the foundation for the task list with the new tasks."""
    tmp = tmp_path_factory.mktemp("task-list")
    tree = tmp / "repo"
    shutil.copytree(TERRAFORM, tree / "terraform",
                    ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*", "tfplan"))
    shutil.copytree(glue_scripts_dir(), tree / "glue_scripts")  # the root uploads scripts from beside terraform/
    (tree / "glue_scripts" / NEW_SCRIPT).write_text("# the new task's script: any file the job can point at\n")
    raw = yaml.safe_load(default_spec_path().read_text())
    raw["tasks"] += NEW_TASKS
    path = tmp / "pipeline.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    spec = load_spec(path)
    asl.write_asl(spec, tree / "terraform" / STEP_FUNCTIONS)  # what `edp sfn render --spec ... --out ...` writes
    with AwsEmulator(log_file=None) as emulator, pytest.MonkeyPatch.context() as env:
        env.setenv("EDP_TERRAFORM_DIR", str(tree / "terraform"))
        env.setenv("EDP_HOME", str(tmp / "home"))
        env.setenv("EDP_AWS_ENDPOINT", emulator.endpoint)
        root = terraform_root("emulator", "foundation")
        runner = root.runner(echo=lambda line: None)
        root.init(runner)
        assert runner.plan(root.plan_file, root.variables), "a fresh emulator: the plan creates the foundation"
        yield spec, tree / "terraform", runner.show_plan(root.plan_file)


def created(plan: dict, address: str) -> dict:
    (change,) = [c for c in plan["resource_changes"] if c["address"] == address]
    assert change["change"]["actions"] == ["create"], (address, change["change"]["actions"])
    return change["change"]["after"]


def statements(plan: dict, address: str) -> dict[str, dict]:
    """The statements of an aws_iam_policy_document by sid: the known part of its read, which waits for apply
    where an input (an ARN) is known only then, or the document read during the plan."""
    found = [c["change"]["after"] for c in plan["resource_changes"] if c["address"] == address]
    modules = [plan.get("prior_state", {}).get("values", {}).get("root_module", {})]
    while modules and not found:
        module = modules.pop()
        found = [r["values"] for r in module.get("resources", []) if r["address"] == address]
        modules += module.get("child_modules", [])
    assert found, f"{address} is not in the plan"
    return {s["sid"]: s for s in found[0]["statement"]}


def arns(kind: str, tasks) -> set[str]:
    return {f"arn:aws:glue:eu-central-1:123456789012:{kind}/{resource_name(PREFIX, t)}" for t in tasks}


def test_the_task_lists_resources_file_names_the_new_tasks(planned):
    spec, tree, _ = planned
    rendered = asl.resources(spec)
    assert set(rendered["glue_jobs"]) == {"bronze_to_silver", "silver_snapshot"}
    assert rendered["glue_jobs"]["silver_snapshot"] == {"name_suffix": "silver-snapshot", "script": NEW_SCRIPT,
                                                        "workers": 3, "mapped": False}
    assert set(rendered["crawlers"]) == {"crawl_silver", "crawl_gold"}
    assert asl.stale_files(spec, tree / STEP_FUNCTIONS) == []


def test_no_hcl_was_edited(planned):
    """Only the rendered files differ between the planned copy and the repo's terraform/."""
    _, tree, _ = planned
    differ = sorted(str(p.relative_to(tree)) for p in tree.rglob("*")
                    if p.is_file() and (TERRAFORM / p.relative_to(tree)).read_bytes() != p.read_bytes())
    assert set(differ) <= {str(STEP_FUNCTIONS / n) for n in (asl.DEFINITION_FILE, asl.INPUT_FILE, asl.RESOURCES_FILE)}
    assert str(STEP_FUNCTIONS / asl.RESOURCES_FILE) in differ


def test_plan_creates_each_tasks_glue_job_under_the_derived_name(planned):
    _, _, plan = planned
    platform = Platform("emulator", {"name_prefix": PREFIX}, None)  # how the Airflow operators name it
    new = created(plan, 'module.processing.aws_glue_job.this["silver_snapshot"]')
    assert new["name"] == resource_name(PREFIX, "silver_snapshot") == platform.task_resource("silver_snapshot")
    assert new["name"] == "edp-emulator-silver-snapshot"
    assert new["number_of_workers"] == 3 and new["execution_property"] == [{"max_concurrent_runs": 1}]
    script = created(plan, f'module.processing.aws_s3_object.script["{NEW_SCRIPT}"]')
    assert script["key"] == f"glue-scripts/{NEW_SCRIPT}"
    assert script["source"].endswith(f"/glue_scripts/{NEW_SCRIPT}")
    shipped = created(plan, 'module.processing.aws_glue_job.this["bronze_to_silver"]')
    assert shipped["name"] == "edp-emulator-bronze-to-silver" and shipped["number_of_workers"] == 2
    assert shipped["execution_property"] == [{"max_concurrent_runs": 8}]  # mapped: one run per table at once


def test_plan_creates_each_tasks_crawler_over_its_layer(planned):
    _, _, plan = planned
    new = created(plan, 'module.processing.aws_glue_crawler.this["crawl_gold"]')
    assert new["name"] == resource_name(PREFIX, "crawl_gold") == "edp-emulator-crawl-gold"
    assert new["database_name"] == "edp_emulator_gold"
    # over the Gold bucket (its name is known only after apply; tests/terraform/test_processing.py applies it)
    assert new["s3_target"][0].get("path", "s3://edp-emulator-gold/") == "s3://edp-emulator-gold/"
    assert "_staging/**" in new["s3_target"][0]["exclusions"]
    shipped = created(plan, 'module.processing.aws_glue_crawler.this["crawl_silver"]')
    assert shipped["name"] == "edp-emulator-crawl-silver" and shipped["database_name"] == "edp_emulator_silver"
    crawlers = [c["address"] for c in plan["resource_changes"] if c["type"] == "aws_glue_crawler"]
    assert len(crawlers) == 2, f"one crawler per glue_crawler task, no other: {crawlers}"


def test_state_machine_role_names_the_new_job_and_crawler(planned):
    _, _, plan = planned
    granted = statements(plan, "module.step_functions.data.aws_iam_policy_document.pipeline")
    assert set(granted["GlueJob"]["resources"]) == arns("job", ["bronze_to_silver", "silver_snapshot"])
    assert set(granted["GlueCrawler"]["resources"]) == arns("crawler", ["crawl_silver", "crawl_gold"])
    # the kinds of the shipped list keep their services
    assert {"DmsTask", "AthenaQuery", "ServingLoad", "EcsRunTask"} <= set(granted)


def test_mwaa_pipeline_policy_names_the_new_job_and_crawler(planned):
    _, _, plan = planned
    granted = statements(plan, "data.aws_iam_policy_document.mwaa_pipeline")
    assert set(granted["RunGlueJobs"]["resources"]) == arns("job", ["bronze_to_silver", "silver_snapshot"])
    assert set(granted["RunCrawlers"]["resources"]) == arns("crawler", ["crawl_silver", "crawl_gold"])
    assert {"RunQualityGates", "LoadServing"} <= set(granted)


def test_schedule_is_the_task_lists(planned):
    spec, _, plan = planned
    rule = created(plan, "module.step_functions.aws_cloudwatch_event_rule.nightly[0]")
    assert rule["schedule_expression"] == asl.resources(spec)["schedule"]
    assert rule["state"] == "DISABLED"  # the emulator environment's schedule_enabled = false
