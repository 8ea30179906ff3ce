"""Benchmark: training throughput against bare Keras, PyTorch eager and the CPU's matmul peak.

For each model (default: the CIFAR MobileNetV2 1.0 at 32x32 and MobileNet V1 1.0 at 128,
batch 128, float32, on this CPU), four systems are measured, each in its own process:

  pipeline  (a) the pipeline's own training entry point, `train.train_run`, on real CIFAR-10
            (../shared/data/cifar10-jpeg.tar.gz, prepared through the image_folder source)
            through its tf.data pipeline, with the recipe of config/cifar10-jpeg.yaml
            (RMSProp, flip_crop augmentation, per-epoch validation and checkpoints);
  keras     (b) bare Keras `model.fit` on float32 tensors already in memory (same model,
            optimizer, loss, metrics and TensorFlow threading as (a));
  torch     (c) the same architecture in PyTorch eager, channels-last (studies/torch_models.py;
            same trainable parameter count, checked), RMSprop, tensors in memory;
  matmul    (d) this CPU's float32 matmul peak (TensorFlow, PyTorch and NumPy, several
            sizes; the best median is the peak).

Every worker is set up and warmed up first (tracing, first epoch) and then waits; the
measurement runs one epoch of `--steps` steps per worker in turn, interleaved
(a, b, c, d, a, b, c, d, ...) for `--reps` repetitions, so that load from other users of a
shared machine hits all systems alike. Throughput is measured on the steady part of each
epoch: from the end of step `--skip` to the end of the last step (so a prefetch buffer
filled while a worker waited is no head start). The training FLOP rate of (a) is images/s x
3 x 2 x mult-adds (mobilenet_repro.counting: forward mult-adds, training ~ 3x forward, 2 FLOPs
per mult-add), as a fraction of (d) measured in the same repetition.

    python studies/throughput.py                                  # about 30 min on 2 cores
    python studies/throughput.py --steps 3 --reps 1 --skip 1 --models cifar_mobilenetv2_0.25_32

The settings of a whole run are flags: --batch-size, --threads (TensorFlow's intra-op pool),
--inter-op-threads (default min(2, --threads), as training jobs have), --onednn on|off
(TF_ENABLE_ONEDNN_OPTS) and --pipeline-input (tf.data, or on TensorFlow too the numpy batches
that JAX and PyTorch get); (b) measured in the same run is the reference. The variants
(--systems, VARIANTS) change one setting of one system within a run.

Writes JSON (machine, versions, settings, every repetition, medians, paired ratios) to
`--out` (default studies/results/throughput.json).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from input_pipeline import DEFAULT_ARCHIVE, ROOT, machine, prepared

BENCH = Path(__file__).resolve().parent
SYSTEMS = ("pipeline", "keras", "torch", "matmul")
# Extra systems for speed work (not in the default run): bare Keras with a changed setting.
VARIANTS = {
    # Keras silently drops jit_compile while op determinism is on, so XLA runs without it;
    # compare it with keras_nondeterministic for the effect of XLA alone.
    "keras_xla": {"jit_compile": True, "determinism": False},
    "keras_nondeterministic": {"determinism": False},
    "keras_onednn_off": {"env": {"TF_ENABLE_ONEDNN_OPTS": "0"}},
    "pipeline_onednn_off": {"env": {"TF_ENABLE_ONEDNN_OPTS": "0"}},
    "keras_stock_bn": {"fused_bn": False},  # Keras's own (unfused) batch norm
    "keras_stock_optimizer": {"stock_optimizer": True},  # Keras's own per-op RMSProp/Adam
    "keras_interop1": {"inter_op": 1},
    "keras_interop2": {"inter_op": 2},
    "torch_nchw": {"channels_last": False},  # PyTorch's default layout, for comparison
    # (a) on the other Keras backends (README "Backends"): numpy input, no TensorFlow in them.
    "pipeline_jax": {"backend": "jax", "env": {"KERAS_BACKEND": "jax"}},
    "pipeline_torch": {"backend": "torch", "env": {"KERAS_BACKEND": "torch"}},
}
# Model ids name the architecture, width and resolution like the configs' ids.
ARCH_PREFIX = {"cifar_mobilenetv2": "cifar_mobilenet_v2", "mobilenet": "mobilenet_v1"}
DEFAULT_MODELS = ("cifar_mobilenetv2_1.00_32", "mobilenet_1.00_128")
CONFIG = ROOT / "config" / "cifar10-jpeg.yaml"
EXPERIMENT, DATASET = "cifar_mobilenetv2", "cifar10_jpeg"
# Issue 35: the pipeline at least as fast as bare Keras on the machine at hand.
TARGETS = {"pipeline/keras": 1.0, "pipeline/torch": 1.0}


def model_config(model_id: str) -> dict:
    prefix, alpha, resolution = model_id.rsplit("_", 2)
    if prefix not in ARCH_PREFIX:
        raise SystemExit(f"model id {model_id!r}: use <{'|'.join(ARCH_PREFIX)}>_<alpha>_<res>")
    return {
        "arch": ARCH_PREFIX[prefix],
        "alpha": float(alpha),
        "resolution": int(resolution),
        "label": model_id,
    }


def run_spec_for(model_id: str, epochs: int) -> dict:
    """The run spec train_run gets in (a): config/cifar10-jpeg.yaml's recipe, `epochs` long."""
    import yaml

    from mobilenet_repro.run_model import run_spec
    from mobilenet_repro.validation import check_config

    config = yaml.safe_load(CONFIG.read_text())
    config["models"][model_id] = model_config(model_id)
    models = config["experiments"][EXPERIMENT]["models"]
    if model_id not in models:  # a run listed twice is refused (its row would count twice)
        models.append(model_id)
    recipe = config["recipes"][config["experiments"][EXPERIMENT]["recipe"]]
    recipe["epochs"] = epochs
    recipe["warmup_epochs"] = min(recipe["warmup_epochs"], epochs - 1)
    check_config(config)
    return run_spec(config, EXPERIMENT, DATASET, model_id, 0)


