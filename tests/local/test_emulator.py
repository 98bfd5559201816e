"""The local AWS emulator: a real moto server on loopback, with ValidateStateMachineDefinition supplied."""

from __future__ import annotations

import json
import socket

import pytest

from edp.settings import REPO_ROOT
from edp_dev.emulator.server import AwsEmulator, diagnose

pytestmark = pytest.mark.integration  # the AWS emulator

ASL = REPO_ROOT / "terraform" / "modules" / "step_functions" / "definition.asl.json"


@pytest.fixture(scope="module")
def emulator():
    with AwsEmulator() as emu:
        yield emu


def test_serves_aws_apis_on_loopback(emulator):
    assert emulator.endpoint.startswith("http://127.0.0.1:")
    s3 = emulator.client("s3")
    s3.create_bucket(Bucket="edp-bronze", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["edp-bronze"]


def test_validate_state_machine_definition_is_supplied(emulator):
    sfn = emulator.client("stepfunctions")
    ok = sfn.validate_state_machine_definition(definition=ASL.read_text(), type="STANDARD")
    assert ok["result"] == "OK" and ok["diagnostics"] == []
    broken = json.loads(ASL.read_text())
    broken["States"]["crawl_silver"]["Next"] = "nowhere"
    bad = sfn.validate_state_machine_definition(definition=json.dumps(broken), type="STANDARD")
    assert bad["result"] == "FAIL"
    assert any("'nowhere'" in d["message"] for d in bad["diagnostics"])


def test_list_state_machine_versions_is_supplied(emulator):
    assert emulator.client("stepfunctions").list_state_machine_versions(
        stateMachineArn="arn:aws:states:eu-central-1:123456789012:stateMachine:x")["stateMachineVersions"] == []


def test_diagnose_catches_structural_errors():
    assert diagnose("{not json")[0]["code"] == "INVALID_JSON_DESCRIPTION"
    doc = {"StartAt": "a", "States": {"a": {"Type": "Task", "Resource": "x"}, "b": {"Type": "Bogus"}}}
    messages = " ".join(d["message"] for d in diagnose(json.dumps(doc)))
    assert "neither Next nor End" in messages and "unknown Type 'Bogus'" in messages
    inner = {"StartAt": "m", "States": {"m": {"Type": "Map", "End": True, "ItemProcessor": {
        "StartAt": "x", "States": {"x": {"Type": "Pass", "Next": "gone"}}}}}}
    assert "'gone'" in diagnose(json.dumps(inner))[0]["message"]


def test_stop_releases_the_port():
    emu = AwsEmulator()
    emu.start()
    emu.stop()
    with socket.socket() as s:
        s.bind(("127.0.0.1", emu.port))


def test_glue_delete_connection_is_supplied(emulator):
    glue = emulator.client("glue")
    glue.create_connection(ConnectionInput={"Name": "vpc", "ConnectionType": "NETWORK", "ConnectionProperties": {}})
    glue.delete_connection(ConnectionName="vpc")
    with pytest.raises(glue.exceptions.EntityNotFoundException):
        glue.get_connection(Name="vpc")
    with pytest.raises(glue.exceptions.EntityNotFoundException):
        glue.delete_connection(ConnectionName="vpc")
