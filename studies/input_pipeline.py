"""Benchmark: cost of the tf.data input pipeline, and peak memory of a CIFAR-10 training job.

Not a test: run it by hand on an otherwise quiet machine.

1. Pipeline overhead. The CIFAR MobileNetV2 trains for one epoch on `--train-images` CIFAR-10
   images, alternately (a) from float32 batches that are already preprocessed and in memory
   (the reference: no input work at all) and (b) through `pipeline.make_dataset` exactly as
   `train.py` uses it (uint8 arrays, per-batch gather, CIFAR augmentation, preprocessing,
   autotuned prefetch), and (c) the same pipeline without augmentation. Modes are interleaved
   within each repetition (the order rotates) so that drifting load on a shared machine hits
   all of them alike. Reported: every epoch's wall and CPU time, the medians, and the
   overhead median(b) / median(a) - 1 (also per repetition, paired). On a machine shared
   with other jobs the wall times scatter by tens of per cent, far more than the effect; the
   robust figures are the CPU-time overhead and the upper bound: the CPU seconds the
   pipeline alone spends on an epoch divided by the wall time of an epoch from memory (what
   it could add if none of its work overlapped with training).
2. Peak RSS (`--rss-job`): a real training job (`train.train_run`, one epoch, validation and
   test evaluation, checkpoint and model saving) on the full prepared CIFAR-10, in a child
   process; its peak resident memory is ru_maxrss of the child, cross-checked by sampling.

Data: the real CIFAR-10 JPEG copy (`--archive`, default ../shared/data/cifar10-jpeg.tar.gz),
prepared once through the image_folder source into `--cache`.

    python studies/input_pipeline.py --train-images 2560 --reps 3
    python studies/input_pipeline.py --rss-job

Writes JSON (machine, versions, settings, all repetitions, medians) to `--out`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ARCHIVE = ROOT.parent / "shared" / "data" / "cifar10-jpeg.tar.gz"
ARCHIVE_SHA256 = "e20d59972b8a202e76a349914ad58f161947a2aa3f002b4c26018bf15664c0be"


def dataset_spec(archive: Path) -> dict:
    return {
        "source": "image_folder",
        "path": str(archive),
        "sha256": ARCHIVE_SHA256,
        "split": {"val_fraction": 0.15, "seed": 0},
    }


def prepared(archive: Path, cache: Path) -> Path:
    from mobilenet_repro.data import save_dataset
    from mobilenet_repro.data.prepare import prepare_dataset

    if not cache.exists():
        if not archive.exists():
            sys.exit(f"{archive} is absent; pass --archive (see ../shared/data/README.md)")
        print(f"preparing {archive} -> {cache}", file=sys.stderr)
        save_dataset(
            prepare_dataset("cifar10_jpeg", dataset_spec(archive), ROOT / "resources"), cache
        )
    return cache


def machine(threads: int) -> dict:
    from mobilenet_repro.training.records import hardware_info, package_versions

    return {
        "hardware": hardware_info(threads),
        "versions": package_versions(),
        "loadavg_start": os.getloadavg(),
        "python": sys.version,
        "platform": platform.platform(),
    }


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def overhead(args) -> dict:
    from mobilenet_repro.training.backends import configure_tensorflow

    configure_tensorflow(args.threads)
    import keras
    import tensorflow as tf

    from mobilenet_repro.data import load_dataset
    from mobilenet_repro.data.tf_pipeline import epoch_permutations, make_dataset, preprocessing_fn
    from mobilenet_repro.models.catalog import build_classifier

    keras.utils.set_random_seed(0)
    ds = load_dataset(prepared(args.archive, args.cache))
    x_all, y_all = ds.splits["train"]
    bs = args.batch_size
    n = min(args.train_images, len(y_all)) // bs * bs  # whole batches: same steps in all modes
    x, y = x_all[:n], y_all[:n]
    steps = n // bs
    preprocess = preprocessing_fn(None)

    # (a) reference: preprocessed float32 batches already in memory.
    xf = preprocess(x.astype(np.float32)).reshape(steps, bs, 32, 32, 3)
    yf = keras.utils.to_categorical(y, 10).reshape(steps, bs, 10)
    memory = tf.data.Dataset.from_tensor_slices((tf.constant(xf), tf.constant(yf)))

    def one_hot(a, b):
        return a, tf.one_hot(b, 10)

    def pipeline(augment):
        return make_dataset(
            x,
            y,
            resolution=32,
            batch_size=bs,
            preprocess=preprocess,
            order=epoch_permutations(n, 0, 0, 1),
            augment=augment,
            seed=0,
        ).map(one_hot)

    # Built once, as train.py builds its dataset once for all epochs; each fit call below
    # iterates one epoch of it afresh.
    built = {"flip_crop": pipeline("flip_crop"), "none": pipeline("none")}
    modes = {
        "memory": lambda: memory,
        "pipeline_flip_crop": lambda: built["flip_crop"],
        "pipeline_no_augment": lambda: built["none"],
    }
    model = build_classifier("cifar_mobilenet_v2", classes=10, resolution=32, alpha=args.alpha)
    model.compile(
        optimizer=keras.optimizers.RMSprop(1e-3),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )

    class Timer(keras.callbacks.Callback):
        """Wall time and CPU time (all threads of this process) of one epoch."""

        def on_epoch_begin(self, epoch, logs=None):
            self.t0, self.c0 = time.perf_counter(), _cpu_seconds()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds = time.perf_counter() - self.t0
            self.cpu_seconds = _cpu_seconds() - self.c0

    for make in modes.values():  # trace the train step once per input kind
        model.fit(make(), epochs=1, steps_per_epoch=min(3, steps), verbose=0)
    # The pipeline alone (no training): the work it adds per epoch, in wall and CPU seconds.
    # Even if none of it overlapped with training, it could add no more than this.
    pipeline_alone, pipeline_alone_cpu = [], []
    for _ in range(args.reps):
        t0, c0 = time.perf_counter(), _cpu_seconds()
        for _batch in built["flip_crop"]:
            pass
        pipeline_alone.append(time.perf_counter() - t0)
        pipeline_alone_cpu.append(_cpu_seconds() - c0)
    modes = {m: modes[m] for m in ["memory", *args.modes]}
    times = {m: [] for m in modes}
    cpu = {m: [] for m in modes}
    order = list(modes)
    for rep in range(args.reps):
        rotated = order[rep % len(order) :] + order[: rep % len(order)]
        for name in rotated:
            timer = Timer()
            model.fit(modes[name](), epochs=1, steps_per_epoch=steps, verbose=0, callbacks=[timer])
            times[name].append(timer.seconds)
            cpu[name].append(timer.cpu_seconds)
            print(
                f"rep {rep + 1}/{args.reps} {name}: {timer.seconds:.2f}s wall, "
                f"{timer.cpu_seconds:.2f}s CPU ({n / timer.seconds:.1f} img/s), "
                f"load {os.getloadavg()[0]:.2f}",
                file=sys.stderr,
                flush=True,
            )
    med = {m: statistics.median(t) for m, t in times.items()}
    paired = {
        m: [t / r - 1 for t, r in zip(times[m], times["memory"], strict=True)]
        for m in modes
        if m != "memory"
    }
    return {
        "kind": "pipeline_overhead",
        "settings": {
            "model": "cifar_mobilenet_v2",
            "alpha": args.alpha,
            "resolution": 32,
            "batch_size": bs,
            "train_images": n,
            "steps_per_epoch": steps,
            "reps": args.reps,
            "modes": ["memory", *args.modes],
            "threads": args.threads,
            "optimizer": "rmsprop",
            "op_determinism": True,
            "data": str(args.archive),
        },
        "epoch_seconds": times,
        "median_epoch_seconds": med,
        "images_per_second_median": {m: n / s for m, s in med.items()},
        "overhead_vs_memory": {m: med[m] / med["memory"] - 1 for m in modes if m != "memory"},
        "overhead_vs_memory_paired": paired,
        "overhead_vs_memory_paired_median": {m: statistics.median(v) for m, v in paired.items()},
        "epoch_cpu_seconds": cpu,
        "median_epoch_cpu_seconds": {m: statistics.median(c) for m, c in cpu.items()},
        "cpu_overhead_vs_memory": {
            m: statistics.median(cpu[m]) / statistics.median(cpu["memory"]) - 1
            for m in modes
            if m != "memory"
        },
        "pipeline_alone_epoch_seconds": pipeline_alone,
        "pipeline_alone_epoch_cpu_seconds": pipeline_alone_cpu,
        "overhead_upper_bound": statistics.median(pipeline_alone_cpu) / med["memory"],
        "overhead_upper_bound_note": "CPU seconds the pipeline alone spends per epoch divided "
        "by the median wall time of an epoch from memory: the most the pipeline could add if "
        "none of its work overlapped with training and all of it took training's CPU",
        "pipeline_alone_images_per_second_median": n / statistics.median(pipeline_alone),
        "criterion": "overhead_vs_memory['pipeline_flip_crop'] <= 0.05",
        "passed": med["pipeline_flip_crop"] / med["memory"] - 1 <= 0.05,
        "passed_upper_bound": statistics.median(pipeline_alone_cpu) / med["memory"] <= 0.05,
        "passed_cpu": statistics.median(cpu["pipeline_flip_crop"])
        / statistics.median(cpu["memory"])
        - 1
        <= 0.05,
    }


def rss_child(spec_path: str, data: str, work: str) -> None:
    from mobilenet_repro.training.loop import train_run

    spec = json.loads(Path(spec_path).read_text())
    work = Path(work)
    out = {
        k: str(work / f)
        for k, f in (
            ("metrics", "metrics.json"),
            ("history", "history.csv"),
            ("schedule", "lr.csv"),
            ("model", "model.keras"),
        )
    }
    metrics = train_run(spec, data, out, work / "ckpt", threads=spec.pop("_threads", 2))
    print(
        json.dumps(
            {
                "test_top1": metrics["test_top1"],
                "train_seconds": metrics["train_seconds"],
                "train_images": metrics["train_images"],
            }
        )
    )


def rss_job(args) -> dict:
    import psutil

    from mobilenet_repro.run_model import run_spec
    from mobilenet_repro.validation import load_config

    data = prepared(args.archive, args.cache)
    config = load_config(ROOT / "config" / "cifar10-jpeg.yaml")
    spec = run_spec(config, "cifar_mobilenetv2", "cifar10_jpeg", args.rss_model, 0)
    spec["recipe"]["epochs"] = 1
    spec["recipe"]["warmup_epochs"] = 0
    with tempfile.TemporaryDirectory() as tmp:
        spec_path = Path(tmp) / "spec.json"
        spec_path.write_text(json.dumps(dict(spec, _threads=args.threads)))
        t0 = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, __file__, "--rss-child", str(spec_path), str(data), tmp],
            stdout=subprocess.PIPE,
            text=True,
        )
        samples = []

        def sample():
            proc = psutil.Process(child.pid)
            while child.poll() is None:
                try:
                    samples.append((time.perf_counter() - t0, proc.memory_info().rss))
                except psutil.Error:
                    break
                time.sleep(1.0)

        watcher = threading.Thread(target=sample, daemon=True)
        watcher.start()
        stdout, _ = child.communicate()
        watcher.join()
        wall = time.perf_counter() - t0
    if child.returncode:
        sys.exit(f"training job failed (exit {child.returncode})")
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # Linux: KiB
    result = json.loads(stdout.strip().splitlines()[-1])
    return {
        "kind": "peak_rss",
        "settings": {
            "config": "config/cifar10-jpeg.yaml",
            "experiment": "cifar_mobilenetv2",
            "model": args.rss_model,
            "epochs": 1,
            "batch_size": spec["recipe"]["batch_size"],
            "augment": spec["recipe"]["augment"],
            "threads": args.threads,
            "data": str(data),
        },
        "job": result,
        "wall_seconds": wall,
        "peak_rss_bytes": peak_kib * 1024,
        "peak_rss_gib": peak_kib * 1024 / 2**30,
        "sampled_max_rss_bytes": max((r for _, r in samples), default=None),
        "rss_samples_every_1s": samples[:: max(1, len(samples) // 200)],
        "criterion": "peak_rss_gib < 4",
        "passed": peak_kib * 1024 / 2**30 < 4,
    }


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--archive", type=Path, default=DEFAULT_ARCHIVE)
    p.add_argument("--cache", type=Path, default=ROOT / "resources" / "bench" / "cifar10_jpeg.npz")
    p.add_argument("--train-images", type=int, default=2560)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--alpha", type=float, default=0.5)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument(
        "--modes",
        nargs="+",
        default=["pipeline_flip_crop"],
        choices=["pipeline_flip_crop", "pipeline_no_augment"],
        help="pipelines compared with the in-memory reference",
    )
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rss-job", action="store_true", help="measure a training job's peak RSS")
    p.add_argument("--rss-model", default="cifar_mobilenetv2_0.50_32")
    p.add_argument("--rss-child", nargs=3, help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    if args.rss_child:
        rss_child(*args.rss_child)
        return
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    info = machine(args.threads)
    result = rss_job(args) if args.rss_job else overhead(args)
    result.update(
        info,
        started=started,
        loadavg_end=os.getloadavg(),
        command=" ".join([Path(sys.executable).name, *sys.argv]),
    )
    out = args.out or ROOT / "results" / "bench" / f"input_pipeline_{result['kind']}.json"
    from mobilenet_repro.files import write_json

    write_json(result, out)
    summary = {
        k: result[k]
        for k in (
            "overhead_vs_memory",
            "overhead_vs_memory_paired_median",
            "cpu_overhead_vs_memory",
            "overhead_upper_bound",
            "median_epoch_seconds",
            "peak_rss_gib",
            "passed",
            "passed_upper_bound",
        )
        if k in result
    }
    print(json.dumps(summary, indent=2))
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