def model_and_recipe(model_id: str, epochs: int) -> tuple[dict, dict]:
    """(b) and (c)'s model configuration and the recipe of (a), with the keys a run spec
    leaves out at their defaults put back, as train_run's RunPlan does."""
    from mobilenet_repro.run_model import recipe_with_defaults

    spec = run_spec_for(model_id, epochs)
    return spec["model"], recipe_with_defaults(spec["recipe"])


def subset(archive: Path, cache: Path, n_train: int, n_eval: int) -> Path:
    """The first n_train training and n_eval val/test images of the prepared CIFAR-10."""
    path = cache.with_name(f"{cache.stem}_{n_train}_{n_eval}.npz")
    if not path.exists():
        from mobilenet_repro.data import ImageDataset, load_dataset, save_dataset

        full = load_dataset(prepared(archive, cache), DATASET)
        limits = {"train": n_train, "val": n_eval, "test": n_eval}
        if len(full.splits["train"][1]) < n_train:
            sys.exit(f"only {len(full.splits['train'][1])} training images; lower --steps")
        splits = {}
        for s, (x, y) in full.splits.items():  # stored class by class: pick across classes
            keep = np.sort(np.random.default_rng(0).permutation(len(y))[: limits[s]])
            splits[s] = (x[keep], y[keep])
        save_dataset(ImageDataset(DATASET, full.class_names, splits, full.meta), path)
    return path


# ------------------------------------------------------------------------------ workers
class Channel:
    """JSON lines to the controller on the real stdout; everything else printed goes to stderr."""

    def __init__(self):
        self.out = os.fdopen(os.dup(1), "w", buffering=1)
        os.dup2(2, 1)
        sys.stdout = sys.stderr

    def send(self, **msg):
        self.out.write(json.dumps(msg) + "\n")

    def wait(self) -> str:
        line = sys.stdin.readline().strip()
        if line not in ("go", "stop"):
            raise SystemExit(f"worker: unexpected command {line!r}")
        return line


def window(ends: list[float], t_begin: float, batch: int, skip: int) -> dict:
    """Throughput of the steady part of an epoch from the end times of its steps."""
    steps = len(ends)
    skip = min(skip, steps - 1)
    seconds = ends[-1] - (ends[skip - 1] if skip else t_begin)
    return {
        "steps": steps,
        "images_per_second": (steps - skip) * batch / seconds,
        "window_seconds": seconds,
        "epoch_seconds": ends[-1] - t_begin,
        "epoch_images_per_second": steps * batch / (ends[-1] - t_begin),
        "step_seconds": [round(b - a, 4) for a, b in zip([t_begin, *ends[:-1]], ends, strict=True)],
        "loadavg": os.getloadavg()[0],
    }


