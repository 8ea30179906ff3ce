"""The learning-rate schedule of a recipe: linear warm-up, then cosine or linear decay, or a
constant."""

from __future__ import annotations

import math

import keras


@keras.saving.register_keras_serializable(package="mobilenet_repro")
class EpochCosine(keras.optimizers.schedules.LearningRateSchedule):
    """Cosine decay from `peak` to 0 over `epochs`, constant within each epoch.

    The rate of epoch e (counted from 0) is peak * (1 + cos(pi * e / epochs)) / 2, as
    PyTorch's CosineAnnealingLR(T_max=epochs) gives when stepped once per epoch.
    """

    def __init__(self, peak: float, epochs: int, steps_per_epoch: int):
        self.peak, self.epochs, self.steps_per_epoch = peak, epochs, steps_per_epoch

    def __call__(self, step):
        epoch = keras.ops.floor_divide(keras.ops.cast(step, "float32"), float(self.steps_per_epoch))
        return self.peak * 0.5 * (1.0 + keras.ops.cos(math.pi * epoch / self.epochs))

    def get_config(self):
        return {"peak": self.peak, "epochs": self.epochs, "steps_per_epoch": self.steps_per_epoch}


@keras.saving.register_keras_serializable(package="mobilenet_repro")
class WarmupLinear(keras.optimizers.schedules.LearningRateSchedule):
    """Linear rise from 0 to `peak` over `warmup` steps, then linear decay to 0 at `total`.

    Without warm-up it is the linear schedule of Li, Yumer and Ramanan ("Budgeted Training",
    ICLR 2020); with it, the triangular one-cycle schedule of the CIFAR-10 speed records
    (FFCV's). The last step (total - 1) trains at peak / (total - warmup), as the cosine
    decay's last step trains at a small rate rather than none.
    """

    def __init__(self, peak: float, warmup: int, total: int):
        self.peak, self.warmup, self.total = peak, warmup, total

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        fall = (self.total - step) / float(max(1, self.total - self.warmup))
        rise = step / float(self.warmup) if self.warmup else 1.0
        return self.peak * keras.ops.clip(keras.ops.minimum(rise, fall), 0.0, 1.0)

    def get_config(self):
        return {"peak": self.peak, "warmup": self.warmup, "total": self.total}


def make_schedule(recipe: dict, total: int, steps_per_epoch: int):
    """Linear warm-up from 0 to the peak rate, then cosine decay to 0 over `total` steps
    (seed 000, Fig. 5), linear decay to 0 (WarmupLinear), or the peak rate held constant.

    With `schedule_epochs` the decay runs over that many epochs instead, so a run that stops
    earlier follows the start of the longer schedule; with `schedule_per: epoch` the rate
    changes once per epoch (PyTorch's CosineAnnealingLR stepped per epoch).
    """
    lr = recipe["learning_rate"]
    if recipe["schedule_epochs"] is not None:
        total = recipe["schedule_epochs"] * steps_per_epoch
    if recipe["schedule_per"] == "epoch" and recipe["schedule"] == "cosine":
        return EpochCosine(lr, total // steps_per_epoch, steps_per_epoch)
    warmup = recipe["warmup_steps"]
    if warmup is None:
        warmup = int(round(recipe["warmup_epochs"] * steps_per_epoch))
    if recipe["schedule"] == "constant" and not warmup:
        return lr
    if recipe["schedule"] == "linear":
        return WarmupLinear(lr, warmup, total)
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
