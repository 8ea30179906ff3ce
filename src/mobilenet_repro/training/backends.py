"""Keras backends: which framework a job runs on, and that framework's settings.

A run trains on TensorFlow (the default), JAX or PyTorch (`backend` of an experiment, or
`--config backend=...` for all of them). Keras reads its backend once, from the environment
variable KERAS_BACKEND, when it is first imported, so a training job calls `select` before
anything imports Keras; a job that builds models only to count them (the architecture
stage) calls `select_for_tools`, which keeps TensorFlow where it is installed and takes JAX
or PyTorch on a machine without it. Nothing here imports TensorFlow unless the backend is
TensorFlow: the JAX and PyTorch paths run where TensorFlow is not installed.

Determinism, per backend (tests/training/test_backends.py; README "Backends"):

* tensorflow: TensorFlow's op determinism (`enable_op_determinism`): same seed, same machine,
  same numbers, on CPU and GPU.
* jax: XLA on CPU computes the same numbers for the same program and inputs; on a GPU XLA may
  pick non-deterministic reductions unless XLA_FLAGS has --xla_gpu_deterministic_ops=true,
  which `select` sets for runs.
* torch: `torch.use_deterministic_algorithms(True)`; on a GPU CUDA also needs
  CUBLAS_WORKSPACE_CONFIG=:4096:8, which `select` sets.
"""

from __future__ import annotations

import importlib.util
import os
import sys

from mobilenet_repro.runs import BACKENDS, DEFAULT

# The pip extra that installs each backend's framework (pyproject.toml).
EXTRAS = {"tensorflow": "", "jax": "jax", "torch": "torch"}
# Distributions whose versions a run's metrics.json records, per backend.
PACKAGES = {
    "tensorflow": ("tensorflow", "tensorflow-cpu"),
    "jax": ("jax", "jaxlib", "jax-cuda12-plugin"),
    "torch": ("torch",),
}

# Whether a run's train step is compiled whole (Keras's jit_compile). TensorFlow: no, XLA on a
# CPU compiles for minutes and then trains 12 times slower (README "Performance"). JAX: yes,
# without jax.jit Keras dispatches every op on its own. PyTorch: no (torch.compile is
# Keras's experimental path there).
JIT_COMPILE = {"tensorflow": False, "jax": True, "torch": False}


class BackendUnavailable(RuntimeError):
    """The chosen backend's framework is not installed, or Keras already runs another."""


def installed(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def check_installed(name: str) -> None:
    """Raise BackendUnavailable, saying how to install it, unless `name`'s framework is here."""
    if name not in BACKENDS:
        raise BackendUnavailable(f"backend: received {name!r}; allowed: {', '.join(BACKENDS)}")
    if not installed(name):
        extra = EXTRAS[name]
        how = f'-e ".[{extra}]"' if extra else "-e . (TensorFlow is a base dependency)"
        others = [b for b in BACKENDS if b != name and installed(b)]
        raise BackendUnavailable(
            f"backend {name!r}: the Python package {name!r} is not installed here. Install it "
            f"with `pip install -c constraints.txt {how}`, or choose an installed backend "
            f"({', '.join(others) or 'none is installed'}) with the experiment's `backend:` or "
            "`--config backend=<name>`"
        )


def select(name: str, threads: int | None = None) -> None:
    """Make Keras use backend `name` in this process: call before anything imports Keras.

    Sets the environment the framework reads when it starts (KERAS_BACKEND; for JAX on one
    thread, XLA's CPU thread pool; GPU determinism flags). Raises BackendUnavailable when the
    framework is missing or Keras was already imported with another backend.
    """
    check_installed(name)
    keras = sys.modules.get("keras")
    if keras is not None and keras.backend.backend() != name:
        raise BackendUnavailable(
            f"backend {name!r}: Keras is already running on {keras.backend.backend()!r} in "
            f"this process; start a new process with KERAS_BACKEND={name} (a training job "
            "does this itself)"
        )
    os.environ["KERAS_BACKEND"] = name
    if name == "jax":
        flags = os.environ.get("XLA_FLAGS", "")
        extra = ["--xla_gpu_deterministic_ops=true"]
        if threads == 1:
            # Eigen's ops on one thread. XLA has no flag for the size of its own CPU thread
            # pool (jaxlib knows no intra_op_parallelism_threads), so none is set.
            extra += ["--xla_cpu_multi_thread_eigen=false"]
        os.environ["XLA_FLAGS"] = " ".join([flags, *(f for f in extra if f not in flags)]).strip()
    elif name == "torch":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


def select_for_tools() -> str:
    """The backend of a job that builds models only to count or draw them: KERAS_BACKEND if
    set, else TensorFlow where installed, else JAX, else PyTorch. Call before importing Keras."""
    name = os.environ.get("KERAS_BACKEND")
    if name is None:
        name = next((b for b in BACKENDS if installed(b)), DEFAULT)
    os.environ["KERAS_BACKEND"] = name
    return name


def configure(name: str, threads: int) -> None:
    """Threads and determinism for training on `name`; Keras must already be on it."""
    # Keras is imported in the functions, never at the top: this module is what chooses the
    # backend before Keras's first import, and the preflight check imports it too.
    import keras

    if keras.backend.backend() != name:
        raise BackendUnavailable(
            f"backend {name!r}: Keras runs on {keras.backend.backend()!r} in this process; "
            f"call mobilenet_repro.training.backends.select({name!r}) before importing Keras, "
            f"or set KERAS_BACKEND={name}"
        )
    if name == "tensorflow":
        configure_tensorflow(threads)
    elif name == "torch":
        import torch

        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(True)
    # jax: threads and determinism are XLA flags, set by `select` before JAX started.


def configure_tensorflow(threads: int) -> None:
    """TensorFlow's threads and determinism; must run before TensorFlow executes its first op."""
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(min(2, threads))
    except RuntimeError:
        # TensorFlow already ran an op in this process (a notebook, a test session): its
        # thread pools are fixed now. Results are unaffected; only the speed may differ.
        print(
            f"TensorFlow already initialised: keeping its thread pools (asked {threads})",
            file=sys.stderr,
            flush=True,
        )
    # Same seed, same machine -> same numbers (seed 000/001 give no seeds; we record ours).
    tf.config.experimental.enable_op_determinism()


def current() -> str:
    """The backend Keras runs on in this process (imports Keras)."""
    import keras

    return keras.backend.backend()


def accelerators(name: str) -> list[str]:
    """The GPUs (or other accelerators) the backend sees, by name; [] on a CPU."""
    if name == "tensorflow":
        import tensorflow as tf

        return [d.name for d in tf.config.list_physical_devices("GPU")]
    if name == "jax":
        import jax

        return [f"{d.platform}:{d.device_kind}" for d in jax.devices() if d.platform != "cpu"]
    import torch

    if not torch.cuda.is_available():
        return []
    return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
