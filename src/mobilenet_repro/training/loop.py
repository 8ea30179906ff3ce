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

A run is seven steps, in this order (`train_run`; each step is in `steps`):

1. restore  the checkpoint of an interrupted run, if one is there and readable;
2. build    the model and its optimizer (or take the restored one);
3. data     the prepared data set as batched training, validation and test streams;
4. fit      the remaining validation periods, with the period callbacks (`callbacks`);
5. settle   the batch-norm statistics, recomputed for the weights to be tested
            (`precise_bn`, with `precise_bn_batches`);
6. evaluate on the test split (and, with weight averaging or flipped tests, every test-time
            variant: `evaluation`);
7. write    the outputs, metrics.json last, then delete the checkpoint; a run that ended
            at chance while its training accuracy is high is named (`diagnosis`).

Keras reads its backend when it is first imported, so a job selects the run's backend
(`backends.select`) before importing this module.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from mobilenet_repro.files import write_json
from mobilenet_repro.runs import DEFAULT as DEFAULT_BACKEND
from mobilenet_repro.runs import Run
from mobilenet_repro.training.backends import configure
from mobilenet_repro.training.callbacks import EarlyStopping, TrainingDiverged, period_callbacks
from mobilenet_repro.training.checkpoint import Checkpoint
from mobilenet_repro.training.diagnosis import record_warnings
from mobilenet_repro.training.evaluation import RawWeights, test_variants, tested_variant
from mobilenet_repro.training.features import FeatureSet, cacheable
from mobilenet_repro.training.lock import trainer_lock
from mobilenet_repro.training.plan import RunPlan
from mobilenet_repro.training.precise_bn import settle_statistics
from mobilenet_repro.training.records import (
    Timings,
    fingerprint,
    hardware_info,
    package_versions,
    progress,
)
from mobilenet_repro.training.steps import (
    build_training_state,
    load_data,
    make_streams,
    restore_or_build,
    run_metrics,
    tested_row,
    with_base,
    write_outputs,
)


def train_run(
    spec: dict,
    data,
    out: dict,
    checkpoint_dir: str | Path,
    threads: int = 1,
    callbacks: list | None = None,
    checkpoint_every_s: float = 0.0,
    features_path: str | Path | None = None,
) -> dict:
    """Train one run described by `spec` (see run_model.run_spec) and write its outputs.

    `data`: the prepared .npz, or a function returning the data set (training.steps.load_data).
    `out` maps metrics, history, schedule and model to file paths. `callbacks` are extra
    Keras callbacks for `fit` (the benchmarks time steps with one). A checkpoint is written
    at a validation once `checkpoint_every_s` seconds have passed since the last one (0:
    at every validation); the cadence never changes the numbers, only what a kill loses.
    `features_path`: the frozen base's cached features of this run's data and model
    (training.features); the head trains on them and the saved model is the full classifier.
    """
    with trainer_lock(checkpoint_dir, Run.from_spec(spec).id):
        return _train_locked(
            spec, data, out, checkpoint_dir, threads, callbacks, checkpoint_every_s,
            features_path,
        )  # fmt: skip


def _train_locked(
    spec, data, out, checkpoint_dir, threads, callbacks, checkpoint_every_s, features_path
):
    """train_run's steps, with the run's trainer lock held."""
    timings = Timings()
    backend = spec.get("backend", DEFAULT_BACKEND)
    configure(backend, threads)  # Keras must already run on it (backends.select)
    keras.utils.set_random_seed(spec["seed"])
    timings.lap("imports")
    ds, classes = _load(spec, data, features_path)
    run = RunPlan(spec, classes, train_images=len(ds.splits["train"][1]))
    timings.lap("data_load")

    # 1. restore, 2. build
    checkpoint = Checkpoint(Path(checkpoint_dir), fingerprint(spec), run.id)
    state, model = restore_or_build(run, checkpoint, ds.dim if features_path else None)
    start = state["epoch"]  # validation periods completed
    # 3. data
    streams = make_streams(ds, run, start * run.period_steps)
    build_training_state(model, streams["train"].element_spec)
    timings.lap("build")

    # 4. fit
    period = period_callbacks(run, checkpoint, state, timings, checkpoint_every_s)
    raw, trained_now = _fit(model, streams, run, state, start, period, callbacks or [])
    if state.get("best"):
        early_stopping = next(c for c in period if isinstance(c, EarlyStopping))
        model.set_weights(early_stopping.best_weights or checkpoint.restore_best(state))
    timings.lap("fit")
    # 5. settle
    bn_record = settle_statistics(model, streams, run, raw, tested_row(state)["val_accuracy"])
    timings.lap("precise_bn")
    # 6. evaluate
    evaluated = _evaluate(model, streams, run, raw.weights)
    timings.lap("evaluate")

    # 7. write: model, per-epoch history and per-step schedule first; metrics.json last.
    model, metrics = _metrics(
        run, ds, model, state, evaluated, trained_now, bn_record, features_path, threads
    )
    write_outputs(run, model, state["history"], out)
    timings.lap("finish")
    metrics["timings"] = timings.rounded()
    write_json(metrics, out["metrics"])
    checkpoint.delete()
    test_top1 = evaluated[0][1]
    progress(f"[{run.id}] done: test top-1 {test_top1:.4f} in {state['train_seconds']:.1f}s")
    return metrics


