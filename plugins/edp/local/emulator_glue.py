"""Glue calls the AWS provider needs and moto 5 lacks, supplied before the emulator serves.

- `DeleteConnection`: moto creates and reads connections but cannot delete them, so destroying an
  `aws_glue_connection` (the Glue job's VPC placement) would retry forever and hold the subnets and
  security groups it uses.
- Crawls: moto finishes a crawl only when its crawls are listed, and then reports `COMPLETED`, a value
  the service never gives (it says `SUCCEEDED`, `CANCELLED` or `FAILED`); here reading the crawler moves
  the crawl on and a finished one reads `SUCCEEDED`, so GlueCrawlerOperator and the ASL's poll both end.
"""

from __future__ import annotations


def install() -> None:
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

    from moto.glue.models import FakeCrawler

    if not getattr(FakeCrawler, "_edp_patched", False):
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
    if not hasattr(GlueBackend, "delete_connection"):
        GlueBackend.delete_connection = backend_delete_connection
    if not hasattr(GlueResponse, "delete_connection"):
        GlueResponse.delete_connection = delete_connection
