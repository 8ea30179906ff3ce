"""The `numeric_experiment` kind: checks that need no pipeline output, only CPU seconds (a
grouped convolution's count, the MobileNetV2 paper's ReLU-collapse experiment, batch-norm
folding), each run here with the sizes the claim's `check:` block gives."""

from __future__ import annotations

import numpy as np

from mobilenet_repro.analysis.claims import Evidence
from mobilenet_repro.analysis.kinds import Finding, kind


def _verdict(holds: bool) -> str:
    return "reproduced" if holds else "not_reproduced"


def group_conv(side: int, channels: int, kernel: int, groups: int) -> tuple[bool, dict]:
    """A Keras convolution's weights and mult-adds, whole and split into `groups`."""
    import keras  # the layer itself counts its weights; imported only for this experiment

    counts = {}
    for g in (1, groups):
        layer = keras.layers.Conv2D(channels, kernel, groups=g, padding="same", use_bias=False)
        layer.build((None, side, side, channels))
        weights = int(layer.count_params())
        # Each output value costs one multiply-add per kernel weight feeding it.
        counts[g] = {"weights": weights, "mult_adds": weights // channels * channels * side * side}
    whole, split = counts[1], counts[groups]
    holds = all(groups * split[k] == whole[k] for k in whole)
    return holds, {"side": side, "channels": channels, "kernel": kernel, "groups": groups,
                   "whole": whole, "split": split}  # fmt: skip


def _spiral(points: int) -> np.ndarray:
    t = np.linspace(0.5, 4 * np.pi, points)
    return np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / (4 * np.pi)


def relu_collapse_errors(dims=(2, 3, 5, 15, 30), trials: int = 20, points: int = 400) -> dict:
    """The MobileNetV2 paper's Figure 1 experiment: 2-D points embedded in m dimensions by a
    random matrix T, ReLU, and mapped back with T's pseudo-inverse. The error is relative,
    after the best scale (ReLU halves a random embedding's energy), averaged over trials."""
    x = _spiral(points)
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


def relu_collapse(dims, small, large, trials, points, factor) -> tuple[bool, dict]:
    """Information is lost at small m: the worst error of the `small` dimensions (of `dims`)
    exceeds `factor` times the best of the `large` ones."""
    errors = relu_collapse_errors(dims, trials, points)
    worst_small = max(errors[m] for m in small)
    best_large = min(errors[m] for m in large)
    values = {"points": points, "trials": trials, "errors": {str(m): e for m, e in errors.items()}}
    return worst_small > factor * best_large, values


def bn_folding(channels_in: int, channels_out: int, positions: int, tolerance: float):
    """A 1x1 convolution followed by batch norm in inference mode against the same
    convolution with the batch norm folded into its weights and bias (float64)."""
    rng = np.random.default_rng(0)
    m, n = channels_in, channels_out
    x = rng.standard_normal((positions, m))
    w, b = rng.standard_normal((m, n)), rng.standard_normal(n)
    gamma, beta = rng.uniform(0.5, 2, n), rng.standard_normal(n)
    mean, var, eps = rng.standard_normal(n), rng.uniform(0.5, 2, n), 1e-3
    reference = gamma * ((x @ w + b) - mean) / np.sqrt(var + eps) + beta
    scale = gamma / np.sqrt(var + eps)
    folded = x @ (w * scale) + (b - mean) * scale + beta
    worst = float(np.abs(folded - reference).max())
    return worst < tolerance, {"largest_difference": worst, "tolerance": tolerance}


EXPERIMENTS = {"group_conv": group_conv, "relu_collapse": relu_collapse, "bn_folding": bn_folding}


@kind(
    "numeric_experiment", required=("experiment", "settings"), choices={"experiment": EXPERIMENTS}
)
def numeric_experiment(evidence: Evidence, params: dict, claim: dict) -> Finding:
    """One of EXPERIMENTS, run here with `settings` as its arguments."""
    name = params["experiment"]
    holds, values = EXPERIMENTS[name](**params["settings"])
    return Finding(_verdict(holds), {"experiment": name, **values})
