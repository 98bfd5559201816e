"""The data-loss guard (`edp.terraform.data_loss`): exact resource types, derived from what the modules create."""

from __future__ import annotations

import re

import pytest

from edp.terraform import DATA_BEARING, NOT_DATA_BEARING, RECOVERABLE_DELETE, data_loss
from tests.conftest import REPO_ROOT

RESOURCE = re.compile(r'^\s*resource\s+"([a-z0-9_]+)"\s+"', re.MULTILINE)


def created_types() -> dict[str, str]:
    """Every resource type the modules and stacks declare (examples aside), with one file that declares it."""
    found: dict[str, str] = {}
    for folder in ("modules", "stacks"):
        for path in sorted((REPO_ROOT / "terraform" / folder).rglob("*.tf")):
            relative = path.relative_to(REPO_ROOT)
            if "examples" in relative.parts or ".terraform" in relative.parts:
                continue
            for kind in RESOURCE.findall(path.read_text()):
                found.setdefault(kind, str(relative))
    return found


def test_every_type_the_modules_create_is_classified():
    """A module adding a resource type must decide whether deleting it loses data (plugins/edp/terraform.py)."""
    created = created_types()
    assert len(created) > 40, "the scan found the modules' resources"
    unclassified = {kind: where for kind, where in created.items() if kind not in DATA_BEARING | NOT_DATA_BEARING}
    assert unclassified == {}, "add each type to DATA_BEARING or NOT_DATA_BEARING in edp.terraform"


def test_the_classification_is_consistent():
    assert DATA_BEARING.isdisjoint(NOT_DATA_BEARING)
    assert set(RECOVERABLE_DELETE) <= DATA_BEARING


def change(kind: str, actions: list[str], before: dict | None = None, name: str = "this") -> dict:
    return {"address": f"module.m.{kind}.{name}", "type": kind, "change": {"actions": actions, "before": before}}


def plan(*changes: dict) -> dict:
    return {"resource_changes": list(changes)}


@pytest.mark.parametrize("kind", ["aws_s3_bucket_policy", "aws_s3_bucket_versioning", "aws_s3_bucket_lifecycle_configuration",
                                  "aws_kms_alias", "aws_secretsmanager_secret_version", "aws_redshiftserverless_workgroup"])
def test_removing_a_sub_resource_or_compute_passes(kind):
    """Prefix matching refused a plan that only dropped a bucket policy; exact types do not."""
    assert data_loss(plan(change(kind, ["delete"]))) == []


@pytest.mark.parametrize("kind", ["aws_s3_bucket", "aws_redshiftserverless_namespace", "aws_kms_key",
                                  "aws_glue_catalog_database", "aws_glue_catalog_table"])
def test_deleting_a_store_is_refused(kind):
    assert data_loss(plan(change(kind, ["delete"]))) == [f"module.m.{kind}.this ({kind}) would be deleted"]


def test_a_replacement_deletes_too():
    replaced = change("aws_redshiftserverless_namespace", ["create", "delete"], {"namespace_name": "edp-dev-serving"})
    assert data_loss(plan(replaced)) == [
        "module.m.aws_redshiftserverless_namespace.this (aws_redshiftserverless_namespace) would be deleted"]


def test_creating_or_updating_a_store_passes():
    assert data_loss(plan(change("aws_s3_bucket", ["create"]), change("aws_redshiftserverless_namespace", ["update"]),
                          change("aws_secretsmanager_secret", ["no-op"]))) == []


@pytest.mark.parametrize("kind", ["aws_db_instance", "aws_rds_cluster"])
def test_a_database_may_go_only_with_a_final_snapshot(kind):
    kept = change(kind, ["delete"], {"skip_final_snapshot": False, "final_snapshot_identifier": "edp-final"}, "kept")
    lost = change(kind, ["delete"], {"skip_final_snapshot": True}, "lost")
    unknown = change(kind, ["delete"], {}, "unknown")  # no state to tell: refused
    assert data_loss(plan(kept, lost, unknown)) == [
        f"module.m.{kind}.lost ({kind}) would be deleted without a final snapshot",
        f"module.m.{kind}.unknown ({kind}) would be deleted without a final snapshot",
    ]


def test_a_secret_deleted_at_once_is_refused():
    """A secret deleted with recovery_window_in_days = 0 is gone; a scheduled deletion can be cancelled."""
    kind = "aws_secretsmanager_secret"
    at_once = change(kind, ["delete"], {"name": "edp-dev-db", "recovery_window_in_days": 0}, "at_once")
    unknown = change(kind, ["delete"], None, "unknown")
    scheduled = change(kind, ["delete"], {"name": "edp-dev-api", "recovery_window_in_days": 7}, "scheduled")
    assert data_loss(plan(at_once, unknown, scheduled)) == [
        f"module.m.{kind}.at_once ({kind}) would be deleted without a recovery window",
        f"module.m.{kind}.unknown ({kind}) would be deleted without a recovery window",
    ]


def test_turning_a_session_off_passes():
    """What `down` deletes (tests/environments run it for real): compute, a database with its final snapshot and
    a secret with a recovery window. The serving namespace is the foundation's, so no session plan deletes it."""
    teardown = plan(
        change("aws_redshiftserverless_workgroup", ["delete"]), change("aws_redshiftserverless_usage_limit", ["delete"]),
        change("aws_db_instance", ["delete"], {"skip_final_snapshot": False, "final_snapshot_identifier": "edp-final"}),
        change("aws_secretsmanager_secret", ["delete"], {"name": "edp-dev-dms-source-20261123090000",
                                                         "recovery_window_in_days": 7}),
        change("aws_secretsmanager_secret_version", ["delete"]), change("aws_dms_replication_task", ["delete"]),
    )
    assert data_loss(teardown) == []
