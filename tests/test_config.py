"""Configuration checks: defaults, and errors that name the key, the value and what is allowed."""

from __future__ import annotations

import pytest
import yaml
from conftest import ROOT

from mobilenet_repro.errors import ConfigError
from mobilenet_repro.run_model import expand_runs, run_spec
from mobilenet_repro.validation import check_config


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


def set_key(config, dotted, value):
    *parents, last = dotted.split(".")
    for key in parents:
        config = config[key]
    config[last] = value


@pytest.mark.parametrize(
    ("key", "value", "shown", "allowed"),
    [
        ("models.v1_025_32.alpha", 1.5, "1.5", "<= 1"),
        ("models.v1_025_32.alpha", 0, "0", "> 0"),
        ("models.v1_025_32.resolution", 16, "16", ">= 32"),
        ("models.v1_025_32.arch", "mobilenet_v9", "mobilenet_v9", "one of"),
        ("recipes.quick.epochs", -1, "-1", ">= 1"),
        ("recipes.quick.batch_size", "64", "'64'", "type integer"),
        ("experiments.tiny.datasets", ["cifar100"], "cifar100", "data sets defined"),
        ("experiments.tiny.models", ["nope"], "nope", "models defined"),
        ("datasets.digits.source", "imagenet", "imagenet", "one of"),
        ("models.inc", {"arch": "inception_v3", "resolution": 64}, "64", ">= 75"),
    ],
)
def test_invalid_values_name_key_value_and_allowed(tiny_config, key, value, shown, allowed):
    set_key(tiny_config, key, value)
    with pytest.raises(ConfigError) as err:
        check_config(tiny_config)
    message = str(err.value)
    assert key in message
    assert shown in message
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


