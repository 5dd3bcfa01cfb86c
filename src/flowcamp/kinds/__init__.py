"""Exercise kinds as plug-ins: the only place in flowcamp that knows what a kind does.

Everything else asks :func:`kind_of` for an exercise's :class:`~flowcamp.kinds.base.Kind` and calls its
methods; nothing outside this package branches on ``exercise.kind``.
"""

from __future__ import annotations

from flowcamp.course import KINDS, Exercise
from flowcamp.kinds.base import Kind
from flowcamp.kinds.code import CodeKind
from flowcamp.kinds.git import GitKind
from flowcamp.kinds.notebook import NotebookKind
from flowcamp.kinds.prefect import PrefectKind

REGISTRY: dict[str, Kind] = {k.name: k for k in (CodeKind(), GitKind(), NotebookKind(), PrefectKind())}
assert set(REGISTRY) == set(KINDS), "flowcamp.course.KINDS and the kinds package disagree"


def kind_of(ex: Exercise) -> Kind:
    return REGISTRY[ex.kind]


def all_kinds() -> list[Kind]:
    return list(REGISTRY.values())


__all__ = ["Kind", "REGISTRY", "kind_of", "all_kinds"]