def _load(spec: dict, data, features_path):
    """The run's data set, or its frozen base's cached features of it, and its class count."""
    ds, classes = load_data(spec, data)
    if features_path is not None:
        if not cacheable(spec):
            raise ValueError(f"run {Run.from_spec(spec).id} cannot train on cached features")
        ds = FeatureSet.load(features_path)
    return ds, classes


def _fit(model, streams: dict, run: RunPlan, state: dict, start: int, period, callbacks):
    """Step 4: train the validation periods not done yet (`period`: the run's own callbacks,
    `callbacks`: the caller's). Returns the callback that keeps the raw weights beside an
    average, and the number of periods trained in this process."""
    trained_now = 0 if state.get("stopped_early") else run.periods - start
    raw = RawWeights(run.periods)
    if trained_now > 0:
        model.fit(
            streams["train"],
            epochs=run.periods,
            initial_epoch=start,
            steps_per_epoch=run.period_steps,
            validation_data=streams["val"],
            callbacks=[*period, raw, *callbacks],
            verbose=0,
            # The batches come in the run's own epoch orders (numpy_batches.epoch_permutations);
            # Keras would otherwise reorder a PyDataset's batches (JAX, PyTorch) with its
            # global generator, and a resumed run would not see the uninterrupted one's.
            shuffle=False,
        )
        trained_now = state["epoch"] - start
    elif run.recipe["ema_decay"]:
        # Killed after its last checkpoint: fit does not run, so swap the average in here.
        raw.weights = model.get_weights()
        model.optimizer.finalize_variable_values(model.trainable_variables)
    return raw, trained_now


def _metrics(run, ds, model, state, evaluated, trained_now, bn_record, features_path, threads):
    """Step 7's record of the run (metrics.json, but its timings), and the model to save: the
    whole classifier, where the head alone trained on cached features."""
    test, variants, train_eval = evaluated
    if features_path is not None:  # the head alone trained: save and count the whole model
        model = with_base(model, run)
    metrics = run_metrics(run, ds, model, state, test, train_eval, trained_now)
    if features_path is not None:
        metrics["features"] = {"path": str(features_path), "extract_seconds": ds.meta["seconds"]}
    if variants:
        metrics.update(test_top1_variants=variants, tested_variant=tested_variant(run.recipe))
    if bn_record:
        metrics["precise_bn"] = bn_record
    record_warnings(metrics, tested_row(state))
    backend = run.backend
    metrics.update(versions=package_versions(backend), hardware=hardware_info(threads, backend))
    return model, metrics


def _evaluate(model, streams: dict, run: RunPlan, raw_weights):
    """Step 6: (test loss and top-1 of the tested variant, every variant's top-1 or None,
    the training split's loss and top-1)."""
    test = model.evaluate(streams["test"], verbose=0)
    variants = None
    recipe = run.recipe
    if recipe["ema_decay"] or recipe["test_time_flip"] or recipe["test_time_translate"]:
        # Without a weight average the model holds the raw weights: no "ema" variants.
        raw = raw_weights if recipe["ema_decay"] else None
        variants = test_variants(model, streams["test"], raw, recipe["test_time_translate"])
        test = [test[0], variants[tested_variant(run.recipe)]]
    if not np.isfinite(test[0]):
        raise TrainingDiverged(f"run {run.id}: test loss is {test[0]}")
    return test, variants, model.evaluate(streams["train_eval"], verbose=0)
