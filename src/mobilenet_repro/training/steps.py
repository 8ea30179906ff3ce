"""The steps of a run (`loop.train_run` calls them in order): data, model, streams, outputs.

Every random choice of a run is a function of its seed and saved state: the epoch orders
and augmentations are stateless functions of (seed, epoch, batch contents) (the tf.data
pipeline on TensorFlow, numpy batches on JAX and PyTorch; `backends` says which backend a
run uses); the layers' random state (dropout masks: Keras seed generators) and the
optimizer's state (its moments and step counter, inside the checkpoint's model file) are
saved with every checkpoint and restored (`checkpoint`).
"""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd

from mobilenet_repro.counting.counters import count_mult_adds, count_params
from mobilenet_repro.data.cache import read_dataset
from mobilenet_repro.data.numpy_batches import Batches, epoch_permutations, preprocessing_fn
from mobilenet_repro.files import write_csv
from mobilenet_repro.models.catalog import ARCHITECTURES, build_classifier, build_head
from mobilenet_repro.models.weights import weights_record
from mobilenet_repro.runs import Run
from mobilenet_repro.training.backends import JIT_COMPILE
from mobilenet_repro.training.callbacks import HISTORY_COLUMNS
from mobilenet_repro.training.checkpoint import Checkpoint, save_model
from mobilenet_repro.training.features import FeatureSet
from mobilenet_repro.training.fused_bn import use_fused_batch_norm
from mobilenet_repro.training.optimizers import from_recipe
from mobilenet_repro.training.plan import RunPlan
from mobilenet_repro.training.records import fingerprint, progress
from mobilenet_repro.training.schedules import lr_at

EVAL_BATCH_SIZE = 256  # images per batch when validating and testing
SCHEDULE_POINTS = 1000  # most rows (optimizer steps) written to lr_schedule.csv


def load_data(spec: dict, data):
    """The prepared data set and the model's class count (checked against the data's).

    `data`: the prepared .npz, or a function that returns the data set (the workflow's, which
    checks its cache against the manifest: data.cache.load_prepared)."""
    ds = read_dataset(data, spec["dataset"])
    classes = spec["model"].get("classes") or ds.num_classes
    if classes < ds.num_classes:
        raise ValueError(
            f"{Run.from_spec(spec).id}: models.{spec['model_id']}.classes is {classes} but "
            f"data set {spec['dataset']} has {ds.num_classes} classes; set classes to null"
        )
    return ds, classes


def set_bn_momentum(model, momentum: float) -> None:
    """Faster-moving batch-norm statistics for short runs from scratch.

    The architectures' momenta (0.99, 0.999) suit ImageNet's hundreds of thousands of steps;
    after a few hundred steps their moving statistics still lag the weights and inference
    accuracy collapses towards chance while training accuracy is high.
    """
    for layer in model._flatten_layers():
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = momentum


def build_model(
    model_cfg: dict,
    recipe: dict,
    classes: int,
    schedule,
    jit_compile=None,
    seed: int | None = None,
    features: int | None = None,
):
    """A compiled classifier for one model configuration and recipe (step 2 of a run).

    jit_compile (None: backends.JIT_COMPILE for the backend Keras runs on) stays off on
    TensorFlow: XLA on this CPU costs 4 min of compilation and makes steps 12x slower
    (studies/throughput.py variant keras_xla); Keras's "auto" would turn it on.
    """
    if jit_compile is None:
        jit_compile = JIT_COMPILE[keras.backend.backend()]
    # A transfer head starts from weights fixed by the run's seed, so that it is the same
    # whether it trains through the frozen base or on the base's cached features (`features`:
    # their dimension; the model is then the head alone, training.features).
    head_seed = seed if model_cfg["weights"] else None
    if features:
        model = build_head(features, classes, model_cfg["dropout"], head_seed)
    else:
        model = build_full_classifier(model_cfg, recipe, classes, head_seed)
    if recipe["bn_momentum"] is not None:
        set_bn_momentum(model, recipe["bn_momentum"])
    model.compile(
        optimizer=from_recipe(recipe, schedule),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=recipe["label_smoothing"]),
        metrics=["accuracy"],
        jit_compile=jit_compile,
    )
    return model


def build_full_classifier(model_cfg: dict, recipe: dict, classes: int, head_seed=None):
    return build_classifier(
        model_cfg["arch"],
        classes=classes,
        resolution=model_cfg["resolution"],
        alpha=model_cfg["alpha"],
        weights=model_cfg["weights"],
        freeze_base=recipe["freeze_base"],
        dropout=model_cfg["dropout"],
        head_seed=head_seed,
    )


def with_base(head, run: RunPlan) -> keras.Model:
    """The full classifier of a run trained on cached features: base and trained head."""
    model_cfg = run.spec["model"]
    full = build_full_classifier(model_cfg, run.recipe, run.classes, run.spec["seed"])
    full.get_layer("predictions").set_weights(head.get_layer("predictions").get_weights())
    return full