@pytest.mark.parametrize("path", sorted((ROOT / "config").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_config_is_valid(path):
    config = check_config(yaml.safe_load(path.read_text()))
    assert expand_runs(config)


def test_paper_config_covers_the_seed_experiments():
    config = check_config(yaml.safe_load((ROOT / "config/paper.yaml").read_text()))
    sources = {d["source"] for d in config["datasets"].values()}
    assert sources == {"stanford_dogs", "cifar10", "mnist"}
    models = config["models"]
    dogs = config["experiments"]["stanford_dogs"]
    assert config["recipes"][dogs["recipe"]]["freeze_base"]
    assert all(models[m]["weights"] == "imagenet" for m in dogs["models"])
    archs = {m["arch"] for m in models.values()}
    assert archs == {
        "mobilenet_v1", "mobilenet_v2", "cifar_mobilenet_v2", "inception_v3", "resnet50_v2", "vgg16"
    }  # fmt: skip


def test_a_models_display_label_is_not_part_of_its_run(tiny_config):
    config = check_config(tiny_config)
    a = run_spec(config, "tiny", "digits", "v1_025_32", 0)
    config["models"]["v1_025_32"]["label"] = "Another name in the report"
    assert run_spec(config, "tiny", "digits", "v1_025_32", 0) == a
    assert "label" not in a["model"]


TRICKY_IDS = [".", "..", "...", ".hidden", "a/b", "../x", "a b", "", "A", "a", "a.", "a..b",
              "-a", "_", "v1_1.0_224", "ä", "a\\b", "~", "a:b", "CON"]  # fmt: skip


PLAIN_IDS = ["a", "A", "b", "v1", "V1", "x-y", "_", "-a", "a_b"]
ACCEPTED = set()  # trials whose ids were accepted: the property was checked, not skipped


def _config_with_ids(tiny_config, experiments, datasets, models):
    config = tiny_config
    digits, model = config["datasets"]["digits"], config["models"]["v1_025_32"]
    config["datasets"] = {d: dict(digits) for d in datasets}
    config["models"] = {m: dict(model) for m in models}
    config["experiments"] = {
        e: {"datasets": list(datasets), "models": list(models), "recipe": "quick", "seeds": [0, 1]}
        for e in experiments
    }
    return config


@pytest.mark.parametrize("trial", range(60))
def test_distinct_runs_always_get_distinct_folders_inside_results(tiny_config, trial):
    """Whatever the ids: the configuration is refused, or every run has its own folder in
    results/runs/ (compared as macOS and Windows do, ignoring case)."""
    import os
    import random

    rng = random.Random(trial)

    def pick():
        pool = TRICKY_IDS if rng.random() < 0.3 else PLAIN_IDS
        return rng.sample(pool, rng.randint(1, 3))

    config = _config_with_ids(tiny_config, pick(), pick(), pick())
    try:
        check_config(config)
    except ConfigError:
        return
    ACCEPTED.add(trial)
    folders = [os.path.normpath(run.dir) for run in expand_runs(config)]
    assert len({f.casefold() for f in folders}) == len(folders)
    for folder in folders:
        parts = folder.split(os.sep)
        assert parts[:2] == ["results", "runs"] and len(parts) == 6
        assert not any(p.startswith(".") for p in parts)


def test_some_random_ids_were_accepted():
    assert len(ACCEPTED) >= 5  # runs after the trials above (pytest keeps file order)


@pytest.mark.parametrize(
    ("experiments", "datasets", "models", "message"),
    [
        (["tiny"], ["digits"], ["v1", ".."], r"models: received '\.\.'; allowed: .*not starting"),
        (["tiny"], ["digits"], [".hidden"], r"models: received '\.hidden'"),
        (["tiny"], ["digits", "Digits"], ["v1"], r"differ only in letter case"),
        (["tiny", "Tiny"], ["digits"], ["v1"], r"experiments: received \['tiny', 'Tiny'\]"),
    ],
)
def test_ids_that_would_share_or_leave_a_folder_are_refused(
    tiny_config, experiments, datasets, models, message
):
    with pytest.raises(ConfigError, match=message):
        check_config(_config_with_ids(tiny_config, experiments, datasets, models))


def test_a_run_listed_twice_is_refused(tiny_config):
    tiny_config["experiments"]["tiny"]["models"].append("v1_025_32")
    with pytest.raises(ConfigError, match=r"run tiny/digits/v1_025_32/seed0 is listed twice"):
        check_config(tiny_config)


def test_a_runs_identity_is_read_back_from_any_of_its_files():
    """One definition of a run: its id, folder and files, parsed back for the analysis."""
    from mobilenet_repro.paths import RUN_FILES
    from mobilenet_repro.runs import Run

    config = check_config(yaml.safe_load((ROOT / "config/paper.yaml").read_text()))
    for run in expand_runs(config):
        assert run.dir == f"results/runs/{run.id}"
        for name in RUN_FILES:
            assert Run.from_path(run.file(name)) == run
            assert Run.from_path(f"/elsewhere/{run.file(name)}") == run
    with pytest.raises(ValueError, match="not inside a run folder"):
        Run.from_path("results/derived/default/analysis/tiny/results_table.csv")


def test_resources_for_an_unknown_model_are_refused(tiny_config):
    tiny_config["resources"] = {"per_model": {"v9": {"mem_mb": 1000}}}
    with pytest.raises(ConfigError, match=r"resources.per_model: received \['v9'\]; allowed"):
        check_config(tiny_config)


def test_too_few_classes_for_a_fixed_size_source_is_refused_before_training(tiny_config):
    tiny_config["models"]["v1_025_32"]["classes"] = 5
    with pytest.raises(ConfigError, match=r"models.v1_025_32.classes: received 5; allowed: null"):
        check_config(tiny_config)


def test_ids_differing_only_in_case_are_refused_even_in_different_experiments(tiny_config):
    """resources/datasets/Digits.npz and digits.npz are one file on macOS and Windows."""
    tiny_config["datasets"]["Digits"] = dict(tiny_config["datasets"]["digits"])
    tiny_config["experiments"]["other"] = {
        **tiny_config["experiments"]["tiny"],
        "datasets": ["Digits"],
    }
    with pytest.raises(ConfigError, match=r"datasets: received \['digits', 'Digits'\]"):
        check_config(tiny_config)


def test_each_shipped_configuration_writes_its_own_report_folder(tiny_config):
    names = [
        yaml.safe_load(p.read_text())["name"] for p in sorted((ROOT / "config").glob("*.yaml"))
    ]
    assert len(set(names)) == len(names), names
    assert check_config(tiny_config)["name"] == "default"  # results/report/default/
    tiny_config["name"] = "../elsewhere"
    with pytest.raises(ConfigError, match=r"name: received '../elsewhere'"):
        check_config(tiny_config)


@pytest.mark.parametrize(
    ("model_id", "says"),
    [("m" * 101, "101 characters long; allowed: at most 100"), ("L" * 30, "repeated 30 times")],
)
def test_long_and_periodic_ids_are_refused_before_any_job(tiny_config, model_id, says):
    tiny_config["models"][model_id] = tiny_config["models"].pop("v1_025_32")
    tiny_config["experiments"]["tiny"]["models"] = [
        model_id if m == "v1_025_32" else m for m in tiny_config["experiments"]["tiny"]["models"]
    ]
    with pytest.raises(ConfigError, match=says):
        check_config(tiny_config)


def test_missing_pretrained_weights_stop_the_run_naming_the_file(tiny_config, tmp_path):
    """With pretrained_weights_dir set, an ImageNet file it lacks is named with its URL before
    any job; a `weights:` file that is not there is named too; present files pass."""
    from mobilenet_repro.preflight import check_local_files

    tiny_config["models"]["v1_025_32"] |= {"alpha": 0.25, "resolution": 128, "weights": "imagenet"}
    tiny_config["pretrained_weights_dir"] = "weights"
    config = check_config(tiny_config)
    with pytest.raises(ConfigError, match=r"mobilenet_2_5_128_tf_no_top\.h5.*storage\.googleapis"):
        check_local_files(config, tmp_path)
    (tmp_path / "weights/models").mkdir(parents=True)
    (tmp_path / "weights/models/mobilenet_2_5_128_tf_no_top.h5").write_bytes(b"x")
    check_local_files(config, tmp_path)
    tiny_config["models"]["v1_025_32"]["weights"] = "mine/v1.h5"
    with pytest.raises(ConfigError, match=r"models\.v1_025_32\.weights: received 'mine/v1\.h5'"):
        check_local_files(check_config(tiny_config), tmp_path)


def test_a_prepared_data_sets_source_is_not_needed_before_a_run(tiny_config, tmp_path):
    """A missing local source stops the run before any job, unless the data set is prepared:
    its manifest is enough (a deleted cache is rebuilt by the job that needs it)."""
    from mobilenet_repro.preflight import check_local_files

    tiny_config["datasets"]["digits"] = {"source": "image_folder", "path": "no/such/folder"}
    config = check_config(tiny_config)
    with pytest.raises(ConfigError, match=r"datasets\.digits\.path: received 'no/such/folder'"):
        check_local_files(config, tmp_path)
    manifest = tmp_path / "results/data/digits/manifest.json"
    manifest.parent.mkdir(parents=True)
    manifest.write_text("{}")
    check_local_files(config, tmp_path)


def _yaml_with(config, **texts) -> dict:
    """`config` as YAML text, each name in `texts` replaced by its text, read back by YAML."""
    text = yaml.safe_dump(config, sort_keys=False)
    for name, replacement in texts.items():
        text = text.replace(name, replacement)
    return yaml.safe_load(text)


@pytest.mark.parametrize(
    ("model_key", "reference", "says"),
    [
        # an id yes: that YAML reads as a boolean, referenced in quotes
        ("yes", '"yes"', r'models: the key True is not text \(YAML reads an unquoted yes, on or '
         r'true as the boolean True; put it in quotes, e.g. "yes":\)'),
        ("null", "v1_025_32", r"models: the key None is not text \(YAML reads an unquoted null "
         r'or ~, or nothing, as null; put it in quotes, e.g. "null":\)'),
        ("1", "v1_025_32", r'models: the key 1 is not text \(YAML reads an unquoted 1 as a '
         r'number; put it in quotes, e.g. "1":\)'),
        # the id quoted, the reference not
        ('"yes"', "yes", r"experiments\.tiny\.models\.0: received True; allowed: a value of type "
         r"string \(YAML reads an unquoted yes, on or true as the boolean True; put it in "
         r'quotes, e.g. "yes"\)'),
    ],
)  # fmt: skip
def test_ids_that_yaml_reads_as_booleans_null_or_numbers_are_named_with_the_fix(
    tiny_config, model_key, reference, says
):
    tiny_config["models"]["MODEL_KEY"] = tiny_config["models"]["v1_025_32"]
    tiny_config["experiments"]["tiny"]["models"] = ["REFERENCE"]
    config = _yaml_with(tiny_config, MODEL_KEY=model_key, REFERENCE=reference)
    with pytest.raises(ConfigError, match=says):
        check_config(config)
