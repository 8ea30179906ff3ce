"""A run's checkpoint: everything needed to resume it as if it had never stopped.

state.json holds the completed validation periods, the history so far, the early-stopping
record and the state of every Keras seed generator (dropout draws its masks from these);
model-epoch<k>.keras holds the weights and the optimizer's state, step counter included;
with early stopping, best-period<k>.npz holds the weights of the best validation so far.
The epoch orders and augmentations need nothing saved: they are stateless functions of
(seed, epoch, batch) (data.tf_pipeline, data.numpy_batches).

`load_trusted_model` reads any model file a run wrote: here, beside the optimizers that file
may hold (`optimizers`), rather than with the builders, which know nothing of training.
"""

from __future__ import annotations

import os
import re
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from mobilenet_repro.files import atomic_path, read_json, write_json
from mobilenet_repro.jobs import warn


def load_trusted_model(path: Path | str) -> keras.Model:
    """Load a .keras file with Keras's safe mode: Lambda layers (arbitrary code) are refused."""
    from mobilenet_repro.training import optimizers  # noqa: F401 - registers FusedAdam for loading

    try:
        return keras.models.load_model(path, safe_mode=True)
    except ValueError as exc:
        if "safe_mode" in str(exc) or "Lambda" in str(exc):
            raise ValueError(
                f"refusing to load {path}: it contains code (a Lambda layer), which safe mode "
                "does not execute. Only load model files you created; delete this one and "
                "rerun to train it again."
            ) from exc
        raise


def seed_generators(model) -> list:
    """The Keras seed generators of every layer (dropout's masks come from these), in order."""
    return [g for layer in model._flatten_layers() for g in layer._seed_generators]


def save_model(model, path: Path | str) -> None:
    """model.keras, atomically (Keras insists on the .keras suffix, hence the second name)."""
    with atomic_path(path) as tmp:
        tmp_keras = tmp.with_suffix(".keras")
        model.save(tmp_keras)
        os.replace(tmp_keras, tmp)


class CheckpointDamaged(RuntimeError):
    """A part of a checkpoint could not be read after the run had resumed from it."""


class OptimizerStateLost(ValueError):
    """A checkpoint's model loaded without all of its optimizer's state."""


def _cannot_read(path: Path, exc: Exception) -> str:
    if isinstance(exc, OptimizerStateLost):
        return f"cannot be read ({exc})"
    # Keras reports a truncated archive as "File not found"; for a file that exists, say
    # what is true.
    if Path(path).exists():
        return f"cannot be read ({type(exc).__name__}: the file is damaged or truncated)"
    return f"is missing ({type(exc).__name__}: {exc})"


def fresh_state() -> dict:
    return {"epoch": 0, "history": [], "train_seconds": 0.0, "resumed_from": []}