def restore_or_build(
    run: RunPlan, checkpoint: Checkpoint, features: int | None = None
) -> tuple[dict, keras.Model]:
    """Steps 1 and 2: the interrupted run's state and model, or a fresh state and a new one."""
    state, model = checkpoint.restore()
    start = state["epoch"]  # validation periods completed
    if model is not None:
        step = start * run.period_steps
        progress(
            f"[{run.id}] resuming from checkpoint after epoch {run.epochs_at(step)}/"
            f"{run.data_epochs} (step {step}/{run.total_steps})"
        )
        state["resumed_from"].append(start)
    else:
        model = build_model(
            run.spec["model"],
            run.recipe,
            run.classes,
            run.schedule,
            seed=run.spec["seed"],
            features=features,
        )
    # The same computation up to float rounding, in fewer kernels
    # (tests/training/test_fused_bn.py; speed: studies/throughput.py variant keras_stock_bn).
    use_fused_batch_norm(model)
    return state, model


def build_training_state(model, element_spec) -> None:
    """Create the optimizer's and metrics' variables before `fit` traces its train step.

    Otherwise Keras (TensorFlow backend, no distribution strategy) creates them while
    tracing, and tf.function then traces the whole train step a second time without
    variable creation: about half of a job's first-epoch overhead (studies/throughput.py).
    """
    x_spec, y_spec = element_spec
    symbolic_build = getattr(model, "_symbolic_build", None)  # Keras 3 trainers
    if symbolic_build is not None:
        symbolic_build(data_batch=(x_spec, y_spec, None))
    elif not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)


def make_streams(ds, run: RunPlan, start_step: int) -> dict:
    """Batched (image, one-hot label) streams: train from `start_step` on, val, test, the
    training split unaugmented in order (train_eval) and shuffled and augmented as trained
    (precise_bn).

    tf.data on the TensorFlow backend (data.tf_pipeline); numpy batches (data.numpy_batches)
    on the others, which then need no TensorFlow. Both give the same images in the same order.
    """
    model_cfg, seed = run.spec["model"], run.spec["seed"]
    arch = ARCHITECTURES[model_cfg["arch"]]
    common = {
        "resolution": model_cfg["resolution"],
        "preprocess": preprocessing_fn(arch.imagenet_preprocess if model_cfg["weights"] else None),
    }
    if isinstance(ds, FeatureSet):  # the base saw the preprocessed images when extracting
        common["preprocess"] = None
    if run.backend == "tensorflow":
        # Imported here: a JAX or PyTorch run works where TensorFlow is not installed.
        import tensorflow as tf

        from mobilenet_repro.data.tf_pipeline import make_dataset

        def make(*data, **kwargs):
            return make_dataset(*data, **kwargs).map(lambda x, y: (x, tf.one_hot(y, run.classes)))
    else:

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
    streams["test"] = make(*ds.splits["test"], batch_size=EVAL_BATCH_SIZE, **common)
    if run.recipe["validate_on"] == "test":
        streams["val"] = streams["test"]
    else:
        streams["val"] = make(*ds.splits["val"], batch_size=EVAL_BATCH_SIZE, **common)
    # The training split as tested (no augmentation): the train-test gap of seed 002 (c).
    streams["train_eval"] = make(x_train, y_train, batch_size=EVAL_BATCH_SIZE, **common)
    # The batch-norm pass's batches (precise_bn): training images augmented as trained (the
    # statistics the weights were trained under; unaugmented ones cost 2.2-3.8 points of
    # validation top-1 with CIFAR-10's zero-padded crops, studies/precise_bn_record.py), in
    # the order of the epoch after the run's last, so that they are a function of the seed.
    streams["precise_bn"] = make(
        x_train,
        y_train,
        batch_size=run.recipe["batch_size"],
        order=epoch_permutations(len(y_train), seed, run.data_epochs, run.data_epochs + 1),
        augment=run.recipe["augment"],
        seed=seed,
        **common,
    )
    return streams


def tested_row(state: dict) -> dict:
    """The history row of the tested weights: with early stopping the best validation's,
    else the last."""
    history = state["history"]
    return history[state["best"]["period"] - 1] if state.get("best") else history[-1]


def run_metrics(
    run: RunPlan, ds, model, state: dict, test: tuple, train_eval: tuple, trained_now: int
) -> dict:
    """metrics.json's content (timings are added by train_run once everything is written)."""
    spec, model_cfg = run.spec, run.spec["model"]
    test_loss, test_acc = test
    last, tested = state["history"][-1], tested_row(state)
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
        # Which pretrained file the run started from (path and sha256), when it had one.
        **({"weights_file": weights_record(model_cfg)} if model_cfg.get("weights") else {}),
        "fingerprint": fingerprint(spec),
    }


def published(model) -> keras.Model:
    """The trained network without its compile state: what model.keras holds.

    The optimizers and schedules (training.optimizers, training.schedules) are this package's
    classes, which keras.models.load_model finds only where the package was imported first;
    their state is needed to resume a run, and the checkpoints keep it.
    """
    return keras.Model(model.inputs, model.outputs, name=model.name)


def write_outputs(run: RunPlan, model, history: list, out: dict) -> None:
    """model.keras, history.csv and lr_schedule.csv (metrics.json is written after these)."""
    save_model(published(model), out["model"])
    write_csv(pd.DataFrame(history, columns=list(HISTORY_COLUMNS)), out["history"])
    total = run.total_steps
    steps = np.unique(np.linspace(0, total - 1, min(total, SCHEDULE_POINTS)).astype(int))
    schedule = {
        "step": steps,
        "epoch": steps / run.steps_per_epoch,
        "learning_rate": [lr_at(run.schedule, int(s)) for s in steps],
    }
    write_csv(pd.DataFrame(schedule), out["schedule"])
