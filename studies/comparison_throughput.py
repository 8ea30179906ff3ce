"""Training and evaluation throughput of one model of a configuration, for budget arithmetic.

    nice -n 15 .venv/bin/python studies/comparison_throughput.py \\
        config/cifar10-comparison.yaml vgg16_0.50_32 --steps 30

Builds the model as a run does (the configuration's first experiment's recipe: optimizer,
batch-norm momentum, batch size), feeds random 32x32 uint8 images through the runs' tf.data
pipeline (resized to the model's resolution), trains `--steps` steps after 5 of warm-up, then
evaluates 2,048 images at the runs' evaluation batch. Prints one JSON line: images per second of
the process's CPU time (what a CPU-hour budget counts, and little changed by other jobs on a
shared machine) and of wall time. docs/comparisons.md ("The CIFAR-10 configuration") uses it.
"""

from __future__ import annotations

import argparse
import json
import time

from mobilenet_repro.training import backends


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("config")
    parser.add_argument("model")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch-size", type=int, help="default: the recipe's")
    args = parser.parse_args()

    backends.select("tensorflow", args.threads)
    import keras
    import numpy as np

    from mobilenet_repro.data.tf_pipeline import make_dataset
    from mobilenet_repro.run_model import run_spec
    from mobilenet_repro.training.plan import RunPlan
    from mobilenet_repro.training.steps import EVAL_BATCH_SIZE, build_model
    from mobilenet_repro.validation import load_config

    backends.configure("tensorflow", args.threads)
    config = load_config(args.config)
    experiment = next(iter(config["experiments"]))
    dataset = config["experiments"][experiment]["datasets"][-1]
    spec = run_spec(config, experiment, dataset, args.model, 0)
    run = RunPlan(spec, classes=10, train_images=10_000)
    model_cfg = {"weights": None, "dropout": 0.0, **spec["model"]}
    model = build_model(model_cfg, run.recipe, 10, run.schedule)
    batch = args.batch_size or run.recipe["batch_size"]

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (max(batch * (args.steps + 5), 2048), 32, 32, 3), dtype=np.uint8)
    y = rng.integers(0, 10, len(x))
    res = model_cfg["resolution"]
    order = rng.permutation(len(x))[None]
    train = iter(make_dataset(x, y, resolution=res, batch_size=batch, order=order))

    def step():
        xb, yb = next(train)
        model.train_on_batch(xb, keras.ops.one_hot(yb, 10))

    for _ in range(5):
        step()
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(args.steps):
        step()
    train_cpu, train_wall = time.process_time() - cpu, time.perf_counter() - wall

    evaluation = make_dataset(x[:2048], y[:2048], resolution=res, batch_size=EVAL_BATCH_SIZE)
    for xb, _ in evaluation.take(1):
        model.predict_on_batch(xb)
    cpu, wall, seen = time.process_time(), time.perf_counter(), 0
    for xb, _ in evaluation:
        model.predict_on_batch(xb)
        seen += len(xb)
    eval_cpu, eval_wall = time.process_time() - cpu, time.perf_counter() - wall

    images = args.steps * batch
    record = {
        "model": args.model,
        "params": model.count_params(),
        "threads": args.threads,
        "batch": batch,
        "steps": args.steps,
        "train_img_per_cpu_s": round(images / train_cpu, 1),
        "train_img_per_wall_s": round(images / train_wall, 1),
        "eval_img_per_cpu_s": round(seen / eval_cpu, 1),
        "eval_img_per_wall_s": round(seen / eval_wall, 1),
    }
    print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
