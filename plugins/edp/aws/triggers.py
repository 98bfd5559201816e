"""Triggers of our own for the aws target's operators.

`LookAgainTrigger` waits and hands the operator's poll state back as its event. The state travels in the
event, not in the deferral's kwargs: the triggerer puts the event under `event` next to those kwargs, and
`airflow dags test` resumes with the event alone, so state kept anywhere else would be lost in one or the other.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent


class LookAgainTrigger(BaseTrigger):
    """Fires once after `seconds` with `state` as its payload: a poll loop that holds no worker slot."""

    def __init__(self, seconds: float, state: dict[str, Any]):
        super().__init__()
        self.seconds = seconds
        self.state = state

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return f"{type(self).__module__}.{type(self).__name__}", {"seconds": self.seconds, "state": self.state}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        await asyncio.sleep(self.seconds)
        yield TriggerEvent(self.state)
