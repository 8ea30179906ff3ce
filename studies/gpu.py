"""Benchmark: the pipeline's Keras models on a GPU, float32 against mixed precision, XLA on and off.

On a GPU, mixed precision and XLA are measured here rather than assumed. The GPU machines
lent to this project hold PyTorch and JAX but no TensorFlow, and nothing can be installed
there beyond a few small wheels, so this measures the same builders (`mobilenet_repro.models`,
backend-agnostic Keras 3) on the backends that are there:

  keras-jax    Keras on JAX; jit_compile=True is XLA, jit_compile=False runs op by op;
  keras-tensorflow  Keras on TensorFlow, the pipeline's backend, with and without XLA (op
               determinism off here, since Keras drops XLA under it); not in the default
               list, as the GPU machines lent to us have no TensorFlow;
  keras-torch  Keras on PyTorch, eager (no XLA);
  torch        the PyTorch twins of studies/torch_models.py, eager, channels-last;
  matmul       the GPU's float32, TF32 and bfloat16 matmul peaks (PyTorch), for the FLOP rate.

each under the dtype policies float32, mixed_bfloat16 and mixed_float16 (loss scaling as
Keras applies it by itself; autocast for PyTorch). Every backend runs in its own process;
each configuration is built and warmed up (compilation, first epoch) first, then the timed
epochs of `--steps` steps run interleaved for `--reps` repetitions; the median is reported.
Images per second are whole epochs of `model.fit` on random tensors in host memory (the
host-to-device copy included), timed to the end of the epoch (Keras reads the epoch's loss
back, so the device has finished). Training FLOPs = 3 x 2 x mult-adds per image.

    python studies/gpu.py --out studies/results/gpu.json            # on a GPU machine
    python studies/gpu.py --steps 2 --reps 1 --backends keras-tensorflow --no-xla  # CPU smoke run

Each finished backend is added to the JSON at once, so a run cut short keeps what it measured.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BACKENDS = ("matmul", "keras-jax", "torch", "keras-torch")  # most telling first
OPTIONAL_BACKENDS = ("keras-tensorflow",)
POLICIES = ("float32", "mixed_bfloat16", "mixed_float16")
MODELS = {  # label: (builder, alpha, resolution); batch 128 and 10 classes
    "cifar_mobilenetv2_1.00_32": ("cifar_mobilenet_v2", 1.0, 32),
    "mobilenet_1.00_128": ("mobilenet_v1", 1.0, 128),
}
CLASSES = 10
LEARNING_RATE = 1e-3  # RMSprop, constant: a throughput run, not a recipe


def _configs(backend: str, args) -> list[dict]:
    eager = [{"policy": p, "jit_compile": False} for p in args.policies]
    xla = [] if args.no_xla else [{"policy": p, "jit_compile": True} for p in args.policies]
    if backend == "keras-jax":  # op-by-op JAX is slow: float32 only, and only when asked
        return xla + ([{"policy": "float32", "jit_compile": False}] if args.xla_off else [])
    if backend == "keras-tensorflow":
        return eager + xla
    return eager


def _median(values):
    return statistics.median(values) if values else None


def _measure(runs: list[dict], reps: int, images: int, label: str) -> None:
    """Time each run's `_epoch` (returns the epoch's loss) interleaved, then take medians."""
    for rep in range(reps):
        for run in runs:
            t0 = time.perf_counter()
            loss = run["_epoch"]()
            seconds = time.perf_counter() - t0
            run["reps"].append(
                {"seconds": seconds, "images_per_second": images / seconds, "loss": loss}
            )
        print(f"{label} rep {rep + 1}/{reps} done", flush=True)
    for run in runs:
        del run["_epoch"]
        run["images_per_second"] = _median([r["images_per_second"] for r in run["reps"]])
        run["finite_loss"] = all(math.isfinite(r["loss"]) for r in run["reps"])


def _keras_worker(args, backend: str) -> dict:
    os.environ["KERAS_BACKEND"] = backend.split("-", 1)[1]
    sys.path.insert(0, str(ROOT / "src"))
    import keras
    import numpy as np

    from mobilenet_repro.counting.counters import count_mult_adds, count_params
    from mobilenet_repro.models.catalog import build_classifier

    rng = np.random.default_rng(0)
    runs = []
    for label in args.models:
        arch, alpha, res = MODELS[label]
        x = rng.standard_normal((args.steps * args.batch, res, res, 3), dtype=np.float32)
        y = rng.integers(0, CLASSES, args.steps * args.batch)
        for cfg in _configs(backend, args):
            keras.mixed_precision.set_global_policy(cfg["policy"])
            keras.utils.set_random_seed(0)
            t0 = time.perf_counter()
            model = build_classifier(arch, CLASSES, res, alpha)
            model.compile(
                optimizer=keras.optimizers.RMSprop(LEARNING_RATE),
                loss="sparse_categorical_crossentropy",
                metrics=["accuracy"],
                jit_compile=cfg["jit_compile"],
            )

            def epoch(model=model, x=x, y=y):
                hist = model.fit(x, y, batch_size=args.batch, epochs=1, verbose=0)
                return float(hist.history["loss"][-1])

            warm = epoch()
            runs.append(
                {
                    "model": label,
                    **cfg,
                    "jit_compile_used": bool(getattr(model, "jit_compile", cfg["jit_compile"])),
                    "optimizer": type(model.optimizer).__name__,
                    "compute_dtype": model.layers[-1].compute_dtype,
                    "params": count_params(model)[1],
                    "mult_adds": count_mult_adds(model),
                    "setup_seconds": time.perf_counter() - t0,
                    "warmup_loss": warm,
                    "_epoch": epoch,
                    "reps": [],
                }
            )
            print(f"{backend} {label} {cfg} ready in {runs[-1]['setup_seconds']:.1f} s", flush=True)
    _measure(runs, args.reps, args.steps * args.batch, backend)
    versions = {"keras": keras.__version__, "backend": keras.backend.backend()}
    if versions["backend"] == "jax":
        import jax

        versions["jax"] = jax.__version__
        versions["devices"] = [str(d) for d in jax.devices()]
    elif versions["backend"] == "tensorflow":
        import tensorflow as tf

        versions["tensorflow"] = tf.__version__
        versions["devices"] = [d.name for d in tf.config.list_physical_devices()]
    else:
        import torch

        versions["torch"] = torch.__version__
    return {"versions": versions, "runs": runs}


def _sync(torch):
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _torch_worker(args) -> dict:
    sys.path.insert(0, str(ROOT / "studies"))
    import torch
    from torch_models import build, trainable_params

    dev = "cuda" if torch.cuda.is_available() else "cpu"
    gen = torch.Generator().manual_seed(0)
    runs = []
    for label in args.models:
        arch, alpha, res = MODELS[label]
        n = args.steps * args.batch
        x = torch.randn(n, 3, res, res, generator=gen).contiguous(memory_format=torch.channels_last)
        y = torch.randint(0, CLASSES, (n,), generator=gen)
        for policy in args.policies:
            torch.manual_seed(0)
            t0 = time.perf_counter()
            model = build(arch, alpha, CLASSES, bn_momentum=None).to(dev)
            model = model.to(memory_format=torch.channels_last)
            opt = torch.optim.RMSprop(model.parameters(), lr=LEARNING_RATE)
            amp = {"mixed_bfloat16": torch.bfloat16, "mixed_float16": torch.float16}.get(policy)
            scaler = torch.amp.GradScaler(dev, enabled=policy == "mixed_float16")

            def epoch(model=model, opt=opt, amp=amp, scaler=scaler, x=x, y=y):
                model.train()
                losses = []
                for i in range(0, len(x), args.batch):
                    xb = x[i : i + args.batch].to(dev, non_blocking=True)
                    yb = y[i : i + args.batch].to(dev, non_blocking=True)
                    with torch.autocast(dev, dtype=amp or torch.float32, enabled=amp is not None):
                        loss = torch.nn.functional.cross_entropy(model(xb), yb)
                    opt.zero_grad(set_to_none=True)
                    scaler.scale(loss).backward()
                    scaler.step(opt)
                    scaler.update()
                    losses.append(loss.detach())
                _sync(torch)
                return float(torch.stack(losses).mean())

            warm = epoch()
            params = trainable_params(model)
            runs.append(
                {
                    "model": label,
                    "policy": policy,
                    "jit_compile": False,
                    "params": params,
                    "setup_seconds": time.perf_counter() - t0,
                    "warmup_loss": warm,
                    "_epoch": epoch,
                    "reps": [],
                }
            )
            print(f"torch {label} {policy} ready", flush=True)
    _measure(runs, args.reps, args.steps * args.batch, "torch")
    return {
        "versions": {"torch": torch.__version__, "device": dev},
        "runs": runs,
    }


def _matmul_worker(args) -> dict:
    try:
        import torch
    except ImportError:
        return {"skipped": "PyTorch is absent (it measures the peaks)"}
    if not torch.cuda.is_available():
        return {"skipped": "no CUDA device"}
    out = {"device": torch.cuda.get_device_name(), "torch": torch.__version__}
    n = 8192
    for name, dtype, tf32 in (
        ("float32", torch.float32, False),
        ("tf32", torch.float32, True),
        ("bfloat16", torch.bfloat16, False),
    ):
        torch.backends.cuda.matmul.allow_tf32 = tf32
        a = torch.randn(n, n, device="cuda", dtype=dtype)
        b = torch.randn(n, n, device="cuda", dtype=dtype)
        rates = []
        for _ in range(3 + args.reps):
            _sync(torch)
            t0 = time.perf_counter()
            for _ in range(10):
                a @ b
            _sync(torch)
            rates.append(10 * 2 * n**3 / (time.perf_counter() - t0) / 1e12)
        out[f"{name}_tflops"] = _median(rates[3:])
    torch.backends.cuda.matmul.allow_tf32 = False
    return out


def _gpu_info() -> str:
    try:
        return subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "none"


def summarize(result: dict) -> dict:
    """Images/s per model, backend and policy, ratios to float32, FLOP rate vs the peak."""
    peak = result["backends"].get("matmul", {}).get("result", {})
    table = []
    for backend, entry in result["backends"].items():
        for run in entry.get("result", {}).get("runs", []):
            base = next(
                (
                    r
                    for r in entry["result"]["runs"]
                    if r["model"] == run["model"]
                    and r["policy"] == "float32"
                    and r["jit_compile"] == run["jit_compile"]
                ),
                None,
            )
            row = {
                "model": run["model"],
                "backend": backend,
                "policy": run["policy"],
                "xla": run["jit_compile"],
                "images_per_second": run["images_per_second"],
                "vs_float32": run["images_per_second"] / base["images_per_second"]
                if base
                else None,
                "setup_seconds": run["setup_seconds"],
            }
            if "mult_adds" in run:
                tflops = run["images_per_second"] * 6 * run["mult_adds"] / 1e12
                row["train_tflops"] = tflops
                key = "bfloat16_tflops" if "mixed" in run["policy"] else "tf32_tflops"
                if peak.get(key):
                    row["fraction_of_peak"] = tflops / peak[key]
            table.append(row)
    return {"table": table, "matmul_peak": peak}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS + OPTIONAL_BACKENDS
    )
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--policies", nargs="+", default=list(POLICIES), choices=POLICIES)
    parser.add_argument("--batch", type=int, default=128, help="images per step")
    parser.add_argument("--steps", type=int, default=40, help="steps per timed epoch")
    parser.add_argument("--reps", type=int, default=5, help="interleaved repetitions")
    parser.add_argument(
        "--xla-off", action="store_true", help="also Keras on JAX without jit (slow: op by op)"
    )
    parser.add_argument(
        "--no-xla", action="store_true", help="Keras on TensorFlow without its XLA runs"
    )
    parser.add_argument("--worker", choices=BACKENDS + OPTIONAL_BACKENDS, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=ROOT / "studies" / "results" / "gpu.json")
    args = parser.parse_args(argv)
    if args.worker:
        if args.worker == "torch":
            res = _torch_worker(args)
        elif args.worker == "matmul":
            res = _matmul_worker(args)
        else:
            res = _keras_worker(args, args.worker)
        print("RESULT " + json.dumps(res), flush=True)
        return res

    result = {
        "gpu": _gpu_info(),
        "platform": platform.platform(),
        "python": sys.version,
        "settings": {k: v for k, v in vars(args).items() if k not in ("worker", "out")},
        "backends": {},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for backend in args.backends:
        cmd = [sys.executable, __file__, "--worker", backend, "--batch", str(args.batch)]
        cmd += ["--steps", str(args.steps), "--reps", str(args.reps), "--models", *args.models]
        cmd += ["--policies", *args.policies]
        cmd += ["--xla-off"] * args.xla_off + ["--no-xla"] * args.no_xla
        t0 = time.perf_counter()
        # Streamed, so that a run cut short still shows how far each worker got.
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines = []
        for line in proc.stdout:
            if line.startswith("RESULT "):
                lines.append(line)
            else:
                sys.stderr.write(f"[{backend} {time.perf_counter() - t0:6.1f}s] {line}")
        proc.wait()
        entry = {"seconds": time.perf_counter() - t0, "returncode": proc.returncode}
        if lines:
            entry["result"] = json.loads(lines[-1][len("RESULT ") :])
        else:
            entry["error"] = "no result; see the output above"
        result["backends"][backend] = entry
        result["summary"] = summarize(result)
        args.out.write_text(json.dumps(result, indent=2, default=str) + "\n")
        print(f"{backend}: rc={proc.returncode} in {entry['seconds']:.0f} s", flush=True)
    for row in result["summary"]["table"]:
        print(json.dumps(row))
    return result


if __name__ == "__main__":
    main()
