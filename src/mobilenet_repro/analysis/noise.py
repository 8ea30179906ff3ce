"""Noise of accuracies: the test set's and the seeds'.

A test top-1 over n images is a proportion; its 95% Wilson interval says how far another
draw of n test images could move it (about +-0.7 points at 10,000 images and 85%, +-4 at
359). Every seed predicts the same test images, so seeds are never pooled as if they were
more images: one or two seeds get each seed's own interval; a mean over three or more seeds
gets an interval that adds the test set's variance (over n images, once) to the seeds'
(Student's t over the seeds), and so does a difference between two such means. Two seeds
measure no spread: a difference between models needs three seeds of each to be a finding.
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


# Student's t at 97.5% by degrees of freedom (two-sided 95%), for 2 to 30 seeds.
_T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
         9: 2.262, 10: 2.228, 15: 2.131, 20: 2.086, 29: 2.045}  # fmt: skip


def t975(df: int) -> float:
    """Student's t quantile for a two-sided 95% interval (the nearest tabulated df below)."""
    return _T975[max(k for k in _T975 if k <= max(df, 1))] if df < 30 else Z95


def _seed_variance(values) -> float:
    """Variance of the mean over seeds, t-scaled to a normal quantile. Below three seeds the
    spread is not measured (0): such an interval is the test set's alone, and a relation
    on it is not yet a finding (MIN_SEEDS_FOR_STD)."""
    k = len(values)
    if k < MIN_SEEDS_FOR_STD:
        return 0.0
    mean = sum(values) / k
    return seed_variance(math.sqrt(sum((v - mean) ** 2 for v in values) / (k - 1)), k)


def seed_variance(std: float, seeds: int) -> float:
    """`_seed_variance` from a table's sample std over `seeds` seeds (0 below three)."""
    if seeds < MIN_SEEDS_FOR_STD or std != std:
        return 0.0
    return (t975(seeds - 1) / Z95 * std / math.sqrt(seeds)) ** 2


def seeds_interval(mean: float, std: float, seeds: int, resolution: float = 0.0):
    """95% Student's t interval of a mean over seeds of a quantity without a test-set noise
    of its own (optimizer steps to an accuracy), NaN below three seeds. `resolution` is the
    spacing of the values (steps are counted at validations only): each value is known to
    within it, a uniform error of variance resolution^2 / 12, so seeds that agree exactly
    still leave an interval."""
    if seeds < MIN_SEEDS_FOR_STD:
        return math.nan, math.nan
    return combined_interval([(1, mean, std, seeds, None, 0)], resolution)


def combined_interval(terms, resolution: float = 0.0) -> tuple[float, float]:
    """95% interval of a signed sum of means over seeds, from tables' summaries: `terms` are
    (sign, mean, std, seeds, test top-1 or None, test images), each mean's seed variance
    t-scaled as in `_seed_variance`, plus the test set's binomial variance of every test
    top-1 involved (None: a quantity without one, such as optimizer steps), plus each mean's
    `resolution` error (`seeds_interval`)."""
    value, var = 0.0, 0.0
    for sign, mean, std, seeds, accuracy, images in terms:
        value += sign * mean
        var += seed_variance(std, seeds) + resolution**2 / 12 / seeds
        if accuracy is not None:
            var += binomial_variance(accuracy, images)
    half = Z95 * math.sqrt(var)
    return value - half, value + half


def binomial_variance(p: float, images: int) -> float:
    """Binomial variance of a test top-1 `p` (a fraction) over `images` test images."""
    return p * (1 - p) / images if images else 0.0


def mean_interval(values, images: int) -> tuple[float, float]:
    """95% interval of the mean test top-1 (fractions) over three or more seeds: the test
    set's variance over `images` (once) plus the seeds' (Student's t)."""
    p = sum(values) / len(values)
    half = Z95 * math.sqrt(binomial_variance(p, images) + _seed_variance(values))
    return p - half, p + half


def means_difference(values1, n1: int, values2, n2: int) -> tuple[float, float]:
    """95% interval of mean(values1) - mean(values2), each over its seeds and test set."""
    p1, p2 = sum(values1) / len(values1), sum(values2) / len(values2)
    var = (
        p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2 + _seed_variance(values1) + _seed_variance(values2)
    )
    half = Z95 * math.sqrt(var)
    return p1 - p2 - half, p1 - p2 + half


def interval_text(values, images: int) -> str:
    """An accuracy's interval as the report prints it (fractions in, percent out): each
    seed's Wilson interval for one or two seeds, the interval of the mean from three."""
    if len(values) >= MIN_SEEDS_FOR_STD:
        low, high = mean_interval(values, images)
        return (
            f"95% interval of the mean {low * 100:.2f}-{high * 100:.2f}% "
            f"({images:,} test images, {len(values)} seeds)"
        )
    parts = []
    for v in values:
        low, high = wilson(v * images, images)
        parts.append(f"{low * 100:.2f}-{high * 100:.2f}%")
    word = "interval" if len(parts) == 1 else "intervals, one per seed,"
    return f"95% {word} {' and '.join(parts)} over {images:,} test images"
