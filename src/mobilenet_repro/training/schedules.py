"""The learning-rate schedule of a recipe: linear warm-up, then cosine decay or a constant."""

from __future__ import annotations

import keras


def make_schedule(recipe: dict, total: int, steps_per_epoch: int):
    """Linear warm-up from 0 to the peak rate, then cosine decay to 0 over `total` steps
    (seed 000, Fig. 5), or the peak rate held constant."""
    lr = recipe["learning_rate"]
    warmup = recipe["warmup_steps"]
    if warmup is None:
        warmup = int(round(recipe["warmup_epochs"] * steps_per_epoch))
    if recipe["schedule"] == "constant" and not warmup:
        return lr
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0 if warmup else lr,
        decay_steps=max(1, total - warmup),
        alpha=1.0 if recipe["schedule"] == "constant" else 0.0,  # 1.0: no decay at all
        warmup_target=lr if warmup else None,
        warmup_steps=warmup,
    )


def lr_at(schedule, step: int) -> float:
    """The learning rate at optimizer step `step` (a schedule, or a constant rate)."""
    return float(schedule(step)) if callable(schedule) else float(schedule)
