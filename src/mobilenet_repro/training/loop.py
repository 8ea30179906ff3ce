"""Training entry point: one run = one model, one data set, one recipe, one seed.

Writes, per run: metrics.json (written last: its presence means the run finished),
history.csv (one row per validation: every epoch, or every `validate_every_steps` optimizer
steps), lr_schedule.csv (per step) and model.keras. Progress is checkpointed at validations,
at most every `checkpoint_every_seconds`, to a directory outside the run's outputs, so a killed
run resumes from its last checkpoint and then gives the numbers the uninterrupted run gives.
With `early_stopping_patience` the run stops once validation accuracy has not improved for
that many validations, and the best validation's weights are the ones tested and saved
(seed 002's "accuracy when fully trained"). A loss that turns NaN or infinite stops the run
with an error.

A run is six steps, in this order (`train_run`):

1. restore  the checkpoint of an interrupted run, if one is there and readable;
2. build    the model and its optimizer (or take the restored one);
3. data     the prepared data set as batched training, validation and test streams;
4. fit      the remaining validation periods, validating and checkpointing (`EpochCheckpoint`);
5. evaluate on the test split;
6. write    the outputs, metrics.json last, then delete the checkpoint.

Every random choice of a run is a function of its seed and saved state: the epoch orders
and augmentations are stateless functions of (seed, epoch, batch contents) (pipeline.py on
TensorFlow, batches.py on JAX and PyTorch: `backends.py` says which backend a run uses); the
layers' random state (dropout masks: Keras seed generators) and the optimizer's state (its
moments and step counter, inside model.keras) are saved with every checkpoint and restored.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mobilenet_repro.backends import DEFAULT as DEFAULT_BACKEND
from mobilenet_repro.backends import PACKAGES, accelerators, configure
from mobilenet_repro.checkpoint import Checkpoint, save_model
from mobilenet_repro.io import write_csv, write_json
from mobilenet_repro.runs import Run

# ------------------------------------------------------------------------------ constants
DIVERGENCE_FACTOR = 1000  # a loss this many times a uniform guess's (ln classes) = diverged
EVAL_BATCH_SIZE = 256  # images per batch when validating and testing
SCHEDULE_POINTS = 1000  # most rows (optimizer steps) written to lr_schedule.csv
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


class TrainingDiverged(RuntimeError):
    """The training loss became NaN, infinite, or absurdly large."""


# ------------------------------------------------------------------- environment, records
def fingerprint(spec: dict) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def hardware_info(threads: int, backend: str = DEFAULT_BACKEND) -> dict:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "threads": threads,
        "gpus": accelerators(backend),
        "platform": platform.platform(),
    }


def package_versions(backend: str = DEFAULT_BACKEND) -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in (
        *PACKAGES[backend],
        "keras",
        "numpy",
        "scikit-learn",
        "mobilenet-repro",
    ):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            continue
    return out


def process_age() -> float | None:
    """Seconds since this process started (interpreter start-up included); None if unknown."""
    try:
        import psutil

        return time.time() - psutil.Process().create_time()
    except Exception:  # psutil absent, or no permission: the figure is informational
        return None


def _progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class Timings(dict):
    """Wall-clock seconds per phase of this invocation: where a job's time goes besides fit."""

    def __init__(self):
        super().__init__(startup=process_age())
        self._t = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self[name] = self.get(name, 0.0) + now - self._t
        self._t = now

    def rounded(self) -> dict:
        return {k: None if v is None else round(v, 3) for k, v in self.items()}


# -------------------------------------------------------------------- model and optimizer
def make_schedule(recipe: dict, total: int, steps_per_epoch: int):
    """Linear warm-up from 0 to the peak rate, then cosine decay to 0 over `total` steps
    (seed 000, Fig. 5), or the peak rate held constant."""
    import keras

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


def make_optimizer(recipe: dict, schedule):
    """The recipe's optimizer; Adam with TensorFlow's fused update (optimizers.py)."""
    from mobilenet_repro.optimizers import make

    name = recipe["optimizer"]
    if name == "adam":
        return make(
            "adam",
            learning_rate=schedule,
            beta_1=recipe["beta_1"],
            beta_2=recipe["beta_2"],
            epsilon=recipe["epsilon"],
        )
    if name == "rmsprop":
        return make(
            "rmsprop",
            learning_rate=schedule,
            rho=recipe["rho"],
            momentum=recipe["momentum"],
            epsilon=recipe["epsilon"],
        )
    if name == "sgd":
        return make("sgd", learning_rate=schedule, momentum=recipe["momentum"])
    raise ValueError(f"recipe.optimizer: received {name!r}; allowed: adam, rmsprop, sgd")


