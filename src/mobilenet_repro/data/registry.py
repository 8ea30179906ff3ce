"""The sources a data set's `source:` may name, each as "module:function", loaded on use.

The registry never imports a source: the workflow asks it for class counts on every
invocation (before any job), and a source's module may need Pillow, SciPy or a download
that a plain `snakemake -n` should not pay for. A new source is one module with a function
(name, spec, resources_dir) -> ImageDataset, and one entry here (or `register_source`, for
sources defined outside the package).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from mobilenet_repro.errors import DataError


@dataclass(frozen=True)
class Source:
    target: str  # "module:function" of the loader
    classes: int | None  # the class count when the source fixes it; None: the data decides


SOURCES: dict[str, Source] = {
    "sklearn_digits": Source("mobilenet_repro.data.digits:load_sklearn_digits", 10),
    "cifar10": Source("mobilenet_repro.data.cifar10:load_cifar10", 10),
    "mnist": Source("mobilenet_repro.data.mnist:load_mnist", 10),
    "stanford_dogs": Source("mobilenet_repro.data.stanford_dogs:load_stanford_dogs", 120),
    "image_folder": Source("mobilenet_repro.data.image_folder:load_image_folder", None),
}


def register_source(name: str, target: str, classes: int | None = None) -> None:
    """Add a source: `target` is "module:function", imported only when a data set uses it."""
    SOURCES[name] = Source(target, classes)


def source_classes(source: str) -> int | None:
    """Class count of a source when fixed, before any data is prepared; else None."""
    entry = SOURCES.get(source)
    return entry.classes if entry else None


def load_source(name: str, source: str | None) -> Callable:
    """The loader of `source` (datasets.<name>.source), imported now."""
    if source not in SOURCES:
        raise DataError(
            f"datasets.{name}.source: unknown source {source!r}; choose one of {sorted(SOURCES)}"
        )
    module, function = SOURCES[source].target.split(":")
    return getattr(importlib.import_module(module), function)
