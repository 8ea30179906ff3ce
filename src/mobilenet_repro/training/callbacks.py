"""What happens after every validation period (a Keras "epoch"), one callback per job.

`train_run` passes them to `fit` in this order, which is the order Keras calls them in:

1. `DivergenceGuard` stops the run with an error as soon as a training batch's loss, or a
   period's metrics, are non-finite or absurdly large;
2. `PeriodHistory` records the period's row of history.csv;
3. `EarlyStopping` keeps the best validation's weights and stops the run once validation
   accuracy has not improved for `early_stopping_patience` periods;
4. `PeriodCheckpoint` writes the checkpoint, at most every `checkpoint_every_seconds`, and
   always when the run stops;
5. `ProgressLine` prints the period's line to the job's log (and, now and then, to the
   terminal: `terminal`), last, so that the line of a checkpointed period is written after
   its checkpoint.

They share the run's resumable `state` (checkpoint.fresh_state): what one records, the next
reads, and the checkpoint saves.
"""

from __future__ import annotations

import time

import keras
import numpy as np

from mobilenet_repro.training.checkpoint import Checkpoint
from mobilenet_repro.training.plan import RunPlan
from mobilenet_repro.training.records import Timings, progress
from mobilenet_repro.training.schedules import lr_at
from mobilenet_repro.training.terminal import Pacer, rate_and_left

HISTORY_COLUMNS = (  # history.csv, in this order; one row per validation period
    "epoch",  # data epochs completed (fractional when validating within epochs)
    "step",  # optimizer steps completed
    "images",  # training images seen
    # loss and accuracy: training means over the period; val_*: on the validation split
    "loss",
    "accuracy",
    "val_loss",
    "val_accuracy",
    "learning_rate",  # at the period's last step
    "seconds",  # wall time of the period, its validation included
)
METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")  # Keras's logs in history.csv


class TrainingDiverged(RuntimeError):
    """The training loss became NaN, infinite, or absurdly large."""


class DivergenceGuard(keras.callbacks.Callback):
    """Stop with TrainingDiverged when a batch's loss or a period's metrics blow up."""

    def __init__(self, run: RunPlan):
        super().__init__()
        self.run = run

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and (not np.isfinite(loss) or loss > self.run.loss_limit):
            step = self.epoch * self.run.period_steps + batch + 1
            raise TrainingDiverged(
                f"run {self.run.id} diverged: training loss became {loss:.4g} in epoch "
                f"{step // self.run.steps_per_epoch + 1} (step {step}); lower recipe learning_rate"
            )

    def on_epoch_end(self, epoch, logs=None):
        step = (epoch + 1) * self.run.period_steps
        metrics = {k: (logs or {}).get(k) for k in METRICS}
        metrics["learning_rate"] = lr_at(self.run.schedule, step - 1)
        if not all(np.isfinite(v) for v in metrics.values() if v is not None):
            raise TrainingDiverged(
                f"run {self.run.id} diverged: non-finite metrics at step {step}: {metrics}"
            )


class PeriodHistory(keras.callbacks.Callback):
    """Append each period's row (HISTORY_COLUMNS) to state["history"]; count the periods."""

    def __init__(self, run: RunPlan, state: dict):
        super().__init__()
        self.run, self.state = run, state

    def on_epoch_begin(self, epoch, logs=None):
        self.t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self.t0
        logs = dict(logs or {})
        step = (epoch + 1) * self.run.period_steps
        row = {k: logs.get(k) for k in HISTORY_COLUMNS}
        row.update(
            epoch=self.run.epochs_at(step),
            step=step,
            images=self.run.images_at(step),
            learning_rate=lr_at(self.run.schedule, step - 1),
            seconds=seconds,
        )
        self.state["history"].append(row)
        self.state["epoch"] = epoch + 1
        self.state["train_seconds"] += seconds