def keras_timer(batch, skip, on_begin=None):
    import keras

    class StepTimer(keras.callbacks.Callback):
        """End time of every training step of the current epoch."""

        def __init__(self):
            super().__init__()
            self.results = []

        def on_epoch_begin(self, epoch, logs=None):
            if on_begin is not None:
                on_begin(self, epoch)
            self.t0, self.ends = time.perf_counter(), []

        def on_train_batch_end(self, step, logs=None):
            self.ends.append(time.perf_counter())

        def on_epoch_end(self, epoch, logs=None):
            self.results.append(window(self.ends, self.t0, batch, skip))

    return StepTimer()


def tensorflow_threads(args, options: dict) -> None:
    """TensorFlow's threads and op determinism as train_run sets them (configure_tensorflow:
    intra-op --threads, inter-op min(2, --threads)), with the variant's or --inter-op-threads'
    inter-op pool instead. TensorFlow then starts, which fixes its pools: train_run's own
    configure_tensorflow keeps them."""
    import tensorflow as tf

    from mobilenet_repro.training.backends import configure_tensorflow

    if options.get("determinism", True):
        configure_tensorflow(args.threads)
    else:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(min(2, args.threads))
    inter_op = options.get("inter_op", args.inter_op_threads)
    if inter_op is not None:
        tf.config.threading.set_inter_op_parallelism_threads(inter_op)
    tf.constant(0.0).numpy()


def tensorflow_pools() -> dict:
    """The thread pools TensorFlow runs with in this process."""
    import tensorflow as tf

    return {
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
    }


def numpy_input(make_streams):
    """make_streams with numpy batches (data.numpy_batches, the input path of JAX and
    PyTorch) on TensorFlow too: it gives tf.data only to a run on TensorFlow."""
    import copy

    def streams(ds, run, start_step):
        other = copy.copy(run)
        other.spec = {**run.spec, "backend": "numpy"}
        return make_streams(ds, other, start_step)

    return streams


def worker_pipeline(args, chan: Channel, options: dict) -> None:
    """(a): train_run itself; the epochs after the first wait for the controller's 'go'."""
    from mobilenet_repro.runs import DEFAULT
    from mobilenet_repro.training import backends

    backend = options.get("backend", DEFAULT)
    backends.select(backend, args.threads)  # before Keras is imported
    from mobilenet_repro.training import loop

    if backend == "tensorflow":
        if args.inter_op_threads is not None:
            tensorflow_threads(args, options)
        if args.pipeline_input == "numpy":
            loop.make_streams = numpy_input(loop.make_streams)
    spec = run_spec_for(args.model, args.reps + 1)
    if backend != DEFAULT:
        spec["backend"] = backend
    data = subset(args.archive, args.cache, args.steps * args.batch_size, args.eval_images)
    spec["recipe"]["batch_size"] = args.batch_size

    def gate(timer, epoch):
        if epoch == 0:
            return
        chan.send(ready=True, result=timer.results[-1], first=epoch == 1)
        chan.wait()

    timer = keras_timer(args.batch_size, args.skip, gate)
    with tempfile.TemporaryDirectory() as tmp:
        out = {k: Path(tmp) / k for k in ("metrics", "history", "schedule", "model")}
        metrics = loop.train_run(
            spec, data, out, Path(tmp) / "ckpt", args.threads, callbacks=[timer]
        )
    chan.send(
        ready=True,
        result=timer.results[-1],
        done=True,
        warmup=timer.results[0],
        timings=metrics["timings"],
        mult_adds=metrics["mult_adds"],
        params=metrics["params"],
        trainable_params=metrics["trainable_params"],
        test_top1=metrics["test_top1"],
        input=args.pipeline_input if backend == "tensorflow" else "numpy",
        **(tensorflow_pools() if backend == "tensorflow" else {}),
    )


def _memory_data(args, resolution):
    """The (a) subset's training images at the model's resolution, preprocessed, float32 NHWC."""
    from mobilenet_repro.data import load_dataset

    n = args.steps * args.batch_size
    ds = load_dataset(subset(args.archive, args.cache, n, args.eval_images))
    x, y = ds.splits["train"]
    return x[:n], y[:n].astype(np.int64), ds.num_classes


