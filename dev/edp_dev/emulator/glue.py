"""Glue calls the AWS provider needs and moto 5 lacks, supplied before the emulator serves.

- `DeleteConnection`: moto creates and reads connections but cannot delete them, so destroying an
  `aws_glue_connection` (the Glue job's VPC placement) would retry forever and hold the subnets and
  security groups it uses.
- Crawls: moto finishes a crawl only when its crawls are listed, and then reports `COMPLETED`, a value
  the service never gives (it says `SUCCEEDED`, `CANCELLED` or `FAILED`); here reading the crawler moves
  the crawl on and a finished one reads `SUCCEEDED`, so GlueCrawlerOperator and the ASL's poll both end.
- `GetCrawlerMetrics` is missing (moto answers 500); GlueCrawlerOperator logs the metrics after every
  crawl. Here each crawler's metrics come from its crawls' start and end times (tables: none counted).
"""

from __future__ import annotations

import json


def install() -> None:
    _delete_connection()
    _crawls_finish()
    _crawler_metrics()


def _delete_connection() -> None:
    from moto.core.responses import ActionResult
    from moto.glue.exceptions import EntityNotFoundException
    from moto.glue.models import GlueBackend
    from moto.glue.responses import GlueResponse

    def backend_delete_connection(self, catalog_id: str, name: str) -> None:
        if name not in self.connections:
            raise EntityNotFoundException(f"Connection {name} not found")
        del self.connections[name]

    def delete_connection(self) -> ActionResult:
        self.glue_backend.delete_connection(catalog_id=self._get_param("CatalogId"),
                                            name=self._get_param("ConnectionName"))
        return ActionResult({})

    if not hasattr(GlueBackend, "delete_connection"):
        GlueBackend.delete_connection = backend_delete_connection
    if not hasattr(GlueResponse, "delete_connection"):
        GlueResponse.delete_connection = delete_connection


def _crawls_finish() -> None:
    from moto.glue.models import FakeCrawler

    if getattr(FakeCrawler, "_edp_patched", False):
        return
    FakeCrawler._edp_patched = True
    crawler_as_dict = FakeCrawler.as_dict

    def as_dict(self) -> dict:
        if self.crawls and self.crawls[-1].status == "RUNNING":
            self.crawls[-1].advance()  # a read moves a crawl on, as the service finishes it
        data = crawler_as_dict(self)
        if data.get("LastCrawl", {}).get("Status") == "COMPLETED":
            data["LastCrawl"]["Status"] = "SUCCEEDED"
        return data

    FakeCrawler.as_dict = as_dict


def _crawler_metrics() -> None:
    from moto.glue.responses import GlueResponse

    def get_crawler_metrics(self) -> str:
        names = self._get_param("CrawlerNameList") or list(self.glue_backend.crawlers)
        metrics = []
        for name in names:
            crawler = self.glue_backend.get_crawler(name)
            runs = [(c.end_time - c.start_time).total_seconds() for c in crawler.crawls if c.end_time]
            metrics.append({"CrawlerName": name, "TimeLeftSeconds": 0.0, "StillEstimating": False,
                            "LastRuntimeSeconds": runs[-1] if runs else 0.0,
                            "MedianRuntimeSeconds": sorted(runs)[len(runs) // 2] if runs else 0.0,
                            "TablesCreated": 0, "TablesUpdated": 0, "TablesDeleted": 0})
        return json.dumps({"CrawlerMetricsList": metrics})

    if not hasattr(GlueResponse, "get_crawler_metrics"):
        GlueResponse.get_crawler_metrics = get_crawler_metrics