@dataclass
class Checkpoint:
    """A run's resumable progress: state.json (epochs, history, seed-generator states) and
    model-epoch<k>.keras (weights, optimizer state and step counter after epoch k).

    Both are written atomically, the model first and under a new name: state.json always
    names a complete model file of its own epoch, whenever the process is killed.
    """

    directory: Path
    fingerprint: str
    run_id: str

    @property
    def state_file(self) -> Path:
        return self.directory / "state.json"

    def save(self, model, state: dict, best_weights: list | None = None) -> None:
        """Write the checkpoint; `best_weights`: the best validation's weights, when they
        changed since the last save (state["best"] says which period they are from)."""
        name = f"model-epoch{state['epoch']}.keras"
        best_file = None if best_weights is None else f"best-period{state['best']['period']}.npz"
        fresh = not self.directory.exists()
        added = [f for f in (best_file, name) if f and not (self.directory / f).exists()]
        try:
            self._write(model, state, name, best_file, best_weights)
        except BaseException:
            # state.json still names the previous checkpoint's files (a full disk, a kill):
            # what this save added is of no use, and the folder is left as it was.
            if fresh:
                self.delete()
            for file in added:
                (self.directory / file).unlink(missing_ok=True)
            raise
        keep = {name, (state.get("best") or {}).get("file")}
        for old in [*self.directory.glob("model-epoch*.keras"), *self.directory.glob("best-*")]:
            if old.name not in keep:
                old.unlink()

    def _write(self, model, state, name, best_file, best_weights) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if best_file is not None:
            with atomic_path(self.directory / best_file) as tmp, open(tmp, "wb") as f:
                np.savez(f, *best_weights)
            state["best"]["file"] = best_file
        state = {**state, "fingerprint": self.fingerprint, "model_file": name}
        state["seed_generators"] = [
            [int(v) for v in np.asarray(g.state.value)] for g in seed_generators(model)
        ]
        save_model(model, self.directory / name)
        write_json(state, self.state_file)

    def restore_best(self, state: dict) -> list:
        """The best validation's weights, saved with an earlier checkpoint.

        `restore` has read this file when the run resumed; should it be damaged since, the
        checkpoint is deleted, so that the next invocation trains the run from its start
        rather than failing here again.
        """
        path = self.directory / state["best"]["file"]
        try:
            return self._read_best(path)
        except Exception as exc:
            why = _cannot_read(path, exc)
            self.delete()
            raise CheckpointDamaged(
                f"[{self.run_id}] the best validation's weights {path} "
                f"{why}; the checkpoint {self.directory} was deleted, so "
                "running the same command again trains this run from its start"
            ) from exc

    @staticmethod
    def _read_best(path: Path) -> list:
        with np.load(path) as saved:
            return [saved[f"arr_{i}"] for i in range(len(saved.files))]

    def restore(self):
        """(state, model) of the interrupted run, or (a fresh state, None) to start over.

        A checkpoint of other settings is ignored; one that cannot be read (garbage in
        state.json, a truncated model file, a model file whose optimizer state does not all
        load, a truncated best-weights file) is reported by path and deleted, never a dead end.
        """
        if not self.state_file.exists():
            return fresh_state(), None
        reading = self.state_file
        try:
            saved = read_json(self.state_file)
            if saved.get("fingerprint") != self.fingerprint:
                warn(
                    f"[{self.run_id}] checkpoint in {self.directory} is from other settings; "
                    "starting over"
                )
                return fresh_state(), None
            reading = self.directory / saved["model_file"]
            model = self._load_model(reading, saved)
            if (saved.get("best") or {}).get("file"):
                reading = self.directory / saved["best"]["file"]
                best = self._read_best(reading)
                if len(best) != len(model.get_weights()):
                    raise ValueError(f"{len(best)} arrays for {len(model.get_weights())} weights")
        except Exception as exc:  # any unreadable part: the run can always start over
            warn(
                f"[{self.run_id}] checkpoint file {reading} {_cannot_read(reading, exc)}; "
                f"deleting the checkpoint {self.directory} and starting over"
            )
            shutil.rmtree(self.directory, ignore_errors=True)
            return fresh_state(), None
        for key in ("seed_generators", "model_file", "fingerprint"):
            saved.pop(key)
        return saved, model

    @staticmethod
    def _load_model(path: Path, saved: dict):
        generator_states = saved["seed_generators"]
        history = saved["history"]
        model = _load_with_optimizer_state(path, history[-1]["step"] if history else 0)
        generators = seed_generators(model)
        if len(generators) != len(generator_states):
            raise ValueError(
                f"{len(generator_states)} saved seed-generator states for "
                f"{len(generators)} seed generators"
            )
        for generator, value in zip(generators, generator_states, strict=True):
            generator.state.assign(np.asarray(value, dtype=generator.state.dtype))
        return model

    def delete(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


_SKIPPED = re.compile(r"it has (\d+) variables whereas the saved optimizer has (\d+)")


def _load_with_optimizer_state(path: Path, step: int):
    """The checkpoint's model, refused unless its optimizer's whole state loaded.

    Keras loads a file whose optimizer variables do not match the optimizer's with only a
    warning, and leaves that optimizer as new (step 0, zero moments): a run resumed from it
    would go on with other numbers than the uninterrupted run's. `step`: the optimizer steps
    the checkpoint's history says were taken.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = load_trusted_model(path)
    for w in caught:
        if str(w.message).startswith("Skipping variable loading for optimizer"):
            counts = _SKIPPED.search(str(w.message))
            raise OptimizerStateLost(
                f"its optimizer state is incomplete: {counts[2]} of the optimizer's "
                f"{counts[1]} variables saved"
                if counts
                else f"its optimizer state did not load: {w.message}"
            )
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None:
        iterations = int(keras.ops.convert_to_numpy(optimizer.iterations))
        if iterations != step:
            raise OptimizerStateLost(
                f"its optimizer's step counter is {iterations}, the checkpoint's step {step}"
            )
    return model
