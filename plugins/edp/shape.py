"""A task graph as nested series and parallel blocks: the shape Step Functions can run.

Step Functions runs states in sequence, branches in a Parallel state (which waits for all of them), and
items in a Map state; it has no "start this task when those two are done" across branches. A DAG whose
order is series-parallel (no "N": a->c, b->c, b->d without a->d) decomposes exactly into those blocks:

* a graph whose tasks fall into groups with no dependency between groups is the parallel composition of
  the groups (its weakly connected components);
* a graph whose tasks fall into groups each entirely before the next is their series composition (the
  connected components of its *incomparability* graph, ordered).

A graph that is neither (a "prime" graph, an N inside) cannot be expressed exactly. It is split into a
series of a down-closed part and the rest at the cut that adds the fewest orderings (pairs a before b
that the task list did not ask for); the added pairs are reported, never hidden, and no dependency of the
task list is dropped: a cut keeps every edge from the first part to the second, and none goes back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Leaf:
    task: str


@dataclass(frozen=True)
class Series:
    parts: tuple[Block, ...]


@dataclass(frozen=True)
class Parallel:
    branches: tuple[Block, ...]


Block = Leaf | Series | Parallel


@dataclass
class Shape:
    """The decomposition, and the orderings it had to add (empty when the graph is series-parallel)."""

    block: Block
    added: list[tuple[str, str]] = field(default_factory=list)


def decompose(tasks: Iterable[str], edges: Iterable[tuple[str, str]]) -> Shape:
    """Nested blocks for `tasks` (in the task list's order, which breaks ties) and `edges` (upstream, downstream)."""
    order = list(tasks)
    below = _closure(order, set(edges))
    added: list[tuple[str, str]] = []
    return Shape(_block(order, below, added), added)


def _closure(order: list[str], edges: set[tuple[str, str]]) -> dict[str, set[str]]:
    """For each task, every task that must finish before it (transitively)."""
    ups: dict[str, set[str]] = {t: set() for t in order}
    for up, down in edges:
        ups[down].add(up)
    below: dict[str, set[str]] = {}

    def visit(task: str) -> set[str]:
        if task not in below:
            below[task] = set()
            for up in ups[task]:
                below[task] |= {up} | visit(up)
        return below[task]

    for task in order:
        visit(task)
    return below


def _comparable(a: str, b: str, below: dict[str, set[str]]) -> bool:
    return a in below[b] or b in below[a]


def _components(nodes: list[str], linked) -> list[list[str]]:
    """Connected components of the graph on `nodes` whose adjacency is `linked(a, b)`, each in `nodes` order."""
    seen: set[str] = set()
    groups = []
    for start in nodes:
        if start in seen:
            continue
        group, stack = [], [start]
        seen.add(start)
        while stack:
            node = stack.pop()
            group.append(node)
            for other in nodes:
                if other not in seen and linked(node, other):
                    seen.add(other)
                    stack.append(other)
        groups.append(sorted(group, key=nodes.index))
    return groups


def _block(nodes: list[str], below: dict[str, set[str]], added: list[tuple[str, str]]) -> Block:
    if len(nodes) == 1:
        return Leaf(nodes[0])
    parallel = _components(nodes, lambda a, b: _comparable(a, b, below))
    if len(parallel) > 1:
        return Parallel(tuple(_block(g, below, added) for g in parallel))
    series = _components(nodes, lambda a, b: not _comparable(a, b, below))
    if len(series) > 1:  # each group entirely before the next: order the groups by any member
        series.sort(key=lambda g: sum(1 for other in series if other is not g and other[0] in below[g[0]]))
        return Series(tuple(_block(g, below, added) for g in series))
    first, rest, extra = _least_ordering_cut(nodes, below)
    added.extend(extra)
    return Series((_block(first, below, added), _block(rest, below, added)))


def _least_ordering_cut(nodes: list[str], below: dict[str, set[str]]) -> tuple[list[str], list[str], list[tuple[str, str]]]:
    """A down-closed part and the rest, at the cut adding the fewest orderings (ties: the task list's order).

    Candidates: the tasks at each depth and above, each task's ancestors with it, and everything that is
    not one task's descendant. Every candidate is down-closed, so no dependency points back across it."""
    inside = set(nodes)
    depth: dict[str, int] = {}
    for node in sorted(nodes, key=lambda n: len(below[n] & inside)):
        depth[node] = max((depth[u] + 1 for u in below[node] & inside), default=0)
    candidates = [{n for n in nodes if depth[n] <= d} for d in range(max(depth.values()))]
    candidates += [(below[n] & inside) | {n} for n in nodes]
    candidates += [{m for m in nodes if n not in below[m] and m != n} | {n} for n in nodes]
    best: tuple[int, list[str], list[str], list[tuple[str, str]]] | None = None
    for cut in candidates:
        if not cut or cut == inside or any(below[n] & inside - cut for n in cut):
            continue
        first = [n for n in nodes if n in cut]
        rest = [n for n in nodes if n not in cut]
        extra = [(a, b) for a in first for b in rest if a not in below[b]]
        if best is None or len(extra) < best[0]:
            best = (len(extra), first, rest, extra)
    assert best is not None, "a connected graph of two or more tasks always has a proper down-closed cut"
    return best[1], best[2], best[3]


def flatten(block: Block) -> list[str]:
    """The tasks of a block in rendering order."""
    if isinstance(block, Leaf):
        return [block.task]
    parts = block.parts if isinstance(block, Series) else block.branches
    return [t for p in parts for t in flatten(p)]


def implied_edges(block: Block) -> set[tuple[str, str]]:
    """Every (a, b) with a finishing before b starts when the block runs: what the rendering guarantees."""
    if isinstance(block, Leaf):
        return set()
    if isinstance(block, Parallel):
        return set().union(*(implied_edges(b) for b in block.branches))
    out: set[tuple[str, str]] = set()
    seen: list[str] = []
    for part in block.parts:
        tasks = flatten(part)
        out |= {(a, b) for a in seen for b in tasks} | implied_edges(part)
        seen += tasks
    return out