def set_bn_momentum(model, momentum: float) -> None:
    """Faster-moving batch-norm statistics for short runs from scratch.

    The architectures' momenta (0.99, 0.999) suit ImageNet's hundreds of thousands of steps;
    after a few hundred steps their moving statistics still lag the weights and inference
    accuracy collapses towards chance while training accuracy is high.
    """
    import keras

    for layer in model._flatten_layers():
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = momentum


def build_model(model_cfg: dict, recipe: dict, classes: int, schedule, jit_compile=None):
    """A compiled classifier for one model configuration and recipe (step 2 of a run).

    jit_compile (None: backends.JIT_COMPILE for the backend Keras runs on) stays off on
    TensorFlow: XLA on this CPU costs 4 min of compilation and makes steps 12x slower
    (bench/throughput.py variant keras_xla); Keras's "auto" would turn it on.
    """
    import keras

    from mobilenet_repro.backends import JIT_COMPILE

    if jit_compile is None:
        jit_compile = JIT_COMPILE[keras.backend.backend()]

    from mobilenet_repro.models import build_classifier

    model = build_classifier(
        model_cfg["arch"],
        classes=classes,
        resolution=model_cfg["resolution"],
        alpha=model_cfg["alpha"],
        weights=model_cfg["weights"],
        freeze_base=recipe["freeze_base"],
        dropout=model_cfg["dropout"],
    )
    if recipe["bn_momentum"] is not None:
        set_bn_momentum(model, recipe["bn_momentum"])
    model.compile(
        optimizer=make_optimizer(recipe, schedule),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=recipe["label_smoothing"]),
        metrics=["accuracy"],
        jit_compile=jit_compile,
    )
    return model


def build_training_state(model, element_spec) -> None:
    """Create the optimizer's and metrics' variables before `fit` traces its train step.

    Otherwise Keras (TensorFlow backend, no distribution strategy) creates them while
    tracing, and tf.function then traces the whole train step a second time without
    variable creation: about half of a job's first-epoch overhead (bench/throughput.py).
    """
    x_spec, y_spec = element_spec
    symbolic_build = getattr(model, "_symbolic_build", None)  # Keras 3 trainers
    if symbolic_build is not None:
        symbolic_build(data_batch=(x_spec, y_spec, None))
    elif not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)


def _lr_at(schedule, step: int) -> float:
    return float(schedule(step)) if callable(schedule) else float(schedule)


# --------------------------------------------------------------------------- epoch hook
def _keras_callback_base():
    import keras

    return keras.callbacks.Callback


class EpochCheckpoint(_keras_callback_base()):
    """After every validation period (a Keras "epoch"): record its row of history.csv, stop on
    divergence, track the best validation for early stopping, checkpoint.

    Also stops the run as soon as a training batch's loss is non-finite or above `loss_limit`.
    """

    def __init__(self, run, checkpoint: Checkpoint, state: dict, timings: Timings, every_s=0.0):
        super().__init__()
        self.run, self.checkpoint, self.state, self.timings = run, checkpoint, state, timings
        self.every_s, self.last_save = every_s, time.perf_counter()
        self.best_weights = None  # in memory; written with the next checkpoint

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch, self.t0 = epoch, time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and (not np.isfinite(loss) or loss > self.run.loss_limit):
            step = self.epoch * self.run.period_steps + batch + 1
            raise TrainingDiverged(
                f"run {self.run.id} diverged: training loss became {loss:.4g} in epoch "
                f"{step // self.run.steps_per_epoch + 1} (step {step}); lower recipe learning_rate"
            )

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self.t0
        logs = dict(logs or {})
        step = (epoch + 1) * self.run.period_steps
        row = {k: logs.get(k) for k in HISTORY_COLUMNS}
        row.update(
            epoch=self.run.epochs_at(step),
            step=step,
            images=self.run.images_at(step),
            learning_rate=_lr_at(self.run.schedule, step - 1),
            seconds=seconds,
        )
        if not all(np.isfinite(v) for v in row.values() if v is not None):
            raise TrainingDiverged(
                f"run {self.run.id} diverged: non-finite metrics at step {step}: {row}"
            )
        self.state["history"].append(row)
        self.state["epoch"] = epoch + 1
        self.state["train_seconds"] += seconds
        self._early_stopping(epoch + 1, row)
        if time.perf_counter() - self.last_save >= self.every_s or self.model.stop_training:
            t_save = time.perf_counter()
            self.checkpoint.save(self.model, self.state, self.best_weights)
            self.best_weights = None
            self.last_save = time.perf_counter()
            self.timings["checkpoints"] = self.timings.get("checkpoints", 0.0) + (
                self.last_save - t_save
            )
        _progress(
            f"[{self.run.id}] epoch {row['epoch']}/{self.run.data_epochs} "
            f"step {step}/{self.run.total_steps} "
            f"loss={row['loss']:.4f} acc={row['accuracy']:.4f} "
            f"val_acc={row['val_accuracy']:.4f} lr={row['learning_rate']:.2e} {seconds:.1f}s"
        )

    def _early_stopping(self, period: int, row: dict) -> None:
        patience = self.run.recipe["early_stopping_patience"]
        if not patience:
            return
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


