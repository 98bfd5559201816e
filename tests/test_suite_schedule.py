"""The full suite's xdist scheduler (tests/conftest.py) hands out files in collection order, one file ahead.

The order is what keeps `make test` short: the longest files are collected first so they start first. xdist's
file scheduler re-sorts files by their number of tests unless told not to, which once put the three longest
files (two to four long tests each) behind dozens of quick ones and cost the suite five minutes."""

from __future__ import annotations

from types import SimpleNamespace

from tests.conftest import pytest_xdist_make_scheduler


class Worker:
    """What the scheduler sees of an xdist worker: it is sent test indexes and may be shut down."""

    def __init__(self, name: str):
        self.gateway = SimpleNamespace(id=name)
        self.shutting_down = False
        self.sent: list[list[int]] = []

    def send_runtest_some(self, indexes: list[int]) -> None:
        self.sent.append(list(indexes))

    def shutdown(self) -> None:
        self.shutting_down = True


def scheduler_for(workers: int):
    option = SimpleNamespace(loadscopereorder=True, tx=[f"{workers}*popen"])
    config = SimpleNamespace(option=option, getvalue=lambda name: getattr(option, name))
    return pytest_xdist_make_scheduler(config, log=None)


def test_files_go_out_in_collection_order_not_by_their_number_of_tests():
    # long.py: two long tests, collected first; many.py: four quick ones; xdist's default would send many.py first
    collection = ["long.py::a", "long.py::b", "many.py::a", "many.py::b", "many.py::c", "many.py::d", "last.py::a"]
    sched = scheduler_for(2)
    first, second = Worker("gw0"), Worker("gw1")
    for worker in (first, second):
        sched.add_node(worker)
        sched.add_node_collection(worker, collection)
    sched.schedule()
    assert first.sent == [[0, 1]], "the first file collected goes out first"
    assert second.sent == [[2, 3, 4, 5]]
    # one file ahead: a worker with two tests to run got no second file; once one is left it gets the next
    sched.mark_test_complete(first, 0)
    assert first.sent == [[0, 1], [6]]
