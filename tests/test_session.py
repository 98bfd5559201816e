"""Session requests and the next session state, as pure functions (the Terraform side is in
tests/terraform/test_environments.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from edp.session import Session, next_session, request_from_params
from edp.settings import ConfigError

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
UP = Session(modes=("ingestion",), started_at="2026-11-23T08:00:00+00:00", ttl_hours=2,
             scale={"dms_instance_class": "dms.t3.medium", "glue_workers": 2, "redshift_base_capacity": 8})


def test_up_starts_a_session_with_only_the_knobs_asked_for():
    request = request_from_params({"action": "up", "modes": ["serving", "ingestion"], "ttl_hours": 4,
                                   "glue_workers": 6, "dms_instance_class": None})
    assert request.modes == ("ingestion", "serving")  # canonical order
    assert next_session(request, Session(), NOW) == {
        "modes": ["ingestion", "serving"], "started_at": "2026-11-23T09:00:00+00:00", "ttl_hours": 4.0,
        "glue_workers": 6}


def test_up_on_a_running_session_adds_modes_and_keeps_start_and_scale():
    wanted = next_session(request_from_params({"action": "up", "modes": ["serving"], "ttl_hours": 8}), UP, NOW)
    assert wanted["modes"] == ["ingestion", "serving"]
    assert wanted["started_at"] == UP.started_at and wanted["ttl_hours"] == 8
    assert wanted["dms_instance_class"] == "dms.t3.medium"


def test_down_removes_named_modes_or_all():
    both = Session(**{**UP.__dict__, "modes": ("ingestion", "serving")})
    assert next_session(request_from_params({"action": "down", "modes": ["serving"]}), both, NOW)["modes"] == [
        "ingestion"]
    assert next_session(request_from_params({"action": "down", "modes": []}), both, NOW) == {"modes": []}
    assert next_session(request_from_params({"action": "down"}), Session(), NOW) == {"modes": []}


def test_scale_changes_knobs_of_a_running_session_only():
    wanted = next_session(request_from_params({"action": "scale", "redshift_base_capacity": 64}), UP, NOW)
    assert wanted["modes"] == ["ingestion"] and wanted["redshift_base_capacity"] == 64
    assert wanted["ttl_hours"] == UP.ttl_hours
    with pytest.raises(ConfigError, match="needs a session that is up"):
        next_session(request_from_params({"action": "scale", "glue_workers": 4}), Session(), NOW)


def test_expiry_follows_start_and_ttl():
    assert UP.expires_at() == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    assert not UP.expired(NOW) and UP.expired(datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
    assert not Session().expired(NOW)


def test_session_read_back_from_terraform_outputs():
    outputs = {"session": {"modes": ["serving"], "started_at": "2026-11-23T08:00:00+00:00", "ttl_hours": 3,
                           "scale": {"dms_instance_class": "dms.t3.medium", "glue_workers": 2,
                                     "redshift_base_capacity": 16}}}
    session = Session.from_outputs(outputs)
    assert session.modes == ("serving",) and session.scale["redshift_base_capacity"] == 16
    assert Session.from_outputs({"session": None}).modes == ()


@pytest.mark.parametrize(("params", "message"), [
    ({"action": "launch"}, "param action='launch'"),
    ({"action": "up", "modes": []}, "action up needs at least one mode"),
    ({"action": "up", "modes": ["warp"]}, "param modes=\\['warp'\\]"),
    ({"action": "up", "modes": ["ingestion"], "ttl_hours": 0}, "param ttl_hours=0"),
    ({"action": "up", "modes": ["ingestion"], "ttl_hours": 500}, "param ttl_hours=500"),
    ({"action": "up", "modes": ["ingestion"], "glue_workers": 1}, "param glue_workers=1"),
    ({"action": "up", "modes": ["ingestion"], "redshift_base_capacity": 12}, "multiple of 8"),
    ({"action": "up", "modes": ["ingestion"], "dms_instance_class": "dms.huge"}, "param dms_instance_class"),
])
def test_bad_requests_name_the_problem(params, message):
    with pytest.raises(ConfigError, match=message):
        request_from_params(params)
