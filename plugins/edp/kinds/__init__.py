"""The task kinds: one module each, registered here by name. A renderer asks `KINDS[task.kind]` for the
kind's arguments and renderings; adding a kind means adding its module and one line below (docs/kinds.md)."""

from __future__ import annotations

from edp.kinds import artifacts, cdc_ingest, dbt, glue_crawler, glue_job, quality_gate, serving_load
from edp.kinds.base import Arg, Kind

KINDS: dict[str, Kind] = {m.KIND.name: m.KIND for m in (
    cdc_ingest, glue_job, glue_crawler, dbt, quality_gate, serving_load, artifacts)}

__all__ = ["KINDS", "Arg", "Kind"]
