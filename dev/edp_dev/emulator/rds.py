"""RDS behaviour the AWS provider reads back and moto 5 drops, supplied before the emulator serves.

- Parameter groups: parameters set through ModifyDBParameterGroup carry no `Source`; the service
  reports `user`, and the provider keeps only user (or configured) parameters in state, so without
  it every plan wants to set them again.
- Performance Insights: moto ignores `EnablePerformanceInsights` and its KMS key and retention on
  create and modify; the service reports them on the instance.
- Managed master secret: moto fills every one with `{"username": "admin", "password": "P@55w0rd!"}`;
  RDS stores the instance's own master username and a password it generates, different every time,
  so a test can tell that password apart from anything else (e.g. look for it in Terraform state).
"""

from __future__ import annotations

import json
import secrets
from typing import Any

_PI = ("performance_insights_kms_key_id", "performance_insights_retention_period")


def install() -> None:
    """Patch moto's RDS models (idempotent)."""
    from moto.rds import models

    if getattr(models, "_edp_patched", False):
        return
    models._edp_patched = True

    update_parameters = models.DBParameterGroup.update_parameters

    def update_user_parameters(self, new_parameters) -> None:
        new_parameters = [{"Source": "user", **p} for p in new_parameters]
        update_parameters(self, new_parameters)

    init = models.DBInstance.__init__

    def init_with_insights(self, backend, **kwargs: Any) -> None:
        init(self, backend, **kwargs)
        _set_insights(self, kwargs)

    update = models.DBInstance.update

    def update_with_insights(self, *args: Any, **kwargs: Any) -> None:
        update(self, *args, **kwargs)
        _set_insights(self, kwargs)

    def managed_secret_string(self) -> str:
        username = getattr(self.resource, "master_username", None) or "admin"
        return json.dumps({"username": username, "password": secrets.token_urlsafe(21)})

    models.DBParameterGroup.update_parameters = update_user_parameters
    models.MasterUserSecret._generate_secret_string = managed_secret_string
    models.DBInstance.__init__ = init_with_insights
    models.DBInstance.update = update_with_insights


def _set_insights(instance, kwargs: dict[str, Any]) -> None:
    if kwargs.get("enable_performance_insights") is not None:
        instance.performance_insights_enabled = bool(kwargs["enable_performance_insights"])
    elif not hasattr(instance, "performance_insights_enabled"):
        instance.performance_insights_enabled = False
    for key in _PI:
        if kwargs.get(key) is not None:
            setattr(instance, key, kwargs[key])
