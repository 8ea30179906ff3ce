"""Every test-time augmentation's top-1 on one saved run's weights.

    .venv/bin/python studies/tta_record.py results/runs/<exp>/<dataset>/<model>/seed<k>
        [--translate 1] [--split test|val] [--data resources/datasets/<dataset>.npz]
        [--out tta.json]

Loads the run's model.keras with plain Keras (the weights it was tested with: the averaged
ones with ema_decay) and the test split of the prepared data set the workflow trained it on
(resources/datasets/<dataset>.npz of the checkout holding the run; the run's metrics.json
names the data set, resolution and preprocessing), batched as training tests it
(data.numpy_batches: the same images as the tf.data path). Prints, and writes to --out
(default: tta.json in the run's folder), the top-1 of each view on those same weights: plain,
flip, translate and flip_translate (airbench's views, training.evaluation), with the variants
the run itself recorded beside them. A run trained without test-time augmentation is measured
with it here without retraining. `--split val` measures the views on the run's validation split
instead (`val_top1` in tta_val.json): where test-time views are chosen, not only measured.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from mobilenet_repro import paths  # noqa: E402

VIEWS = {"plain": (False, False), "flip": (True, False)}
VIEWS.update(translate=(False, True), flip_translate=(True, True))


def test_stream(metrics: dict, data: Path, classes: int, split: str = "test"):
    """The run's test split (or another `split`) as its training tested it: resized to the
    model's resolution and preprocessed as the run's model expects."""
    from mobilenet_repro.data import load_dataset
    from mobilenet_repro.data.numpy_batches import Batches, preprocessing_fn
    from mobilenet_repro.models.catalog import ARCHITECTURES
    from mobilenet_repro.training.steps import EVAL_BATCH_SIZE

    model_cfg = metrics["model_config"]
    arch = ARCHITECTURES[model_cfg["arch"]]
    weights = model_cfg.get("weights")
    splits = {k: v for k, v in load_dataset(data, metrics["dataset"]).splits.items() if len(v[1])}
    if split not in splits:
        raise SystemExit(
            f"the prepared data set {data} has no {split} split (it has: {', '.join(splits)})"
        )
    x, y = splits[split]
    return Batches(
        x,
        y,
        resolution=model_cfg["resolution"],
        batch_size=EVAL_BATCH_SIZE,
        classes=classes,
        preprocess=preprocessing_fn(arch.imagenet_preprocess if weights else None),
    )


def _checkout(run_dir: Path) -> Path:
    """The checkout whose results/runs/<exp>/<dataset>/<model>/seed<k> `run_dir` is (its
    prepared data sets sit beside), or this one for a run folder kept elsewhere."""
    run_dir = run_dir.resolve()
    depth, runs = len(Path(paths.RUN_DIR).parts), Path(paths.RUNS_DIR).parts
    if run_dir.parts[-depth:][: len(runs)] == runs:  # the templates' depth, not a copy of it
        return run_dir.parents[depth - 1]
    return ROOT


def load_run(run_dir: Path, data: Path | None = None):
    """(metrics.json, the prepared data set's path, the saved model) of a run folder; the data
    set is the run's checkout's unless `data` names one. Fails before loading anything when
    the data set is missing, naming both fixes."""
    import keras

    metrics = json.loads((run_dir / "metrics.json").read_text())
    data = Path(data or _checkout(run_dir) / paths.DATASET.format(dataset=metrics["dataset"]))
    if not data.is_file():
        raise SystemExit(
            f"no prepared data set at {data}: pass the one the run trained on with --data, or "
            f"prepare it with snakemake {paths.DATASET.format(dataset=metrics['dataset'])}"
        )
    # Plain Keras, safe mode: the weights need nothing of this package. compile=False: runs
    # saved before model.keras dropped its compile state name this package's optimizer.
    return metrics, data, keras.models.load_model(run_dir / paths.RUN_FILES["model"], compile=False)


def main(
    run_dir: Path,
    translate: int = 1,
    data: Path | None = None,
    out: Path | None = None,
    split: str = "test",
):
    from mobilenet_repro.training.evaluation import top1

    run_dir = Path(run_dir)
    metrics, data, model = load_run(run_dir, data)
    stream = test_stream(metrics, data, classes=model.output_shape[-1], split=split)
    record = {
        "run": metrics.get("run", str(run_dir)),
        "data": str(data),
        f"{split}_images": len(stream.labels),
        "translate_pixels": translate,
        f"{split}_top1": {
            name: top1(model, stream, flip, translate if moved else 0)
            for name, (flip, moved) in VIEWS.items()
            if translate or not moved
        },
        # The run's own record, for comparison: its tested variant is the weights saved.
        "recorded": {
            "test_top1": metrics.get("test_top1"),
            "tested_variant": metrics.get("tested_variant"),
            "test_top1_variants": metrics.get("test_top1_variants", {}),
        },
    }
    out = Path(out or run_dir / ("tta.json" if split == "test" else f"tta_{split}.json"))
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))
    return record


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path, help="results/runs/<exp>/<dataset>/<model>/<seed>")
    parser.add_argument("--translate", type=int, default=1, help="pixels (airbench: 1)")
    parser.add_argument("--data", type=Path, help="the prepared data set (.npz)")
    parser.add_argument("--split", choices=("test", "val"), default="test", help="split measured")
    parser.add_argument(
        "--out", type=Path, help="JSON written (default: <run_dir>/tta.json, tta_val.json for val)"
    )
    args = parser.parse_args()
    main(args.run_dir, args.translate, args.data, args.out, args.split)