def worker_keras(args, chan: Channel, options: dict) -> None:
    """(b): bare Keras fit on tensors in memory, the model and recipe of (a)."""
    from mobilenet_repro.training.schedules import make_schedule
    from mobilenet_repro.training.steps import build_model

    tensorflow_threads(args, options)
    import keras
    import tensorflow as tf

    from mobilenet_repro.counting.counters import count_mult_adds, count_params
    from mobilenet_repro.training.fused_bn import use_fused_batch_norm

    t0 = time.perf_counter()
    cfg, recipe = model_and_recipe(args.model, args.reps + 1)
    res = cfg["resolution"]
    x, y, classes = _memory_data(args, res)
    xf = tf.image.resize(tf.cast(x, tf.float32), (res, res)) / 127.5 - 1.0
    yf = tf.one_hot(y, classes)
    keras.utils.set_random_seed(0)
    # Step 2 of a run (train.build_model), with this variant's jit_compile and batch norm.
    schedule = make_schedule(recipe, recipe["epochs"] * args.steps, args.steps)
    model = build_model(cfg, recipe, classes, schedule, options.get("jit_compile", False))
    fused_bn = use_fused_batch_norm(model) if options.get("fused_bn", True) else 0
    if options.get("stock_optimizer"):  # the same optimizer settings, Keras's own update ops
        fused = model.optimizer
        stock = getattr(keras.optimizers, type(fused).__name__.removeprefix("Fused"))
        model.compile(
            optimizer=stock.from_config(fused.get_config()),
            loss=model.loss,
            metrics=["accuracy"],
            jit_compile=options.get("jit_compile", False),
        )
    timer = keras_timer(args.batch_size, args.skip)

    def epoch():
        model.fit(
            xf,
            yf,
            batch_size=args.batch_size,
            epochs=1,
            shuffle=False,
            verbose=0,
            callbacks=[timer],
        )
        return timer.results[-1]

    warmup = epoch()
    params, trainable = count_params(model)
    chan.send(
        ready=True,
        result=None,
        setup_seconds=time.perf_counter() - t0,
        warmup=warmup,
        mult_adds=count_mult_adds(model),
        params=params,
        trainable_params=trainable,
        **tensorflow_pools(),
        op_determinism=options.get("determinism", True),
        jit_compile=model.jit_compile,  # what Keras uses, not what was asked
        fused_batch_norm_layers=fused_bn,
        optimizer=type(model.optimizer).__name__,
    )
    while chan.wait() == "go":
        chan.send(ready=True, result=epoch())


def worker_torch(args, chan: Channel, options: dict) -> None:
    """(c): the torch twin in eager mode, channels-last, tensors in memory."""
    import torch
    import torch_models
    from torch.nn import functional as F

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    t0 = time.perf_counter()
    cfg, recipe = model_and_recipe(args.model, args.reps + 1)
    res = cfg["resolution"]
    x, y, classes = _memory_data(args, res)
    xt = torch.from_numpy(x).permute(0, 3, 1, 2).float()  # NHWC memory: channels-last view
    xt = F.interpolate(xt, size=(res, res), mode="bilinear", align_corners=False) / 127.5 - 1
    layout = torch.channels_last if options.get("channels_last", True) else torch.contiguous_format
    xt = xt.contiguous(memory_format=layout)
    yt = torch.from_numpy(y)
    model = torch_models.build(cfg["arch"], cfg["alpha"], classes, recipe["bn_momentum"])
    model = model.to(memory_format=layout).train()
    if recipe["optimizer"] != "rmsprop":
        raise SystemExit("torch worker: only the RMSProp recipe is mirrored")
    opt = torch.optim.RMSprop(
        model.parameters(),
        lr=recipe["learning_rate"],
        alpha=recipe["rho"],
        eps=recipe["epsilon"],
        momentum=recipe["momentum"],
    )
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=recipe["label_smoothing"])
    bs = args.batch_size

    def epoch():
        t_begin, ends = time.perf_counter(), []
        for i in range(args.steps):
            xb, yb = xt[i * bs : (i + 1) * bs], yt[i * bs : (i + 1) * bs]
            opt.zero_grad(set_to_none=True)
            logits = model(xb)
            loss = loss_fn(logits, yb)
            loss.backward()
            opt.step()
            # What Keras's fit reports per step: the loss and the accuracy.
            _ = loss.item(), (logits.argmax(1) == yb).float().mean().item()
            ends.append(time.perf_counter())
        return window(ends, t_begin, bs, args.skip)

    warmup = epoch()
    chan.send(
        ready=True,
        result=None,
        setup_seconds=time.perf_counter() - t0,
        warmup=warmup,
        trainable_params=torch_models.trainable_params(model),
        torch=torch.__version__,
        torch_threads=torch.get_num_threads(),
        memory_format=str(layout),
        mkldnn=torch.backends.mkldnn.is_available(),
    )
    while chan.wait() == "go":
        chan.send(ready=True, result=epoch())


