"""Test-set noise of accuracies: binomial intervals from the number of test images.

A test top-1 over n images is a proportion; its 95% Wilson interval says how far another
draw of n test images could move it (about +-0.7 points at 10,000 images and 85%, +-4 at
359). Differences between two accuracies get the normal-approximation interval of a
difference of proportions. Both measure the test set's noise only; the spread between seeds
is on top of it, and is measured only from 3 seeds or more (two give a std that says little).
"""

from __future__ import annotations

import math

Z95 = 1.959963984540054
MIN_SEEDS_FOR_STD = 3


def wilson(correct: float, n: int, z: float = Z95) -> tuple[float, float]:
    """95% Wilson score interval of the proportion `correct / n` (fractions)."""
    if n <= 0:
        return math.nan, math.nan
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def difference_interval(p1: float, n1: int, p2: float, n2: int, z: float = Z95):
    """95% interval of p1 - p2 for accuracies (fractions) over n1 and n2 test predictions."""
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    d = p1 - p2
    return d - z * se, d + z * se


def interval_text(p: float, images: int, seeds: int = 1) -> str:
    """ "95% interval 84.49-85.89% over 10,000 test images" for an accuracy (fraction), over
    every seed's predictions of the test images when pooled."""
    n = images * seeds
    low, high = wilson(p * n, n)
    over = (
        f"{n:,} test images"
        if seeds == 1
        else f"{n:,} test predictions ({images:,} images x {seeds} seeds)"
    )
    return f"95% interval {low * 100:.2f}-{high * 100:.2f}% over {over}"
