"""The aws operators' deferrals resume with their state both ways Airflow resumes a task: the triggerer puts
the event next to the deferral's kwargs, `airflow dags test` passes the event alone."""

import asyncio

from edp.aws.triggers import LookAgainTrigger


def test_the_poll_state_comes_back_as_the_event():
    state = {"arn": "arn:aws:dms:eu-central-1:1:task:x", "start_type": "resume-processing", "since": 1.5}
    trigger = LookAgainTrigger(0.01, state)
    path, kwargs = trigger.serialize()
    module, name = path.rsplit(".", 1)
    rebuilt = getattr(__import__(module, fromlist=[name]), name)(**kwargs)

    async def first():
        async for event in rebuilt.run():
            return event

    assert asyncio.run(first()).payload == state
