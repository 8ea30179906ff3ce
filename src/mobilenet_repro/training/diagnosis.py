"""A finished run whose numbers show a failure no error caught: named, with cause and fix.

A run can end without error, exit 0, and still have learned nothing usable: its training
accuracy (measured in training mode, on the batches it trained on) well above chance while
its validation accuracy sits at chance. `run_warnings` tells the likely causes apart from
what train_run measured anyway:

- bn_statistics_stale: the tested network classifies even its own training images at chance
  (metrics.json `train_top1`, inference mode). Training and inference mode differ only in
  where batch norm takes its statistics (and in dropout), so its moving statistics do not fit
  the weights: too slow a bn_momentum for the run's length.
- validation_curve_stale: the tested network is fine once its batch-norm statistics are
  recomputed (metrics.json `precise_bn`), but validation during training (history.csv, early
  stopping) used the stale ones and sat at chance.
- not_generalising: the network classifies its training images in inference mode too, but
  not the validation images: it memorised a small training set, or the splits differ.

Each warning is a dict ({kind, message, cause, fix} and the numbers it rests on) for
metrics.json `warnings`; train_run also shows its message on the terminal (jobs.warn).
"""

from __future__ import annotations

from mobilenet_repro.jobs import warn

# A run whose test top-1 is within this many points (as a fraction) of chance (1 / classes)
# "did not learn": it is marked so in tables, figures and the abstract, never ranked. Here,
# below the analysis, because a finished run is diagnosed against the same margin.
CHANCE_MARGIN = 0.05


def learned(top1: float, classes: int) -> bool:
    """Whether a test top-1 is more than CHANCE_MARGIN above chance."""
    return bool(top1 > 1.0 / classes + CHANCE_MARGIN)


def far_above_chance(accuracy: float, classes: int) -> bool:
    """At least half-way from chance to 100%: a network that fits its training images."""
    chance = 1.0 / classes
    return accuracy >= chance + (1.0 - chance) / 2


def above_chance(accuracy: float, classes: int) -> bool:
    """Three chance margins above chance (25% for 10 classes): learning, not noise, for a
    training-mode mean over a whole validation period."""
    return accuracy > 1.0 / classes + 3 * CHANCE_MARGIN


def run_warnings(metrics: dict, tested_row: dict) -> list[dict]:
    """The warnings of a finished run, from its metrics.json content (classes, train_top1,
    val_top1, recipe, precise_bn) and the history.csv row of its tested weights."""
    classes, run_id = metrics["classes"], metrics["run"]
    train_acc = tested_row["accuracy"]
    if train_acc is None:
        return []
    bn = metrics.get("precise_bn") or {}
    val = bn.get("val_top1_after", metrics["val_top1"])
    numbers = {
        "train_accuracy": train_acc,
        "train_top1": metrics["train_top1"],
        "val_top1": val,
        "chance": 1.0 / classes,
        "steps": metrics["steps"],
    }
    momentum = metrics["recipe"].get("bn_momentum")
    momentum = f"bn_momentum {momentum}" if momentum else "the architecture's own bn_momentum"
    seen = (
        f"[{run_id}] training accuracy {train_acc:.1%}, but validation {val:.1%} and the "
        f"training images themselves {metrics['train_top1']:.1%} in inference mode "
        f"(chance {1.0 / classes:.1%}, {CHANCE_MARGIN:.0%} margin)"
    )
    stale = not learned(val, classes) and not learned(metrics["train_top1"], classes)
    if stale and above_chance(train_acc, classes):
        return [
            _warning(
                "bn_statistics_stale",
                seen,
                f"the batch-norm moving statistics still hold their starting values: "
                f"{momentum} is too slow for {metrics['steps']} steps",
                "set the recipe's precise_bn_batches (e.g. 10: statistics recomputed at the "
                "end of training) or bn_momentum: 0.9",
                numbers,
            )
        ]
    if not learned(val, classes) and far_above_chance(train_acc, classes):
        return [
            _warning(
                "not_generalising",
                seen,
                "the network fits its training images but not new ones: too few training "
                "images, or validation images unlike the training ones (labels, preprocessing)",
                "train on more images per class (max_per_class) or with augmentation, and "
                "check that the splits come from the same source",
                numbers,
            )
        ]
    if bn and learned(val, classes) and not learned(bn["val_top1_before"], classes):
        return [
            _warning(
                "validation_curve_stale",
                f"[{run_id}] validation accuracy {bn['val_top1_before']:.1%} during training "
                f"(history.csv) but {val:.1%} once the batch-norm statistics were recomputed",
                f"validation during training used batch-norm statistics that lagged the "
                f"weights ({momentum}): the learning curve and any early stopping read them",
                "set the recipe's bn_momentum: 0.9 for a validation curve that follows training",
                {**numbers, "val_top1_before": bn["val_top1_before"]},
            )
        ]
    return []


def _warning(kind: str, seen: str, cause: str, fix: str, numbers: dict) -> dict:
    return {
        "kind": kind,
        "message": f"{seen}. Likely cause: {cause}. Fix: {fix}.",
        "cause": cause,
        "fix": fix,
        **numbers,
    }


def record_warnings(metrics: dict, tested_row: dict) -> None:
    """metrics["warnings"] (a list, empty for a healthy run), each also on the terminal."""
    metrics["warnings"] = run_warnings(metrics, tested_row)
    for warning in metrics["warnings"]:
        warn(warning["message"])
