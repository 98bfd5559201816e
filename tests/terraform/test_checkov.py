"""checkov over everything under terraform/: no failed check that is not fixed, or skipped in the code with a
written reason (`#checkov:skip=CKV_...:<why>` inside the resource).

checkov runs from its own venv (`.edp/tools/checkov`, pinned by scripts/setup.sh), offline: `--skip-download`
(no Prisma Cloud policies) and no external module downloads. `.terraform/` folders are left out (checkov's
default), so a local `terraform init` changes nothing.

Each module's `examples/complete` is scanned too, on purpose: the examples are runnable code in the repo, and
checkov evaluates a module's resources through the example that calls it (its variables resolved), which is
closer to a real apply than the module on its own. What the examples create only to stand in for another
module (a bare KMS key or bucket for the emulator) is skipped there, saying so.
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from edp.settings import REPO_ROOT

TERRAFORM = REPO_ROOT / "terraform"
CHECKOV = REPO_ROOT / ".edp" / "tools" / "checkov" / "bin" / "checkov"
SKIP = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?")


@pytest.mark.integration  # an external scanner over the whole tree
@pytest.mark.skipif(not CHECKOV.exists(), reason=f"checkov venv absent ({CHECKOV}): run `make setup`")
def test_checkov_finds_nothing_unfixed_or_unexplained():
    proc = subprocess.run(
        [str(CHECKOV), "--directory", str(TERRAFORM), "--framework", "terraform", "--skip-download",
         "--download-external-modules", "false", "--quiet", "--compact", "--output", "json"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode in (0, 1), f"checkov failed to run ({proc.returncode}):\n{proc.stderr[-3000:]}"
    reports = json.loads(proc.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failures, parse_errors = [], []
    for report in reports:
        results = report.get("results", {})
        if report.get("summary", {}).get("parsing_errors"):
            parse_errors.append(report["summary"])
        for check in results.get("failed_checks", []):
            start = check["file_line_range"][0]
            failures.append(f"{check['check_id']} {check['resource']} terraform{check['file_path']}:{start} "
                            f"({check['check_name']})")
    assert not parse_errors, f"checkov could not parse: {parse_errors}"
    assert not failures, ("checkov findings: fix them, or skip in the resource with "
                          "`#checkov:skip=<id>:<reason>`\n" + "\n".join(sorted(failures)))


def test_every_skip_gives_its_reason():
    unexplained = []
    for path in sorted(TERRAFORM.rglob("*.tf")):
        if ".terraform" in path.parts:
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            match = SKIP.search(line)
            if match and len((match.group(2) or "").split()) < 4:
                unexplained.append(f"{path.relative_to(REPO_ROOT)}:{number}: {match.group(1)}")
    assert not unexplained, "checkov skips without a written reason (four words at least):\n" + "\n".join(unexplained)
