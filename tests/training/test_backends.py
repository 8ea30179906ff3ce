"""Keras backends: the setting, its override, clear errors, and determinism per backend on CPU.

Training on JAX and PyTorch runs in a subprocess (Keras takes its backend once per process);
those tests are skipped where the framework is not installed (pip extras `jax`, `torch`).
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT, TINY_CONFIG

from mobilenet_repro.errors import ConfigError
from mobilenet_repro.run_model import run_spec
from mobilenet_repro.runs import BACKENDS
from mobilenet_repro.training import backends
from mobilenet_repro.training.records import fingerprint
from mobilenet_repro.validation import check_config


def _config(**top):
    config = copy.deepcopy(TINY_CONFIG)
    config.update(top)
    return config


def test_default_backend_leaves_run_specs_as_they_were():
    """Runs trained before backends existed keep their fingerprint and are not rerun."""
    spec = run_spec(check_config(_config()), "tiny", "digits", "v1_025_32", 0)
    assert "backend" not in spec
    assert fingerprint(spec) == fingerprint({k: v for k, v in spec.items()})


def test_experiment_backend_and_command_line_override():
    config = _config()
    config["experiments"]["tiny"]["backend"] = "torch"
    spec = run_spec(check_config(copy.deepcopy(config)), "tiny", "digits", "v1_025_32", 0)
    assert spec["backend"] == "torch"
    config["backend"] = "jax"  # snakemake --config backend=jax
    spec = run_spec(check_config(config), "tiny", "digits", "v1_025_32", 0)
    assert spec["backend"] == "jax"


def test_a_list_of_backends_trains_every_run_under_each_in_its_own_folder():
    """`backend: [tensorflow, jax]` is an axis like seeds: TensorFlow's folders stay as
    before (seed<n>), the others are named (seed<n>-jax), and every id parses back."""
    from mobilenet_repro.run_model import expand_runs
    from mobilenet_repro.runs import Run

    config = _config()
    config["experiments"]["tiny"]["backend"] = ["tensorflow", "jax"]
    config["experiments"]["tiny"] |= {"seeds": [0, 1], "models": ["v1_025_32"]}
    config = check_config(config)
    runs = expand_runs(config)
    assert [(r.backend, r.seed) for r in runs] == [
        ("tensorflow", 0), ("tensorflow", 1), ("jax", 0), ("jax", 1)
    ]  # fmt: skip
    assert [r.dir.rsplit("/", 1)[1] for r in runs] == ["seed0", "seed1", "seed0-jax", "seed1-jax"]
    for run in runs:
        assert Run.from_path(run.file("metrics")) == run
        assert Run.from_spec(run_spec(config, *vars(run).values())) == run
    # The command line's list overrides every experiment's own.
    config["backend"] = ["jax", "torch"]
    assert {r.backend for r in expand_runs(check_config(config))} == {"jax", "torch"}


def test_a_missing_backend_stops_before_any_job_unless_its_runs_are_done(tmp_path, monkeypatch):
    from mobilenet_repro.preflight import check_backends
    from mobilenet_repro.run_model import expand_runs

    monkeypatch.setattr(backends, "installed", lambda name: name == "tensorflow")
    config = _config()
    config["experiments"]["tiny"]["backend"] = ["tensorflow", "jax"]
    config = check_config(config)
    with pytest.raises(
        ConfigError, match=r"(?s)'jax' is not installed.*seed0-jax.*No job was started"
    ):
        check_backends(config, tmp_path)
    for run in expand_runs(config):  # trained elsewhere: the report needs no JAX here
        (tmp_path / run.file("metrics")).parent.mkdir(parents=True)
        (tmp_path / run.file("metrics")).write_text("{}")
    check_backends(config, tmp_path)


def test_unknown_backend_is_refused_naming_the_choices():
    config = _config()
    config["experiments"]["tiny"]["backend"] = "mxnet"
    with pytest.raises(ConfigError, match=r"experiments.tiny.backend: received 'mxnet'.*'jax'"):
        check_config(config)


def test_missing_framework_names_the_install_command(monkeypatch):
    monkeypatch.setattr(backends, "installed", lambda name: name == "tensorflow")
    with pytest.raises(
        backends.BackendUnavailable, match=r'pip install -c constraints.txt -e "\.\[jax\]"'
    ):
        backends.select("jax")


def test_keras_already_on_another_backend_is_refused():
    import keras

    other = next(b for b in BACKENDS if b != keras.backend.backend())
    if not backends.installed(other):
        pytest.skip(f"{other} is not installed")
    with pytest.raises(backends.BackendUnavailable, match=f"KERAS_BACKEND={other}"):
        backends.select(other)


# Trains the same run twice in one process on the backend given, prints both metrics. The
# process cannot import TensorFlow, as on a machine without it (Keras's own set_random_seed
# would import it wherever it is installed): the run must not need it.
TWICE = """
import json, sys
class NoTensorFlow:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "tensorflow":
            raise ImportError("TensorFlow is hidden from this run")
sys.meta_path.insert(0, NoTensorFlow())
from mobilenet_repro.runs import BACKENDS
from mobilenet_repro.training import backends
backends.select(sys.argv[1], 1)
from mobilenet_repro.training.loop import train_run
spec, data, out = json.loads(sys.argv[2]), sys.argv[3], sys.argv[4]
results = []
for name in ("a", "b"):
    files = {k: f"{out}/{name}/{k}" for k in ("metrics", "history", "schedule")}
    files["model"] = f"{out}/{name}/model.keras"
    m = train_run(spec, data, files, f"{out}/{name}/ckpt", threads=1)
    results.append({k: m[k] for k in ("backend", "test_top1", "test_loss", "val_top1")})
print(json.dumps([results, "tensorflow" in sys.modules]))
"""


@pytest.mark.parametrize("backend", ["jax", "torch"])
@pytest.mark.slow
def test_same_seed_same_metrics_on_cpu(backend, tmp_path):
    if not backends.installed(backend):
        pytest.skip(f"{backend} is not installed (pip extra `{backend}`)")
    from mobilenet_repro.data import save_dataset
    from mobilenet_repro.data.prepare import prepare_dataset

    data = tmp_path / "digits.npz"
    save_dataset(
        prepare_dataset("digits", {"source": "sklearn_digits", "max_per_class": 10}, "resources"),
        data,
    )
    config = _config()
    config["experiments"]["tiny"]["backend"] = backend
    config["recipes"]["quick"]["augment"] = "flip_crop"  # the numpy augmentation too
    spec = run_spec(check_config(config), "tiny", "digits", "v1_025_32", 0)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    env.pop("KERAS_BACKEND", None)
    result = subprocess.run(
        [sys.executable, "-c", TWICE, backend, json.dumps(spec), str(data), str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    (first, second), imported_tensorflow = json.loads(result.stdout.strip().splitlines()[-1])
    assert first["backend"] == backend
    assert first == second
    assert not imported_tensorflow
