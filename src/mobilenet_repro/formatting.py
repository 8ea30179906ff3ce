"""Numbers and values as the report (and the stage's verdict texts) print them.

The one place numbers are formatted: every integer is rounded (never truncated), a missing
value (None or NaN) prints as "-".
"""

from __future__ import annotations

import math


def missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def fmt_int(x) -> str:
    """An integer with thousands separators, rounded: 1,184,746."""
    return "-" if missing(x) else f"{int(round(float(x))):,}"


def fmt_pct(x, digits=1) -> str:
    """A fraction as a percentage without the sign: 0.8412 -> 84.1."""
    return "-" if missing(x) else f"{float(x) * 100:.{digits}f}"


def fmt_millions(x, digits=2) -> str:
    """Millions, with thousands separators: 4,231,976 -> 4.23; 15,470,264,713 -> 15,470.26."""
    return "-" if missing(x) else f"{float(x) / 1e6:,.{digits}f}"


def mean_std(mean, std, digits=1) -> str:
    """Fractions as percentages: mean ± std; one seed (no std) is the mean alone, never ± 0."""
    if std is None or std != std:  # NaN: one seed has no spread
        return f"{mean * 100:.{digits}f}"
    return f"{mean * 100:.{digits}f} ± {std * 100:.{digits}f}"


def short(x: float) -> str:
    """A magnitude for humans: 0.05M, 500M, 0.5, 1.2G."""
    x = float(x)
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:.4g}{suffix}"
    return f"{x:.4g}"


def text(x) -> str:
    """A cell as text; a missing one as empty."""
    return "" if missing(x) else str(x)


def as_bool(x) -> bool:
    """A boolean read back from a CSV (True or "True")."""
    return x is True or str(x) == "True"


# The data sources (data.registry's, and the published data sets of report/published.yaml)
# in words: the report names a source, never its id.
SOURCE_NAMES = {
    "sklearn_digits": "scikit-learn's bundled handwritten digits",
    "cifar10": "CIFAR-10",
    "mnist": "MNIST",
    "stanford_dogs": "Stanford Dogs",
    "imagenet": "ImageNet",
    "image_folder": "a folder of images, one folder per class",
}


def source_name(source: str) -> str:
    return SOURCE_NAMES.get(source, str(source).replace("_", " "))