def _rate(fn, flops, min_seconds) -> float:
    """GFLOP/s of fn() (which computes `flops`), repeated for at least min_seconds."""
    fn()
    n, t0 = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= min_seconds:
            return n * flops / elapsed / 1e9


def worker_matmul(args, chan: Channel, options: dict) -> None:
    """(d): float32 matmul GFLOP/s of TensorFlow, PyTorch and NumPy at a few sizes."""
    from mobilenet_repro.training.backends import configure_tensorflow

    configure_tensorflow(args.threads)
    import tensorflow as tf

    tf.random.set_seed(0)
    libs = {}
    for n in args.matmul_sizes:
        a = tf.random.normal((n, n))
        libs[f"tensorflow_{n}"] = (lambda a=a: tf.linalg.matmul(a, a).numpy(), 2 * n**3)
        an = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
        libs[f"numpy_{n}"] = (lambda a=an: a @ a, 2 * n**3)
    try:
        import torch

        torch.set_num_threads(args.threads)
        for n in args.matmul_sizes:
            at = torch.randn(n, n)
            libs[f"torch_{n}"] = (lambda a=at: torch.mm(a, a), 2 * n**3)
    except ImportError:
        pass

    def measure():
        t_begin = time.perf_counter()
        rates = {k: _rate(fn, flops, args.matmul_seconds) for k, (fn, flops) in libs.items()}
        best = max(rates, key=rates.get)
        return {
            "gflops": rates[best],
            "best": best,
            "gflops_by_library_size": rates,
            "seconds": time.perf_counter() - t_begin,
            "loadavg": os.getloadavg()[0],
        }

    chan.send(ready=True, result=None, warmup=measure())
    while chan.wait() == "go":
        chan.send(ready=True, result=measure())


WORKERS = {
    "pipeline": worker_pipeline,
    "keras": worker_keras,
    "torch": worker_torch,
    "matmul": worker_matmul,
}


def worker_main(args) -> None:
    chan = Channel()
    kind = args.worker.split("_")[0]
    WORKERS[kind](args, chan, VARIANTS.get(args.worker, {}))


