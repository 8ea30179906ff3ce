"""Batch-norm statistics recomputed on augmented against unaugmented training images, on one
saved run's weights.

    .venv/bin/python studies/precise_bn_record.py results/runs/<exp>/<dataset>/<model>/seed<k>
        [--batches 50] [--data resources/datasets/<dataset>.npz] [--out precise_bn.json]

The pipeline's batch-norm pass (training.precise_bn) recomputes the moving statistics on
training images as tested, without augmentation. detectron2's PreciseBN hook (and Wu and
Johnson, "Rethinking 'Batch' in BatchNorm", 2021) uses the training loader's batches, augmented
as trained. With CIFAR-10's zero-padded crops (on average 13% of each crop's pixels are the black
border) the two differ. This loads the run's model.keras with plain Keras and gives the
validation and test top-1 (plain view) of the same weights with three sets of statistics:

- saved: the statistics in model.keras (the moving averages of training, or the run's own
  recomputation where it had one);
- unaugmented: recomputed on `--batches` batches of training images as tested (the pipeline's);
- augmented: recomputed on the same images with the run's training augmentation.

Both recomputations use the batches of the pipeline's pass (the order of the epoch after the
run's last, from its seed) and the run's batch size. Written to --out (default: precise_bn.json
in the run's folder).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "studies"))

from tta_record import load_run  # noqa: E402


def streams(metrics: dict, data: Path, classes: int) -> dict:
    """The run's validation and test splits as tested, and its training split in the order of
    the pipeline's batch-norm pass, unaugmented and augmented as trained."""
    from mobilenet_repro.data import load_dataset
    from mobilenet_repro.data.numpy_batches import Batches, epoch_permutations, preprocessing_fn
    from mobilenet_repro.models.catalog import ARCHITECTURES
    from mobilenet_repro.training.steps import EVAL_BATCH_SIZE

    model_cfg, recipe, seed = metrics["model_config"], metrics["recipe"], metrics["seed"]
    arch = ARCHITECTURES[model_cfg["arch"]]
    common = {
        "resolution": model_cfg["resolution"],
        "classes": classes,
        "preprocess": preprocessing_fn(
            arch.imagenet_preprocess if model_cfg.get("weights") else None
        ),
    }
    splits = load_dataset(data, metrics["dataset"]).splits
    x_train, y_train = splits["train"]
    epochs = metrics["epochs"]
    order = epoch_permutations(len(y_train), seed, epochs, epochs + 1)
    train = {
        augment: Batches(
            x_train,
            y_train,
            batch_size=recipe["batch_size"],
            order=order,
            augment=augment,
            seed=seed,
            **common,
        )
        for augment in ("none", recipe["augment"])
    }
    evaluation = {
        split: Batches(*splits[split], batch_size=EVAL_BATCH_SIZE, **common)
        for split in ("val", "test")
        if len(splits[split][1])
    }
    return {"unaugmented": train["none"], "augmented": train[recipe["augment"]]} | evaluation


def main(run_dir: Path, batches: int = 50, data: Path | None = None, out: Path | None = None):
    from mobilenet_repro.training.evaluation import top1
    from mobilenet_repro.training.precise_bn import recompute_bn_statistics

    run_dir = Path(run_dir)
    metrics, data, model = load_run(run_dir, data)
    data_streams = streams(metrics, data, classes=model.output_shape[-1])
    saved = model.get_weights()
    evaluated = [s for s in ("val", "test") if s in data_streams]
    record = {
        "run": metrics.get("run", str(run_dir)),
        "data": str(data),
        "batches": batches,
        "batch_size": metrics["recipe"]["batch_size"],
        "augment": metrics["recipe"]["augment"],
        "images": {s: len(data_streams[s].labels) for s in evaluated},
        "top1": {},
    }
    for statistics in ("saved", "unaugmented", "augmented"):
        model.set_weights(saved)
        if statistics != "saved":
            recompute_bn_statistics(model, data_streams[statistics], batches)
        record["top1"][statistics] = {
            s: top1(model, data_streams[s], flip=False) for s in evaluated
        }
        print(statistics, record["top1"][statistics], flush=True)
    record["recorded"] = {
        "precise_bn": metrics.get("precise_bn"),
        "val_top1": metrics.get("val_top1"),
        "test_top1_variants": metrics.get("test_top1_variants", {}),
    }
    out = Path(out or run_dir / "precise_bn.json")
    out.write_text(json.dumps(record, indent=2) + "\n")
    return record


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path, help="results/runs/<exp>/<dataset>/<model>/<seed>")
    parser.add_argument("--batches", type=int, default=50, help="batches recomputed over")
    parser.add_argument("--data", type=Path, help="the prepared data set (.npz)")
    parser.add_argument(
        "--out", type=Path, help="JSON written (default: <run_dir>/precise_bn.json)"
    )
    args = parser.parse_args()
    main(args.run_dir, args.batches, args.data, args.out)
