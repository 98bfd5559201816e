"""The network module against the local AWS emulator: two AZs of public and private subnets, private egress
only through the NAT, S3 through the gateway endpoint, and security groups that open only tier-to-tier."""

from __future__ import annotations

import pytest

from tests.terraform.conftest import applied_example, requires_terraform

pytestmark = [requires_terraform, pytest.mark.integration]


@pytest.fixture(scope="module")
def applied(tmp_path_factory):
    with applied_example(tmp_path_factory.mktemp("tf"), "network") as applied:
        yield applied


def test_subnets_span_two_azs_and_routes_go_the_right_way(applied):
    emulator, out = applied
    ec2 = emulator.client("ec2")
    private = ec2.describe_subnets(SubnetIds=out["private_subnet_ids"])["Subnets"]
    public = ec2.describe_subnets(SubnetIds=out["public_subnet_ids"])["Subnets"]
    assert {s["AvailabilityZone"] for s in private} == {s["AvailabilityZone"] for s in public} == \
        {"eu-central-1a", "eu-central-1b"}
    assert not any(s["MapPublicIpOnLaunch"] for s in private + public)
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [out["vpc_id"]]}])["RouteTables"]

    def table_of(subnet_id):
        return next(t for t in tables if any(a.get("SubnetId") == subnet_id for a in t["Associations"]))

    for subnet in out["private_subnet_ids"]:
        routes = table_of(subnet)["Routes"]
        default = [r for r in routes if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
        assert default and default[0].get("NatGatewayId"), "private subnets leave through the NAT only"
        assert not any(r.get("GatewayId", "").startswith("igw-") for r in routes)
    for subnet in out["public_subnet_ids"]:
        assert any(r.get("GatewayId", "").startswith("igw-") for r in table_of(subnet)["Routes"])
    endpoint = ec2.describe_vpc_endpoints(VpcEndpointIds=[out["s3_endpoint_id"]])["VpcEndpoints"][0]
    assert endpoint["ServiceName"].endswith(".s3") and endpoint["VpcEndpointType"] == "Gateway"
    assert table_of(out["private_subnet_ids"][0])["RouteTableId"] in endpoint["RouteTableIds"]


def test_security_groups_open_only_tier_to_tier(applied):
    emulator, out = applied
    ec2 = emulator.client("ec2")
    groups = {g["GroupId"]: g for g in ec2.describe_security_groups(GroupIds=list(out["security_group_ids"].values()))[
        "SecurityGroups"]}
    sg = out["security_group_ids"]
    rds = groups[sg["rds"]]
    (rule,) = rds["IpPermissions"]
    assert (rule["FromPort"], rule["ToPort"]) == (5432, 5432)
    assert [p["GroupId"] for p in rule["UserIdGroupPairs"]] == [sg["dms"]] and rule["IpRanges"] == []
    assert rds["IpPermissionsEgress"] == [], "the database tier sends nothing"
    for tier, group in ((t, groups[i]) for t, i in sg.items()):
        for perm in group["IpPermissions"]:
            assert all(r["CidrIp"] != "0.0.0.0/0" for r in perm["IpRanges"]), f"{tier} is open to the world"
    alb = groups[sg["alb"]]["IpPermissions"]
    assert [(p["FromPort"], [r["CidrIp"] for r in p["IpRanges"]]) for p in alb] == [(443, ["203.0.113.0/24"])]
    default = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [out["vpc_id"]]},
                                                    {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"][0]
    assert default["IpPermissions"] == [] and default["IpPermissionsEgress"] == []


def test_every_flow_is_logged_to_an_encrypted_log_group_kept_a_year(applied):
    emulator, out = applied
    (flow_log,) = emulator.client("ec2").describe_flow_logs(
        Filters=[{"Name": "resource-id", "Values": [out["vpc_id"]]}])["FlowLogs"]
    assert flow_log["TrafficType"] == "ALL" and flow_log["LogDestinationType"] == "cloud-watch-logs"
    (group,) = emulator.client("logs").describe_log_groups(logGroupNamePrefix=out["flow_log_group_name"])["logGroups"]
    assert flow_log["LogDestination"] == group["arn"].removesuffix(":*")
    assert flow_log["DeliverLogsPermissionArn"].endswith(":role/edp-example-vpc-flow-logs")
    assert group["retentionInDays"] >= 365 and group["kmsKeyId"] == out["kms_key_arn"]