class EarlyStopping(keras.callbacks.Callback):
    """With `early_stopping_patience`: keep the best validation's weights (state["best"] says
    which period) and stop once `patience` periods brought no improvement."""

    def __init__(self, run: RunPlan, state: dict):
        super().__init__()
        self.run, self.state = run, state
        self.best_weights = None  # in memory until the next checkpoint writes them

    def on_epoch_end(self, epoch, logs=None):
        patience = self.run.recipe["early_stopping_patience"]
        if not patience:
            return
        period, row = epoch + 1, self.state["history"][-1]
        best = self.state.get("best")
        if best is None or row["val_accuracy"] > best["val_accuracy"]:
            self.state["best"] = {"val_accuracy": row["val_accuracy"], "period": period}
            self.best_weights = self.model.get_weights()
        elif (
            period - best["period"] >= patience
            and row["step"] >= self.run.recipe["early_stopping_min_steps"]
        ):
            self.state["stopped_early"] = True
            self.model.stop_training = True


class PeriodCheckpoint(keras.callbacks.Callback):
    """Save the checkpoint once `every_s` seconds have passed since the last save, and when
    the run stops early; the best weights go with it when they changed."""

    def __init__(
        self,
        checkpoint: Checkpoint,
        state: dict,
        timings: Timings,
        early_stopping: EarlyStopping,
        every_s: float = 0.0,
    ):
        super().__init__()
        self.checkpoint, self.state, self.timings = checkpoint, state, timings
        self.early_stopping, self.every_s = early_stopping, every_s
        self.last_save = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if time.perf_counter() - self.last_save < self.every_s and not self.model.stop_training:
            return
        t_save = time.perf_counter()
        self.checkpoint.save(self.model, self.state, self.early_stopping.best_weights)
        self.early_stopping.best_weights = None
        self.last_save = time.perf_counter()
        self.timings.add("checkpoints", self.last_save - t_save)


class ProgressLine(keras.callbacks.Callback):
    """One line per period in the job's log: epoch, step, loss, accuracies, learning rate,
    seconds, and the rate and time left; the line on the terminal too when the last one there
    is `pacer.every_s` old or the period took that long, and inside a long period a line of
    how far it has come (terminal.Pacer)."""

    def __init__(self, run: RunPlan, state: dict, pacer: Pacer | None = None):
        super().__init__()
        self.run, self.state = run, state
        self.pacer = pacer or Pacer()
        self.epoch = 0

    def on_train_begin(self, logs=None):
        self.t0 = time.perf_counter()
        self.first_step = self.state["epoch"] * self.run.period_steps  # resumed after this

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def _speed(self, step: int) -> str:
        """Images per second in this invocation, and the time the run's last step is away."""
        start = self.run.images_at(self.first_step)
        speed = rate_and_left(
            self.run.images_at(step) - start,
            self.run.images_at(self.run.total_steps) - start,
            time.perf_counter() - self.t0,
            "img",
        )
        return speed + (" at most" if self.run.recipe["early_stopping_patience"] else "")

    def _where(self, step: int, epoch=None) -> str:
        epoch = self.run.epochs_at(step) if epoch is None else epoch
        run = self.run
        return f"[{run.id}] epoch {epoch}/{run.data_epochs} step {step}/{run.total_steps}"

    def on_train_batch_end(self, batch, logs=None):
        # The period's last batch has its line at the period's end, after validation.
        if batch + 1 < self.run.period_steps and self.pacer.due():
            step = self.epoch * self.run.period_steps + batch + 1
            epoch = f"{step / self.run.steps_per_epoch:.1f}"  # how far, not which period
            self.pacer.tell(f"{self._where(step, epoch)}: {self._speed(step)}")

    def on_epoch_end(self, epoch, logs=None):
        row = self.state["history"][-1]
        line = (
            f"{self._where(row['step'])} "
            f"loss={row['loss']:.4f} acc={row['accuracy']:.4f} "
            f"val_acc={row['val_accuracy']:.4f} lr={row['learning_rate']:.2e} "
            f"{row['seconds']:.1f}s, {self._speed(row['step'])}"
        )
        progress(line)
        if self.pacer.due() or row["seconds"] >= self.pacer.every_s:
            self.pacer.tell(line)


def period_callbacks(run, checkpoint, state, timings, every_s=0.0, pacer=None) -> list:
    """The period callbacks, in the order they must run (`pacer`: the terminal's)."""
    early_stopping = EarlyStopping(run, state)
    return [
        DivergenceGuard(run),
        PeriodHistory(run, state),
        early_stopping,
        PeriodCheckpoint(checkpoint, state, timings, early_stopping, every_s),
        ProgressLine(run, state, pacer),
    ]
