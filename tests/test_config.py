"""Configuration checks: defaults, and errors that name the key, the value and what is allowed."""

from __future__ import annotations

import pytest
import yaml

from mobilenet_repro.config import ConfigError, check_config, expand_runs, run_spec

from conftest import ROOT


def test_default_config_is_valid_and_expands_to_runs():
    config = check_config(yaml.safe_load((ROOT / "config/config.yaml").read_text()))
    runs = expand_runs(config)
    assert len(runs) == sum(
        len(e["datasets"]) * len(e["models"]) * len(e["seeds"])
        for e in config["experiments"].values()
    )
    archs = {config["models"][r.model]["arch"] for r in runs}
    assert {"mobilenet_v1", "mobilenet_v2", "cifar_mobilenet_v2"} <= archs
    assert len(archs & {"inception_v3", "resnet50_v2", "vgg16"}) >= 2
    assert all(len(e["seeds"]) >= 2 for e in config["experiments"].values())


def test_defaults_are_filled(tiny_config):
    config = check_config(tiny_config)
    assert config["recipes"]["quick"]["beta_2"] == 0.999
    assert config["models"]["v1_025_32"]["weights"] is None
    assert config["datasets"]["digits"]["split"]["val_fraction"] == 0.15


@pytest.mark.parametrize(
    ("mutate", "key", "value", "allowed"),
    [
        (lambda c: c["models"]["v1_025_32"].update(alpha=1.5), "models.v1_025_32.alpha", "1.5", "<= 1"),
        (lambda c: c["models"]["v1_025_32"].update(alpha=0), "models.v1_025_32.alpha", "0", "> 0"),
        (lambda c: c["models"]["v1_025_32"].update(resolution=16), "models.v1_025_32.resolution", "16", ">= 32"),
        (lambda c: c["models"]["v1_025_32"].update(arch="mobilenet_v9"), "models.v1_025_32.arch", "mobilenet_v9", "one of"),
        (lambda c: c["recipes"]["quick"].update(epochs=-1), "recipes.quick.epochs", "-1", ">= 1"),
        (lambda c: c["recipes"]["quick"].update(batch_size="64"), "recipes.quick.batch_size", "'64'", "type integer"),
        (lambda c: c["experiments"]["tiny"].update(datasets=["cifar100"]), "experiments.tiny.datasets.0", "cifar100", "data sets defined"),
        (lambda c: c["experiments"]["tiny"].update(models=["nope"]), "experiments.tiny.models.0", "nope", "models defined"),
        (lambda c: c["datasets"]["digits"].update(source="imagenet"), "datasets.digits.source", "imagenet", "one of"),
        (lambda c: c["models"].update(inc={"arch": "inception_v3", "resolution": 64}), "models.inc.resolution", "64", ">= 75"),
    ],
)  # fmt: skip
def test_invalid_values_name_key_value_and_allowed(tiny_config, mutate, key, value, allowed):
    mutate(tiny_config)
    with pytest.raises(ConfigError) as err:
        check_config(tiny_config)
    message = str(err.value)
    assert key in message
    assert value in message
    assert allowed in message


def test_unknown_key_is_reported(tiny_config):
    tiny_config["recipes"]["quick"]["learning_rat"] = 0.1
    with pytest.raises(ConfigError, match=r"recipes\.quick: unknown key\(s\) \['learning_rat'\]"):
        check_config(tiny_config)


def test_run_spec_holds_only_what_decides_the_run(tiny_config):
    config = check_config(tiny_config)
    a = run_spec(config, "tiny", "digits", "v1_025_32", 0)
    config["models"]["cifar_v2_025_32"]["dropout"] = 0.5
    assert run_spec(config, "tiny", "digits", "v1_025_32", 0) == a
    config["models"]["v1_025_32"]["dropout"] = 0.5
    assert run_spec(config, "tiny", "digits", "v1_025_32", 0) != a
