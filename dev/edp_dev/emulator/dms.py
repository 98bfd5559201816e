"""DMS calls and behaviour the AWS provider needs and moto 5 lacks, supplied before the emulator serves.

- Timestamps: moto writes `InstanceCreateTime`, `ReplicationTaskCreationDate` ... as ISO strings;
  the DMS JSON protocol sends epoch seconds, and the provider's (Go) SDK refuses anything else.
- `ModifyEndpoint` is missing; `aws_dms_s3_endpoint` calls it right after creating (the service
  ignores the SSE-KMS key on create), and every in-place endpoint change uses it.
- Task status: moto leaves a new task `creating` forever; the service moves it to `ready`, which
  the provider waits for.  Endpoints likewise move from `creating` to `active`.
- Replication subnet groups: moto forgets the subnets and reports `subnet-12345` in `vpc-12345`; here
  a group reports the subnets it was given, with their AZs and VPC from the EC2 backend, and its
  tags are found under its ARN (`...:subgrp:<id>`), where clients look.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

_SETTINGS = ("S3Settings", "PostgreSQLSettings", "DmsTransferSettings", "KinesisSettings", "KafkaSettings",
             "MongoDbSettings", "RedshiftSettings", "MySQLSettings", "OracleSettings", "ElasticsearchSettings",
             "NeptuneSettings", "DynamoDbSettings", "RedisSettings", "TimestreamSettings")
_FIELDS = {"EndpointIdentifier": "endpoint_identifier", "EndpointType": "endpoint_type", "EngineName": "engine_name",
           "Username": "username", "Password": "password", "ServerName": "server_name", "Port": "port",
           "DatabaseName": "database_name", "ExtraConnectionAttributes": "extra_connection_attributes",
           "CertificateArn": "certificate_arn", "SslMode": "ssl_mode",
           "ServiceAccessRoleArn": "service_access_role_arn", "ExternalTableDefinition": "external_table_definition"}


def epoch(value: Any) -> Any:
    """An ISO timestamp as the epoch seconds the DMS JSON protocol carries; anything else unchanged."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).timestamp()
        except ValueError:
            return value
    return value


def _with_epochs(to_dict, keys: tuple[str, ...], nested: str | None = None, nested_keys: tuple[str, ...] = ()):
    def wrapped(self) -> dict:
        out = to_dict(self)
        for key in keys:
            out[key] = epoch(out.get(key))
        if nested and isinstance(out.get(nested), dict):
            out[nested] = {k: epoch(v) if k in nested_keys else v for k, v in out[nested].items()}
        return {k: v for k, v in out.items() if v is not None}
    return wrapped


def modify_endpoint(self) -> str:
    params = json.loads(self.body)
    endpoint = next((e for e in self.dms_backend.endpoints.values() if e.endpoint_arn == params.get("EndpointArn")),
                    None)
    if endpoint is None:
        from moto.dms.exceptions import ResourceNotFoundFault

        raise ResourceNotFoundFault("Endpoint could not be found.")
    for key, attr in _FIELDS.items():
        if key in params:
            setattr(endpoint, attr, params[key])
    for key in _SETTINGS:
        if key in params:
            attr = _settings_attr(key)
            current = {} if params.get("ExactSettings") else dict(getattr(endpoint, attr, None) or {})
            setattr(endpoint, attr, {**current, **params[key]})
    if params.get("EndpointIdentifier"):  # the backend keys endpoints by identifier
        backend = self.dms_backend.endpoints
        for key in [k for k, e in backend.items() if e is endpoint]:
            del backend[key]
        backend[endpoint.endpoint_identifier] = endpoint
    return json.dumps({"Endpoint": {k: v for k, v in endpoint.to_dict().items() if v is not None}})


def _settings_attr(key: str) -> str:
    special = {"PostgreSQLSettings": "postgre_sql_settings", "MySQLSettings": "my_sql_settings",
               "MongoDbSettings": "mongo_db_settings", "DynamoDbSettings": "dynamo_db_settings",
               "S3Settings": "s3_settings"}
    if key in special:
        return special[key]
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in key).lstrip("_")


def install() -> None:
    """Patch moto's DMS backend and responses (idempotent)."""
    from moto.dms import models
    from moto.dms.responses import DatabaseMigrationServiceResponse

    if getattr(models, "_edp_patched", False):
        return
    models._edp_patched = True
    models.FakeReplicationInstance.to_dict = _with_epochs(
        models.FakeReplicationInstance.to_dict, ("InstanceCreateTime", "FreeUntil"))
    models.FakeReplicationTask.to_dict = _with_epochs(
        models.FakeReplicationTask.to_dict, ("ReplicationTaskCreationDate", "ReplicationTaskStartDate"),
        "ReplicationTaskStats", ("FreshStartDate", "StartDate", "StopDate", "FullLoadStartDate", "FullLoadFinishDate"))
    if not hasattr(DatabaseMigrationServiceResponse, "modify_endpoint"):
        DatabaseMigrationServiceResponse.modify_endpoint = modify_endpoint
    _settle_statuses(models.DatabaseMigrationServiceBackend)
    _keep_subnets(models)


def _settle_statuses(backend) -> None:
    """New tasks become `ready` and new endpoints `active` when described, as the service settles them."""
    describe_tasks, describe_endpoints = backend.describe_replication_tasks, backend.describe_endpoints

    def describe_replication_tasks(self, filters, max_records):
        tasks = describe_tasks(self, filters, max_records)
        for task in [t for t in tasks if t.status == "creating"]:
            task.ready()
        return tasks

    def describe_active_endpoints(self, filters, max_records, marker):
        endpoints = describe_endpoints(self, filters, max_records, marker)
        for endpoint in [e for e in endpoints if e.status == "creating"]:
            endpoint.status = "active"
        return endpoints

    backend.describe_replication_tasks = describe_replication_tasks
    backend.describe_endpoints = describe_active_endpoints


def _keep_subnets(models) -> None:
    """Replication subnet groups remember their subnets and answer with them (and their AZs and VPC)."""
    create_group = models.DatabaseMigrationServiceBackend.create_replication_subnet_group
    group_to_dict = models.FakeReplicationSubnetGroup.to_dict

    def create_replication_subnet_group(self, replication_subnet_group_identifier, replication_subnet_group_description,
                                        subnet_ids, tags=None):
        group = create_group(self, replication_subnet_group_identifier, replication_subnet_group_description,
                             subnet_ids, tags)
        group.subnetIds = list(subnet_ids or [])
        group.edp_location = (self.account_id, self.region_name)
        if tags:  # moto tags the bare identifier; clients list a group's tags by its ARN
            arn = f"arn:aws:dms:{self.region_name}:{self.account_id}:subgrp:{replication_subnet_group_identifier}"
            self.tagger.tag_resource(arn, tags)
        return group

    def subnet_group_to_dict(self) -> dict:
        out = group_to_dict(self)
        location = getattr(self, "edp_location", None)
        if location and self.subnetIds:
            from moto.ec2.models import ec2_backends

            ec2 = ec2_backends[location[0]][location[1]]
            subnets = [ec2.get_subnet(subnet_id) for subnet_id in self.subnetIds]
            out["VpcId"] = subnets[0].vpc_id
            out["Subnets"] = [{"SubnetIdentifier": s.id, "SubnetAvailabilityZone": {"Name": s.availability_zone},
                               "SubnetStatus": "Active"} for s in subnets]
        return out

    models.DatabaseMigrationServiceBackend.create_replication_subnet_group = create_replication_subnet_group
    models.FakeReplicationSubnetGroup.to_dict = subnet_group_to_dict