# ------------------------------------------------------------------------------ the run
@dataclass
class RunPlan:
    """What a run's steps share: its identity, sizes and learning-rate schedule."""

    spec: dict
    classes: int
    train_images: int
    id: str = field(init=False)
    steps_per_epoch: int = field(init=False)
    period_steps: int = field(init=False)  # optimizer steps between validations
    periods: int = field(init=False)  # validations in the whole run (Keras's "epochs")
    schedule: object = field(init=False)

    def __post_init__(self):
        from mobilenet_repro.batches import steps_per_epoch

        self.id = Run.from_spec(self.spec).id
        self.steps_per_epoch = steps_per_epoch(self.train_images, self.recipe["batch_size"])
        self.period_steps = self.recipe["validate_every_steps"] or self.steps_per_epoch
        length = self.recipe["steps"] or self.recipe["epochs"] * self.steps_per_epoch
        self.periods = math.ceil(length / self.period_steps)
        self.schedule = make_schedule(self.recipe, self.total_steps, self.steps_per_epoch)

    @property
    def total_steps(self) -> int:
        """The run's length in optimizer steps, early stopping aside."""
        return self.periods * self.period_steps

    @property
    def data_epochs(self) -> int:
        """Passes over the training set that the run's steps need (the last one partial)."""
        return math.ceil(self.total_steps / self.steps_per_epoch)

    def epochs_at(self, step: int) -> int | float:
        """Data epochs completed after `step` steps (whole when validating once per epoch)."""
        if step % self.steps_per_epoch == 0:
            return step // self.steps_per_epoch
        return round(step / self.steps_per_epoch, 4)

    def images_at(self, step: int) -> int:
        """Training images seen after `step` steps (the last batch of an epoch is partial)."""
        full, rest = divmod(step, self.steps_per_epoch)
        return full * self.train_images + min(rest * self.recipe["batch_size"], self.train_images)

    @property
    def recipe(self) -> dict:
        return self.spec["recipe"]

    @property
    def backend(self) -> str:
        return self.spec.get("backend", DEFAULT_BACKEND)

    @property
    def loss_limit(self) -> float:
        # Keras computes the loss from the softmax's logits, so a blown-up run can report huge
        # finite losses instead of NaN; guessing uniformly costs ln(classes).
        return DIVERGENCE_FACTOR * math.log(self.classes)


def load_data(spec: dict, data_path: str | Path):
    """The prepared data set and the model's class count (checked against the data's)."""
    from mobilenet_repro.data import load_dataset

    ds = load_dataset(data_path, spec["dataset"])
    classes = spec["model"].get("classes") or ds.num_classes
    if classes < ds.num_classes:
        raise ValueError(
            f"{Run.from_spec(spec).id}: models.{spec['model_id']}.classes is {classes} but "
            f"data set {spec['dataset']} has {ds.num_classes} classes; set classes to null"
        )
    return ds, classes


