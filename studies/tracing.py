"""Benchmark: a training job's first step (tracing) and steady step, Keras's Adam vs FusedAdam.

Each measurement is a fresh process, as a training job is: build the model as a run does
(`train.build_model`, fused batch norm, `build_training_state`), then time the first
`fit` step (tracing the train step) and the median of the next steps, on random images,
batch 32, one thread (the default configuration's jobs). Optimizers alternate, `--reps`
times, so that a noisy machine affects both alike.

    python studies/tracing.py                      # about 5 minutes on 2 cores
    python studies/tracing.py --models mobilenet_v2:32:1.0 --reps 3

Writes JSON (machine, versions, every repetition, medians) to `--out`
(default studies/results/tracing.json).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from input_pipeline import ROOT, machine

BENCH = Path(__file__).resolve().parent
DEFAULT_MODELS = ("mobilenet_v2:32:1.0", "inception_v3:75:0.25", "vgg16:32:0.25")
OPTIMIZERS = ("keras_adam", "fused_adam")


def worker(model: str, optimizer: str, steps: int) -> dict:
    sys.path.insert(0, str(ROOT / "src"))
    from mobilenet_repro.training.backends import configure_tensorflow
    from mobilenet_repro.training.steps import build_training_state

    configure_tensorflow(1)
    import keras
    import numpy as np
    import tensorflow as tf

    from mobilenet_repro.models.catalog import build_classifier
    from mobilenet_repro.training.fused_bn import use_fused_batch_norm
    from mobilenet_repro.training.optimizers import FusedAdam

    arch, res, alpha = model.split(":")
    keras.utils.set_random_seed(0)
    net = build_classifier(arch, classes=10, resolution=int(res), alpha=float(alpha))
    use_fused_batch_norm(net)
    opt = FusedAdam() if optimizer == "fused_adam" else keras.optimizers.Adam()
    net.compile(optimizer=opt, loss="categorical_crossentropy", jit_compile=False)
    rng = np.random.default_rng(0)
    x = rng.random((32 * (steps + 1), int(res), int(res), 3), dtype=np.float32)
    y = keras.utils.to_categorical(rng.integers(0, 10, len(x)), 10)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)
    build_training_state(net, ds.element_spec)
    t0 = time.perf_counter()
    net.fit(ds.take(1), verbose=0)
    first = time.perf_counter() - t0
    times = []
    for batch in ds.skip(1):
        t0 = time.perf_counter()
        net.train_on_batch(*batch)
        times.append(time.perf_counter() - t0)
    return {"first_step_seconds": first, "step_seconds": statistics.median(times)}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS), help="arch:res:alpha")
    p.add_argument("--reps", type=int, default=2)
    p.add_argument("--steps", type=int, default=10, help="steady steps timed after the first")
    p.add_argument("--out", type=Path, default=BENCH / "results" / "tracing.json")
    p.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(*args.worker, args.steps)))
        return {}
    reps = []
    for model in args.models:
        for rep in range(args.reps):
            for optimizer in OPTIMIZERS:
                cmd = [sys.executable, __file__, "--worker", model, optimizer]
                cmd += ["--steps", str(args.steps)]
                out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
                row = {"model": model, "optimizer": optimizer, "rep": rep}
                row |= json.loads(out.strip().splitlines()[-1])
                reps.append(row)
                print(row, file=sys.stderr, flush=True)
    medians = {
        f"{m} {o}": {
            k: statistics.median(r[k] for r in reps if r["model"] == m and r["optimizer"] == o)
            for k in ("first_step_seconds", "step_seconds")
        }
        for m in args.models
        for o in OPTIMIZERS
    }
    result = {"kind": "tracing", **machine(1), "settings": vars(args) | {"out": str(args.out)}}
    result |= {"reps": reps, "medians": medians}
    args.out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(json.dumps(medians, indent=2), file=sys.stderr)
    return result


if __name__ == "__main__":
    main()