# --------------------------------------------------------------------------- controller
class Worker:
    def __init__(self, system: str, model: str | None, args, log_dir: Path):
        self.system, self.model = system, model
        self.log = log_dir / f"{system}_{model or 'all'}.log"
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
        env.update(VARIANTS.get(system, {}).get("env", {}))
        cmd = [sys.executable, __file__, "--worker", system, *args.passthrough]
        if model:
            cmd += ["--model", model]
        t0 = time.perf_counter()
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True, env=env
            )
        self.setup = self.read()
        self.setup["start_seconds"] = time.perf_counter() - t0
        print(
            f"  {system} {model or ''}: ready in {self.setup['start_seconds']:.1f}s",
            file=sys.stderr,
            flush=True,
        )

    def read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            tail = self.log.read_text()[-3000:]
            raise SystemExit(f"worker {self.system} {self.model} died:\n{tail}")
        return json.loads(line)

    def step(self) -> dict:
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        return self.read()

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("stop\n")
                self.proc.stdin.flush()
            except BrokenPipeError:
                pass
        self.proc.wait(timeout=600)


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def controller(args) -> dict:
    systems = args.systems
    log_dir = Path(tempfile.mkdtemp(prefix="bench-throughput-"))
    # Prepare the data once, before any worker starts (first time: decoding 60,000 JPEGs).
    subset(args.archive, args.cache, args.steps * args.batch_size, args.eval_images)
    matmul = Worker("matmul", None, args, log_dir) if "matmul" in systems else None
    result = {"models": {}, "matmul": {"reps": [], "warmup": matmul and matmul.setup["warmup"]}}
    try:
        for model in args.models:
            print(f"{model}: starting workers", file=sys.stderr, flush=True)
            workers = {s: Worker(s, model, args, log_dir) for s in systems if s != "matmul"}
            reps = {s: [] for s in systems}
            done = {}
            for rep in range(args.reps):
                for s in systems:
                    msg = matmul.step() if s == "matmul" else workers[s].step()
                    reps[s].append(msg["result"])
                    if msg.get("done"):
                        done[s] = msg
                    r = msg["result"]
                    rate = (
                        f"{r['gflops']:.1f} GFLOP/s"
                        if s == "matmul"
                        else (f"{r['images_per_second']:.1f} img/s")
                    )
                    print(
                        f"  rep {rep + 1}/{args.reps} {s}: {rate} (load {r['loadavg']:.2f})",
                        file=sys.stderr,
                        flush=True,
                    )
            for w in workers.values():
                w.close()
            result["matmul"]["reps"] += reps.get("matmul", [])
            result["models"][model] = summarize_model(model, systems, workers, reps, done)
    finally:
        if matmul:
            matmul.close()
    if matmul:
        peaks = [r["gflops"] for r in result["matmul"]["reps"]]
        result["matmul"]["gflops"] = peaks
        result["matmul"]["median_gflops"] = _median(peaks)
    result["log_dir"] = str(log_dir)
    return result