def make_streams(ds, run: RunPlan, start_step: int) -> dict:
    """Batched (image, one-hot label) streams: train from `start_step` on, val and test.

    tf.data on the TensorFlow backend (pipeline.py); numpy batches (batches.py) on the others,
    which then need no TensorFlow. Both give the same images in the same order.
    """
    from mobilenet_repro.batches import epoch_permutations, preprocessing_fn
    from mobilenet_repro.models import ARCHITECTURES

    model_cfg, seed = run.spec["model"], run.spec["seed"]
    arch = ARCHITECTURES[model_cfg["arch"]]
    common = {
        "resolution": model_cfg["resolution"],
        "preprocess": preprocessing_fn(arch.imagenet_preprocess if model_cfg["weights"] else None),
    }
    if run.backend == "tensorflow":
        import tensorflow as tf

        from mobilenet_repro.pipeline import make_dataset

        def make(*data, **kwargs):
            return make_dataset(*data, **kwargs).map(lambda x, y: (x, tf.one_hot(y, run.classes)))
    else:
        from mobilenet_repro.batches import Batches

        def make(*data, **kwargs):
            return Batches(*data, classes=run.classes, **kwargs)

    x_train, y_train = ds.splits["train"]
    first_epoch, skip = divmod(start_step, run.steps_per_epoch)
    train = make(
        x_train,
        y_train,
        batch_size=run.recipe["batch_size"],
        order=epoch_permutations(len(y_train), seed, first_epoch, run.data_epochs),
        skip_batches=skip,
        augment=run.recipe["augment"],
        seed=seed,
        **common,
    )
    streams = {"train": train}
    for split in ("val", "test"):
        streams[split] = make(*ds.splits[split], batch_size=EVAL_BATCH_SIZE, **common)
    # The training split as tested (no augmentation): the train-test gap of seed 002 (c).
    streams["train_eval"] = make(x_train, y_train, batch_size=EVAL_BATCH_SIZE, **common)
    return streams


def run_metrics(
    run: RunPlan, ds, model, state: dict, test: tuple, train_eval: tuple, trained_now: int
) -> dict:
    """metrics.json's content (timings are added by train_run once everything is written)."""
    from mobilenet_repro.counting import count_mult_adds, count_params

    spec, model_cfg = run.spec, run.spec["model"]
    test_loss, test_acc = test
    last = state["history"][-1]
    # With early stopping the best validation's weights are the ones tested.
    tested = state["history"][state["best"]["period"] - 1] if state.get("best") else last
    params, trainable = count_params(model)
    train_seconds = state["train_seconds"]
    return {
        "run": run.id,
        "experiment": spec["experiment"],
        "dataset": spec["dataset"],
        "model": spec["model_id"],
        "arch": model_cfg["arch"],
        "alpha": model_cfg["alpha"],
        "resolution": model_cfg["resolution"],
        "classes": run.classes,
        "seed": spec["seed"],
        "backend": run.backend,
        "test_top1": float(test_acc),
        "test_loss": float(test_loss),
        "train_top1": float(train_eval[1]),  # the tested weights on the training split
        "val_top1": tested["val_accuracy"],
        "params": params,
        "trainable_params": trainable,
        "mult_adds": count_mult_adds(model),
        "epochs": last["epoch"],
        "steps": last["step"],
        "max_steps": run.total_steps,
        "validate_every_steps": run.period_steps,
        "stopped_early": bool(state.get("stopped_early")),
        "tested_step": tested["step"],
        "tested_epoch": tested["epoch"],
        "periods_trained_last_invocation": trained_now,
        "resumed": bool(state["resumed_from"]),
        "resumed_from_epochs": state["resumed_from"],
        "train_seconds": train_seconds,
        "images_per_second": last["images"] / train_seconds if train_seconds else None,
        "train_images": run.train_images,
        "val_images": len(ds.splits["val"][1]),
        "test_images": len(ds.splits["test"][1]),
        "recipe_name": spec["recipe_name"],
        "recipe": run.recipe,
        "model_config": model_cfg,
        "fingerprint": fingerprint(spec),
    }


