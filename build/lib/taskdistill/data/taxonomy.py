"""The 35-class event taxonomy (data in ``taxonomy.yaml``; rationale in ``docs/taxonomy.md``).

Every model answers with one ``label`` string; ``coarse`` maps any label to its generation category
so a 35-class prediction is also scored at the 13 coarse categories. ``resolve`` applies the
precedence rules when a headline reports several events.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml


@dataclass(frozen=True)
class EventClass:
    id: int
    label: str
    category: str
    priority: int
    definition: str
    precedence: str


@dataclass(frozen=True)
class Taxonomy:
    categories: tuple[str, ...]
    classes: tuple[EventClass, ...]

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(c.label for c in self.classes)

    def index(self, label: str) -> int:
        try:
            return self._by_label()[label].id
        except KeyError:
            raise KeyError(f"unknown label {label!r}; not one of the {len(self.classes)} classes") from None

    def coarse(self, label: str) -> str:
        """Coarse (generation) category of a fine label."""
        try:
            return self._by_label()[label].category
        except KeyError:
            raise KeyError(f"unknown label {label!r}; not one of the {len(self.classes)} classes") from None

    def resolve(self, labels: list[str]) -> str:
        """The label that wins when a headline reports all of ``labels`` (lowest priority number)."""
        if not labels:
            raise ValueError("resolve() needs at least one label")
        by = self._by_label()
        return min(labels, key=lambda lab: (by[lab].priority, by[lab].id))

    def _by_label(self) -> dict[str, EventClass]:
        return {c.label: c for c in self.classes}


@cache
def load_taxonomy() -> Taxonomy:
    raw = yaml.safe_load(resources.files("taskdistill.data").joinpath("taxonomy.yaml").read_text())
    classes = tuple(EventClass(**c) for c in raw["classes"])
    cats = tuple(raw["categories"])
    assert [c.id for c in classes] == list(range(len(classes))), "class ids must be 0..N-1 in order"
    assert len({c.label for c in classes}) == len(classes), "labels must be unique"
    assert {c.category for c in classes} == set(cats), "every category needs a class and vice versa"
    return Taxonomy(categories=cats, classes=classes)


TAXONOMY = load_taxonomy()
LABELS: tuple[str, ...] = TAXONOMY.labels
CATEGORIES: tuple[str, ...] = TAXONOMY.categories


def coarse(label: str) -> str:
    return TAXONOMY.coarse(label)