def summarize_model(model, systems, workers, reps, done) -> dict:
    out = {"model": model_config(model), "systems": {}}
    keras_setup = workers.get("keras") and workers["keras"].setup
    for s in systems:
        if s == "matmul":
            continue
        ips = [r["images_per_second"] for r in reps[s]]
        out["systems"][s] = {
            "images_per_second": ips,
            "median_images_per_second": _median(ips),
            "epoch_images_per_second": [r["epoch_images_per_second"] for r in reps[s]],
            "reps": reps[s],
            "setup": workers[s].setup,
        }
    if "pipeline" in done:
        job = done["pipeline"]
        out["systems"]["pipeline"]["job"] = {k: v for k, v in job.items() if k != "result"}
    mult_adds = (done.get("pipeline") or keras_setup or {}).get("mult_adds")
    out["mult_adds"] = mult_adds
    out["train_flops_per_image"] = 6 * mult_adds if mult_adds else None
    if keras_setup and "torch" in workers:
        out["trainable_params"] = {
            "keras": keras_setup["trainable_params"],
            "torch": workers["torch"].setup["trainable_params"],
        }
        if out["trainable_params"]["keras"] != out["trainable_params"]["torch"]:
            raise SystemExit(f"{model}: torch twin differs from Keras: {out['trainable_params']}")
    out["ratios"] = {}
    for other in [s for s in systems if s not in ("pipeline", "matmul")]:
        if "pipeline" in reps and other in reps:
            paired = [
                a["images_per_second"] / b["images_per_second"]
                for a, b in zip(reps["pipeline"], reps[other], strict=True)
            ]
            out["ratios"][f"pipeline/{other}"] = {
                "paired": paired,
                "median_paired": _median(paired),
                "ratio_of_medians": out["systems"]["pipeline"]["median_images_per_second"]
                / out["systems"][other]["median_images_per_second"],
                "target": TARGETS.get(f"pipeline/{other}"),
            }
    if "pipeline" in reps and "matmul" in reps and mult_adds:
        gflops = [r["images_per_second"] * 6 * mult_adds / 1e9 for r in reps["pipeline"]]
        fraction = [g / m["gflops"] for g, m in zip(gflops, reps["matmul"], strict=True)]
        out["pipeline_flops"] = {
            "gflops": gflops,
            "median_gflops": _median(gflops),
            "fraction_of_matmul_peak": fraction,
            "median_fraction_of_matmul_peak": _median(fraction),
        }
    return out


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS))
    p.add_argument(
        "--systems",
        nargs="+",
        default=list(SYSTEMS),
        help=f"of {SYSTEMS} and the variants {tuple(VARIANTS)}",
    )
    p.add_argument("--steps", type=int, default=10, help="training steps per measured epoch")
    p.add_argument("--skip", type=int, default=2, help="steps left out at each epoch's start")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--eval-images", type=int, default=256, help="val and test images in (a)")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="TensorFlow's intra-op")
    p.add_argument(
        "--inter-op-threads",
        type=int,
        help="TensorFlow's inter-op threads in (a) and (b) (default: min(2, --threads))",
    )
    p.add_argument(
        "--onednn",
        choices=("on", "off"),
        help="TF_ENABLE_ONEDNN_OPTS in every worker (default: as set, else TensorFlow's: on)",
    )
    p.add_argument(
        "--pipeline-input",
        choices=("tf.data", "numpy"),
        default="tf.data",
        help="(a)'s input path on TensorFlow: tf.data, or the numpy batches of JAX and PyTorch",
    )
    p.add_argument("--matmul-sizes", type=int, nargs="+", default=[1024, 2048])
    p.add_argument("--matmul-seconds", type=float, default=1.0)
    p.add_argument("--archive", type=Path, default=DEFAULT_ARCHIVE)
    p.add_argument("--cache", type=Path, default=ROOT / "resources" / "bench" / "cifar10_jpeg.npz")
    p.add_argument("--out", type=Path, default=BENCH / "results" / "throughput.json")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--model", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    unknown = set(args.systems) - set(SYSTEMS) - set(VARIANTS)
    if unknown:
        p.error(f"unknown systems {sorted(unknown)}")
    if args.steps <= args.skip:
        p.error("--steps must exceed --skip")
    args.passthrough = [
        "--steps",
        str(args.steps),
        "--skip",
        str(args.skip),
        "--reps",
        str(args.reps),
        "--batch-size",
        str(args.batch_size),
        "--eval-images",
        str(args.eval_images),
        "--threads",
        str(args.threads),
        "--archive",
        str(args.archive),
        "--cache",
        str(args.cache),
        "--matmul-seconds",
        str(args.matmul_seconds),
        "--matmul-sizes",
        *map(str, args.matmul_sizes),
        "--pipeline-input",
        args.pipeline_input,
    ]
    if args.inter_op_threads is not None:
        args.passthrough += ["--inter-op-threads", str(args.inter_op_threads)]
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.worker:
        worker_main(args)
        return {}
    if not args.archive.exists() and not args.cache.exists():
        sys.exit(f"{args.archive} is absent (see ../shared/data/README.md); pass --archive")
    if args.onednn:  # the workers inherit it; settings.environment records it
        os.environ["TF_ENABLE_ONEDNN_OPTS"] = {"on": "1", "off": "0"}[args.onednn]
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    info = machine(args.threads)
    t0 = time.perf_counter()
    result = {"kind": "training_throughput", **controller(args)}
    result.update(
        info,
        settings={
            k: (str(v) if isinstance(v, Path) else v)
            for k, v in vars(args).items()
            if k not in ("worker", "model", "passthrough", "out")
        }
        | {
            "dtype": "float32",
            "config": str(CONFIG.relative_to(ROOT)),
            "environment": {
                k: os.environ.get(k)
                for k in ("TF_ENABLE_ONEDNN_OPTS", "OMP_NUM_THREADS", "TF_XLA_FLAGS")
            },
        },
        started=started,
        wall_seconds=time.perf_counter() - t0,
        loadavg_end=os.getloadavg(),
        command=" ".join([Path(sys.executable).name, *sys.argv]),
        targets=TARGETS,
    )
    from mobilenet_repro.files import write_json

    write_json(result, args.out)
    print(json.dumps(headline(result), indent=2))
    print(f"wrote {args.out}", file=sys.stderr)
    return result


def headline(result: dict) -> dict:
    out = {"matmul_peak_gflops": result["matmul"].get("median_gflops")}
    for model, m in result["models"].items():
        out[model] = {
            "images_per_second": {
                s: round(v["median_images_per_second"], 2) for s, v in m["systems"].items()
            },
            "ratios": {k: round(v["median_paired"], 3) for k, v in m["ratios"].items()},
            "fraction_of_matmul_peak": m.get("pipeline_flops", {}).get(
                "median_fraction_of_matmul_peak"
            ),
        }
    return out


if __name__ == "__main__":
    main()