def write_outputs(run: RunPlan, model, history: list, out: dict) -> None:
    """model.keras, history.csv and lr_schedule.csv (metrics.json is written after these)."""
    import pandas as pd

    save_model(model, out["model"])
    write_csv(pd.DataFrame(history, columns=list(HISTORY_COLUMNS)), out["history"])
    total = run.total_steps
    steps = np.unique(np.linspace(0, total - 1, min(total, SCHEDULE_POINTS)).astype(int))
    schedule = {
        "step": steps,
        "epoch": steps / run.steps_per_epoch,
        "learning_rate": [_lr_at(run.schedule, int(s)) for s in steps],
    }
    write_csv(pd.DataFrame(schedule), out["schedule"])


def train_run(
    spec: dict,
    data_path: str | Path,
    out: dict,
    checkpoint_dir: str | Path,
    threads: int = 1,
    callbacks: list | None = None,
    checkpoint_every_s: float = 0.0,
) -> dict:
    """Train one run described by `spec` (see config.run_spec) and write its outputs.

    `out` maps metrics, history, schedule and model to file paths. `callbacks` are extra
    Keras callbacks for `fit` (the benchmarks time steps with one). A checkpoint is written
    at a validation once `checkpoint_every_s` seconds have passed since the last one (0:
    at every validation); the cadence never changes the numbers, only what a kill loses.
    """
    timings = Timings()
    backend = spec.get("backend", DEFAULT_BACKEND)
    configure(backend, threads)  # Keras must already run on it (backends.select)
    import keras

    from mobilenet_repro.fused_bn import use_fused_batch_norm

    keras.utils.set_random_seed(spec["seed"])
    timings.lap("imports")
    ds, classes = load_data(spec, data_path)
    run = RunPlan(spec, classes, train_images=len(ds.splits["train"][1]))
    timings.lap("data_load")

    # 1. restore
    checkpoint = Checkpoint(Path(checkpoint_dir), fingerprint(spec), run.id)
    state, model = checkpoint.restore()
    start = state["epoch"]  # validation periods completed
    # 2. build
    if model is not None:
        step = start * run.period_steps
        _progress(
            f"[{run.id}] resuming from checkpoint after epoch {run.epochs_at(step)}/"
            f"{run.data_epochs} (step {step}/{run.total_steps})"
        )
        state["resumed_from"].append(start)
    else:
        model = build_model(spec["model"], run.recipe, classes, run.schedule)
    # The same computation up to float rounding, in fewer kernels (tests/test_fused_bn.py;
    # speed: bench/throughput.py variant keras_stock_bn).
    use_fused_batch_norm(model)
    # 3. data
    streams = make_streams(ds, run, start * run.period_steps)
    build_training_state(model, streams["train"].element_spec)
    timings.lap("build")

    # 4. fit
    trained_now = 0 if state.get("stopped_early") else run.periods - start
    hook = EpochCheckpoint(run, checkpoint, state, timings, checkpoint_every_s)
    if trained_now > 0:
        model.fit(
            streams["train"],
            epochs=run.periods,
            initial_epoch=start,
            steps_per_epoch=run.period_steps,
            validation_data=streams["val"],
            callbacks=[hook, *(callbacks or [])],
            verbose=0,
            # The batches come in the run's own epoch orders (batches.epoch_permutations);
            # Keras would otherwise reorder a PyDataset's batches (JAX, PyTorch) with its
            # global generator, and a resumed run would not see the uninterrupted one's.
            shuffle=False,
        )
        trained_now = state["epoch"] - start
    if state.get("best"):
        model.set_weights(hook.best_weights or checkpoint.restore_best(state))
    timings.lap("fit")
    # 5. evaluate
    test = model.evaluate(streams["test"], verbose=0)
    train_eval = model.evaluate(streams["train_eval"], verbose=0)
    timings.lap("evaluate")
    if not np.isfinite(test[0]):
        raise TrainingDiverged(f"run {run.id}: test loss is {test[0]}")

    # 6. write: model, per-epoch history and per-step schedule first; metrics.json last.
    metrics = run_metrics(run, ds, model, state, test, train_eval, trained_now)
    metrics.update(versions=package_versions(backend), hardware=hardware_info(threads, backend))
    write_outputs(run, model, state["history"], out)
    timings.lap("finish")
    metrics["timings"] = timings.rounded()
    write_json(metrics, out["metrics"])
    checkpoint.delete()
    _progress(f"[{run.id}] done: test top-1 {test[1]:.4f} in {state['train_seconds']:.1f}s")
    return metrics
