"""Checks that need no pipeline output, only CPU seconds: a grouped convolution's count, the
MobileNetV2 paper's ReLU-collapse experiment and batch-norm folding, each run here."""

from __future__ import annotations

import numpy as np

from mobilenet_repro.analysis.claims import Evidence, check


@check("slides.group_conv_halves")
def group_conv_halves(evidence: Evidence, claim: dict):
    import keras  # the layer itself counts its weights; imported only for this claim

    side, channels, k = 16, 64, 3
    counts = {}
    for groups in (1, 2):
        layer = keras.layers.Conv2D(channels, k, groups=groups, padding="same", use_bias=False)
        layer.build((None, side, side, channels))
        weights = int(layer.count_params())
        # Each output value costs one multiply-add per kernel weight feeding it.
        counts[groups] = (weights, weights // channels * channels * side * side)
    (p1, m1), (p2, m2) = counts[1], counts[2]
    holds = 2 * p2 == p1 and 2 * m2 == m1
    return ("reproduced" if holds else "not_reproduced"), (
        f"A Keras 3x3 convolution from {channels} to {channels} channels has {p1:,} weights "
        f"and {m1:,} mult-adds on a {side}x{side} map; split into 2 groups, {p2:,} and "
        f"{m2:,}: {'exactly' if holds else 'not'} half."
    )


def _spiral(points: int = 400) -> np.ndarray:
    t = np.linspace(0.5, 4 * np.pi, points)
    return np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / (4 * np.pi)


def relu_collapse_errors(dims=(2, 3, 5, 15, 30), trials: int = 20) -> dict[int, float]:
    """The MobileNetV2 paper's Figure 1 experiment: 2-D points embedded in m dimensions by a
    random matrix T, ReLU, and mapped back with T's pseudo-inverse. The error is relative,
    after the best scale (ReLU halves a random embedding's energy), averaged over trials."""
    x = _spiral()
    rng = np.random.default_rng(0)
    out = {}
    for m in dims:
        errors = []
        for _ in range(trials):
            t = rng.standard_normal((m, 2))
            back = np.maximum(x @ t.T, 0) @ np.linalg.pinv(t).T
            scale = float((back * x).sum() / max((back * back).sum(), 1e-12))
            errors.append(np.linalg.norm(x - scale * back) / np.linalg.norm(x))
        out[m] = float(np.mean(errors))
    return out


@check("slides.relu_low_dimension_collapse")
def relu_low_dimension_collapse(evidence: Evidence, claim: dict):
    errors = relu_collapse_errors()
    small, large = max(errors[2], errors[3]), min(errors[15], errors[30])
    holds = small > 2 * large
    text = ", ".join(f"m = {m}: {e:.2f}" for m, e in errors.items())
    return ("reproduced" if holds else "not_reproduced"), (
        f"Run here on a 2-D spiral of 400 points, 20 random matrices per m: the relative "
        f"error after ReLU and the pseudo-inverse is {text}; information is "
        + ("lost at small m and kept at large m." if holds else "not lost more at small m.")
    )


@check("mnv1_notes.bn_folding")
def bn_folding(evidence: Evidence, claim: dict):
    rng = np.random.default_rng(0)
    m, n = 8, 16
    x = rng.standard_normal((32, m))  # 32 positions of a 1x1 convolution's input
    w, b = rng.standard_normal((m, n)), rng.standard_normal(n)
    gamma, beta = rng.uniform(0.5, 2, n), rng.standard_normal(n)
    mean, var, eps = rng.standard_normal(n), rng.uniform(0.5, 2, n), 1e-3
    reference = gamma * ((x @ w + b) - mean) / np.sqrt(var + eps) + beta
    scale = gamma / np.sqrt(var + eps)
    folded = x @ (w * scale) + (b - mean) * scale + beta
    worst = float(np.abs(folded - reference).max())
    holds = worst < 1e-9
    return ("reproduced" if holds else "not_reproduced"), (
        f"Run here: a convolution followed by batch norm in inference mode, and the same "
        f"convolution with the batch norm folded into its weights and bias, differ by at most "
        f"{worst:.0e} on random inputs (float64)."
    )
