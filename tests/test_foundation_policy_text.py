"""Least privilege the foundation's IAM statements promise, read from the Terraform text.

The MWAA pipeline policy exists only in a foundation plan (a system test), and the emulator does not evaluate
IAM, so the scoping that matters is checked here on the source: what is asserted is what the text says."""

from __future__ import annotations

import re

from tests.conftest import REPO_ROOT

STACKS = REPO_ROOT / "terraform" / "stacks"


def statement(text: str, sid: str) -> str:
    """The body of the `statement { sid = "<sid>" ... }` block (balanced braces from its opening line)."""
    start = text.rindex("statement {", 0, text.index(f'"{sid}"'))
    depth = 0
    for end in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[end], 0)
        if depth == 0 and text[end] == "}":
            return text[start:end + 1]
    raise AssertionError(f"statement {sid} is not closed")


def test_mwaa_drives_only_this_platforms_replication_tasks():
    """dms:Start/StopReplicationTask on `task:*` is limited by the tag every session resource carries."""
    body = statement((STACKS / "foundation" / "main.tf").read_text(), "DriveReplicationTask")
    assert "dms:StopReplicationTask" in body and ":task:*" in body
    condition = re.search(r"condition\s*{(.*?)}", body, re.DOTALL)
    assert condition, "DriveReplicationTask needs a condition"
    assert re.search(r'test\s*=\s*"StringEquals"', condition[1])
    assert re.search(r'variable\s*=\s*"aws:ResourceTag/edp:platform"', condition[1])
    assert re.search(r"values\s*=\s*\[local\.name_prefix\]", condition[1])
    # the tag's value on the session side is the same name prefix, handed over through session_inputs
    session = (STACKS / "session" / "main.tf").read_text()
    assert re.search(r'"edp:platform"\s*=\s*local\.f\.name_prefix', session)
    assert re.search(r"name_prefix\s*=\s*local\.name_prefix", (STACKS / "foundation" / "outputs.tf").read_text())
