"""The price list a run's cost estimate is computed with: on-demand list prices of the services a run uses, for
one region, as of one date.

Prices change and differ by region, so the table says which region and date it holds, and the estimate
carries both next to its figures. Refresh it from the AWS pricing pages (each line names its page) when the
region or the date is too far from the deployment's; the sizes (Fargate task, instance classes, RPUs) are
the modules' defaults and dev's values (terraform/environments/dev.tfvars).

Checked on 2026-12-01 (CHECKED) against the public sources that could be read then, per line below:
- the billing rules (units, per-second billing, the minimums) agree with the services' pages and docs:
  Glue jobs per DPU-hour, per second, 1-minute minimum, crawlers 10-minute minimum
  (https://aws.amazon.com/glue/pricing/); a worker's DPUs (G.1X = 1 ... G.8X = 8,
  https://docs.aws.amazon.com/glue/latest/dg/worker-types.html); Athena per TB scanned with a 10 MB minimum
  per query (https://aws.amazon.com/athena/pricing/); Fargate per second with a 1-minute minimum
  (https://aws.amazon.com/fargate/pricing/); Redshift Serverless per RPU-hour, per second, 60-second minimum,
  base capacity from 8 RPUs (https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-billing.html);
- the sizes agree with the repo: dev.tfvars names db.t4g.medium, dms.t3.medium and 8 base RPUs, the
  containers module's dbt task is 1024 CPU units / 2048 MiB, the processing module's workers are G.1X;
- the rates: the sources readable then state only us-east-1's list rates (Glue $0.44 per DPU-hour, Athena
  $5 per TB, Fargate $0.04048 per vCPU-hour and $0.004445 per GB-hour), which are not this region's; the
  eu-central-1 rates below are kept as read on AS_OF and were not re-confirmed. Before trusting a total to
  the cent, compare them with the AWS Price List API (`aws pricing get-products --region us-east-1
  --service-code AWSGlue --filters Type=TERM_MATCH,Field=regionCode,Value=eu-central-1`, likewise AmazonAthena,
  AmazonECS, AWSDatabaseMigrationSvc, AmazonRDS, AmazonRedshift).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Price:
    """One priced quantity: `usd` per `unit`. A use is (amount, multiplier), e.g. (job seconds, DPUs): each use
    is billed for at least `minimum` of its amount (a Glue job run's first minute), times its multiplier."""

    usd: float
    unit: str
    source: str
    minimum: float = 0.0


REGION = "eu-central-1"
AS_OF = "2025-06-01"   # the date the rates were read for REGION
CHECKED = "2026-12-01"  # the billing rules and sizes re-checked (see above); the rates not re-confirmed
CURRENCY = "USD"

PRICES: dict[str, Price] = {
    # Glue jobs: per DPU-hour, billed per second with a 1-minute minimum (Glue 2.0+); a G.1X worker is 1 DPU
    # (us-east-1 lists $0.44; this is the rate read for REGION on AS_OF)
    "glue_job_seconds": Price(0.52 / 3600, "DPU-second", "https://aws.amazon.com/glue/pricing/", minimum=60),
    # Glue crawlers: per DPU-hour, billed per second with a 10-minute minimum per crawler run (counted as 1 DPU)
    "crawler_seconds": Price(0.52 / 3600, "DPU-second", "https://aws.amazon.com/glue/pricing/", minimum=600),
    # Athena (SQL queries): per TB scanned, at least 10 MB per query
    "athena_bytes_scanned": Price(5.00 / 1e12, "byte scanned", "https://aws.amazon.com/athena/pricing/",
                                  minimum=10 * 1024 * 1024),
    # Fargate (the dbt task: 1 vCPU, 2 GB, the containers module's defaults): per second, 1-minute minimum
    "ecs_task_seconds": Price((1 * 0.04656 + 2 * 0.00511) / 3600, "task-second (1 vCPU, 2 GB)",
                              "https://aws.amazon.com/fargate/pricing/", minimum=60),
    # the ingestion session: DMS dms.t3.medium and RDS PostgreSQL db.t4g.medium (single-AZ), per hour
    "dms_hours": Price(0.0964, "instance-hour (dms.t3.medium)", "https://aws.amazon.com/dms/pricing/"),
    "rds_hours": Price(0.074, "instance-hour (db.t4g.medium)", "https://aws.amazon.com/rds/postgresql/pricing/"),
    # the serving session: Redshift Serverless at base capacity (8 RPUs), per RPU-hour, 60-second minimum
    "redshift_seconds": Price(0.45 / 3600, "RPU-second", "https://aws.amazon.com/redshift/pricing/",
                                  minimum=60),
}
