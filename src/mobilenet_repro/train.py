"""Training entry point: one run = one model, one data set, one recipe, one seed.

Writes, per run: metrics.json (written last: its presence means the run finished),
history.csv (per epoch), lr_schedule.csv (per step) and model.keras. Progress is checkpointed
after every epoch to a directory outside the run's outputs, so a killed run resumes from its
last completed epoch. A loss that turns NaN or infinite stops the run with an error.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from mobilenet_repro.io import atomic_path, write_csv, write_json

DIVERGENCE_FACTOR = 1000  # a loss this many times a uniform guess's means the run diverged


class TrainingDiverged(RuntimeError):
    """The training loss became NaN, infinite, or absurdly large."""


def configure_tensorflow(threads: int) -> None:
    """Threads and determinism; must run before TensorFlow executes its first op."""
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(min(2, threads))
    except RuntimeError:
        # TensorFlow already ran an op in this process (a notebook, a test session): its
        # thread pools are fixed now. Results are unaffected; only the speed may differ.
        _progress(f"TensorFlow already initialised: keeping its thread pools (asked {threads})")
    # Same seed, same machine -> same numbers (seed 000/001 give no seeds; we record ours).
    tf.config.experimental.enable_op_determinism()


def fingerprint(spec: dict) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def hardware_info(threads: int) -> dict:
    import tensorflow as tf

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
        "gpus": [d.name for d in tf.config.list_physical_devices("GPU")],
        "platform": platform.platform(),
    }


def package_versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in (
        "tensorflow",
        "tensorflow-cpu",
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


def make_schedule(recipe: dict, steps_per_epoch: int):
    """Linear warm-up from 0 to the peak rate, then cosine decay to 0 (seed 000, Fig. 5)."""
    import keras

    lr = recipe["learning_rate"]
    total = recipe["epochs"] * steps_per_epoch
    if recipe["schedule"] == "constant":
        return lr
    warmup = int(round(recipe["warmup_epochs"] * steps_per_epoch))
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0 if warmup else lr,
        decay_steps=max(1, total - warmup),
        alpha=0.0,
        warmup_target=lr if warmup else None,
        warmup_steps=warmup,
    )


def make_optimizer(recipe: dict, schedule):
    import keras

    name = recipe["optimizer"]
    if name == "adam":
        return keras.optimizers.Adam(
            learning_rate=schedule,
            beta_1=recipe["beta_1"],
            beta_2=recipe["beta_2"],
            epsilon=recipe["epsilon"],
        )
    if name == "rmsprop":
        return keras.optimizers.RMSprop(
            learning_rate=schedule,
            rho=recipe["rho"],
            momentum=recipe["momentum"],
            epsilon=recipe["epsilon"],
        )
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate=schedule, momentum=recipe["momentum"])
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


def process_age() -> float | None:
    """Seconds since this process started (interpreter start-up included); None if unknown."""
    try:
        import psutil

        return time.time() - psutil.Process().create_time()
    except Exception:  # psutil absent, or no permission: the figure is informational
        return None


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


def _progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def train_run(
    spec: dict,
    data_path: str | Path,
    out: dict,
    checkpoint_dir: str | Path,
    threads: int = 1,
    callbacks: list | None = None,
) -> dict:
    """Train one run described by `spec` (see config.run_spec) and write its outputs.

    `out` maps metrics, history, schedule and model to file paths. `callbacks` are extra
    Keras callbacks for `fit` (the benchmarks time steps with one).
    """
    timings = {"startup": process_age()}
    t_phase = time.perf_counter()
    configure_tensorflow(threads)
    import keras
    import pandas as pd

    from mobilenet_repro.counting import count_mult_adds, count_params
    from mobilenet_repro.data import load_dataset
    from mobilenet_repro.fused_bn import use_fused_batch_norm
    from mobilenet_repro.models import ARCHITECTURES, build_classifier, load_trusted_model
    from mobilenet_repro.pipeline import (
        epoch_permutations,
        make_dataset,
        preprocessing_fn,
        steps_per_epoch,
    )

    run_id = f"{spec['experiment']}/{spec['dataset']}/{spec['model_id']}/seed{spec['seed']}"
    model_cfg, recipe = spec["model"], spec["recipe"]
    keras.utils.set_random_seed(spec["seed"])

    def lap(name):
        nonlocal t_phase
        now = time.perf_counter()
        timings[name] = timings.get(name, 0.0) + now - t_phase
        t_phase = now

    lap("imports")
    ds = load_dataset(data_path, spec["dataset"])
    classes = model_cfg.get("classes") or ds.num_classes
    if classes < ds.num_classes:
        raise ValueError(
            f"{run_id}: models.{spec['model_id']}.classes is {classes} but data set "
            f"{spec['dataset']} has {ds.num_classes} classes; set classes to null"
        )
    x_train, y_train = ds.splits["train"]
    resolution = model_cfg["resolution"]
    batch_size = recipe["batch_size"]
    spe = steps_per_epoch(len(y_train), batch_size)
    epochs = recipe["epochs"]
    arch = ARCHITECTURES[model_cfg["arch"]]
    preprocess = preprocessing_fn(arch.imagenet_preprocess if model_cfg["weights"] else None)

    ckpt = Path(checkpoint_dir)
    state_file, ckpt_model = ckpt / "state.json", ckpt / "model.keras"
    fp = fingerprint(spec)
    lap("data_load")
    state = {"epoch": 0, "history": [], "train_seconds": 0.0, "resumed_from": []}
    if state_file.exists():
        saved = json.loads(state_file.read_text())
        if saved.get("fingerprint") == fp and ckpt_model.exists():
            state = saved
        else:
            _progress(f"[{run_id}] checkpoint in {ckpt} is from other settings; starting over")
    start_epoch = state["epoch"]

    schedule = make_schedule(recipe, spe)
    if start_epoch:
        _progress(f"[{run_id}] resuming from checkpoint after epoch {start_epoch}/{epochs}")
        state["resumed_from"].append(start_epoch)
        model = load_trusted_model(ckpt_model)
    else:
        model = build_classifier(
            model_cfg["arch"],
            classes=classes,
            resolution=resolution,
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
            # XLA on this CPU: 4 min of compilation and 12x slower steps (bench/throughput.py
            # variant keras_xla); Keras's "auto" would turn it on for the TensorFlow backend.
            jit_compile=False,
        )

    # The same computation up to float rounding, in fewer kernels (tests/test_fused_bn.py;
    # speed: bench/throughput.py variant keras_stock_bn).
    use_fused_batch_norm(model)

    def one_hot(x, y):
        import tensorflow as tf

        return x, tf.one_hot(y, classes)

    common = {"resolution": resolution, "preprocess": preprocess}
    train_ds = make_dataset(
        x_train,
        y_train,
        batch_size=batch_size,
        order=epoch_permutations(len(y_train), spec["seed"], start_epoch, epochs),
        augment=recipe["augment"],
        seed=spec["seed"],
        **common,
    ).map(one_hot)
    val_ds = make_dataset(*ds.splits["val"], batch_size=256, **common).map(one_hot)
    test_ds = make_dataset(*ds.splits["test"], batch_size=256, **common).map(one_hot)
    build_training_state(model, train_ds.element_spec)
    lap("build")

    # Keras computes the loss from the softmax's logits, so a blown-up run can report huge
    # finite losses instead of NaN; guessing uniformly costs ln(classes).
    loss_limit = DIVERGENCE_FACTOR * math.log(classes)

    class Checkpoint(keras.callbacks.Callback):
        """Record the epoch, stop on NaN, and save a resumable checkpoint atomically."""

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch, self.t0 = epoch, time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            loss = (logs or {}).get("loss")
            if loss is not None and (not np.isfinite(loss) or loss > loss_limit):
                raise TrainingDiverged(
                    f"run {run_id} diverged: training loss became {loss:.4g} in epoch "
                    f"{self.epoch + 1} (step {batch + 1}); lower recipe learning_rate"
                )

        def on_epoch_end(self, epoch, logs=None):
            seconds = time.perf_counter() - self.t0
            logs = dict(logs or {})
            row = {
                "epoch": epoch + 1,
                "loss": logs.get("loss"),
                "accuracy": logs.get("accuracy"),
                "val_loss": logs.get("val_loss"),
                "val_accuracy": logs.get("val_accuracy"),
                "learning_rate": _lr_at(schedule, (epoch + 1) * spe - 1),
                "seconds": seconds,
            }
            if not all(np.isfinite(v) for k, v in row.items() if v is not None):
                raise TrainingDiverged(
                    f"run {run_id} diverged: non-finite metrics at epoch {epoch + 1}: {row}"
                )
            state["history"].append(row)
            state["epoch"] = epoch + 1
            state["train_seconds"] += seconds
            state["fingerprint"] = fp
            t_save = time.perf_counter()
            ckpt.mkdir(parents=True, exist_ok=True)
            with atomic_path(ckpt_model) as tmp:
                tmp_keras = tmp.with_suffix(".keras")
                self.model.save(tmp_keras)
                os.replace(tmp_keras, tmp)
            write_json(state, state_file)
            timings["checkpoints"] = timings.get("checkpoints", 0.0) + time.perf_counter() - t_save
            _progress(
                f"[{run_id}] epoch {epoch + 1}/{epochs} loss={row['loss']:.4f} "
                f"acc={row['accuracy']:.4f} val_acc={row['val_accuracy']:.4f} "
                f"lr={row['learning_rate']:.2e} {seconds:.1f}s"
            )

    trained_now = epochs - start_epoch
    if trained_now > 0:
        model.fit(
            train_ds,
            epochs=epochs,
            initial_epoch=start_epoch,
            steps_per_epoch=spe,
            validation_data=val_ds,
            callbacks=[Checkpoint(), *(callbacks or [])],
            verbose=0,
        )
    lap("fit")
    test_loss, test_acc = model.evaluate(test_ds, verbose=0)
    lap("evaluate")
    if not np.isfinite(test_loss):
        raise TrainingDiverged(f"run {run_id}: test loss is {test_loss}")
    params, trainable = count_params(model)
    images_seen = len(y_train) * epochs
    metrics = {
        "run": run_id,
        "experiment": spec["experiment"],
        "dataset": spec["dataset"],
        "model": spec["model_id"],
        "arch": model_cfg["arch"],
        "alpha": model_cfg["alpha"],
        "resolution": resolution,
        "classes": classes,
        "seed": spec["seed"],
        "test_top1": float(test_acc),
        "test_loss": float(test_loss),
        "val_top1": state["history"][-1]["val_accuracy"],
        "params": params,
        "trainable_params": trainable,
        "mult_adds": count_mult_adds(model),
        "epochs": epochs,
        "epochs_trained_last_invocation": trained_now,
        "resumed": bool(state["resumed_from"]),
        "resumed_from_epochs": state["resumed_from"],
        "train_seconds": state["train_seconds"],
        "images_per_second": images_seen / state["train_seconds"]
        if state["train_seconds"]
        else None,
        "train_images": len(y_train),
        "val_images": len(ds.splits["val"][1]),
        "test_images": len(ds.splits["test"][1]),
        "recipe_name": spec["recipe_name"],
        "recipe": recipe,
        "model_config": model_cfg,
        "fingerprint": fp,
        "versions": package_versions(),
        "hardware": hardware_info(threads),
    }
    # Outputs: model, per-epoch history and per-step schedule first; metrics.json last.
    with atomic_path(out["model"]) as tmp:
        tmp_keras = tmp.with_suffix(".keras")
        model.save(tmp_keras)
        os.replace(tmp_keras, tmp)
    write_csv(pd.DataFrame(state["history"]), out["history"])
    # At most ~1000 points: enough for the figure, cheap for long paper-scale runs.
    steps = np.unique(np.linspace(0, epochs * spe - 1, min(epochs * spe, 1000)).astype(int))
    write_csv(
        pd.DataFrame(
            {
                "step": steps,
                "epoch": steps / spe,
                "learning_rate": [_lr_at(schedule, int(s)) for s in steps],
            }
        ),
        out["schedule"],
    )
    lap("finish")
    # Wall-clock phases of this invocation (seconds): where a job's time goes besides fit.
    metrics["timings"] = {k: None if v is None else round(v, 3) for k, v in timings.items()}
    write_json(metrics, out["metrics"])
    shutil.rmtree(ckpt, ignore_errors=True)
    _progress(f"[{run_id}] done: test top-1 {test_acc:.4f} in {state['train_seconds']:.1f}s")
    return metrics
