"""Nested groups expanded to the accounts they reach (SPEC §8), cycles found and named, never looped.

Pure: takes each group's direct accounts and direct child groups, returns each group's effective
accounts. Groups that contain each other (a strongly connected component) all reach the same
accounts; such a component is a cycle and is reported. Work is linear in groups and edges plus the
size of the sets built (Tarjan's algorithm, iterative so deep nesting cannot overflow the stack).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Expansion:
    members: dict[str, frozenset[str]]  # group -> every account reached, directly or through nesting
    cycles: tuple[tuple[str, ...], ...]  # groups that contain each other, each sorted; sorted


def expand(direct: Mapping[str, Sequence[str]], children: Mapping[str, Sequence[str]]) -> Expansion:
    """`direct[g]`: accounts directly in g; `children[g]`: groups directly in g. A child group that is
    not a key of `direct` reaches no accounts (the caller fetches every group it can first)."""
    components = _components(list(direct), children)
    component_of = {g: i for i, comp in enumerate(components) for g in comp}
    reached: list[frozenset[str]] = []
    cycles: list[tuple[str, ...]] = []
    # Tarjan emits components children-first, so every child component is done before its parents.
    for i, comp in enumerate(components):
        accounts: set[str] = set()
        for g in comp:
            accounts.update(direct.get(g, ()))
            for child in children.get(g, ()):
                j = component_of.get(child)
                if j is not None and j != i:
                    accounts |= reached[j]
        reached.append(frozenset(accounts))
        if len(comp) > 1 or any(g in children.get(g, ()) for g in comp):
            cycles.append(tuple(sorted(comp)))
    members = {g: reached[component_of[g]] for g in direct}
    return Expansion(members, tuple(sorted(cycles)))


def _components(nodes: list[str], children: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Strongly connected components of the groups reachable from `nodes`, children before parents."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    for root in nodes:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            kids = children.get(node, ())
            if i < len(kids):
                work.append((node, i + 1))
                child = kids[i]
                if child not in index:
                    work.append((child, 0))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            if low[node] == index[node]:
                comp = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    comp.append(top)
                    if top == node:
                        break
                out.append(comp)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return out
