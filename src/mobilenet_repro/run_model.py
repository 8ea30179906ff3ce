"""The run model: what a run of a configuration is, as plain data.

A configuration's experiments expand into runs (`expand_runs`: every data set, model, Keras
backend and seed of each), and each run is described by its spec (`run_spec`): everything
that determines its result, which is also its fingerprint. Here too are what a data set is
prepared from (`dataset_spec`), a spec's recipe with the keys added later at their defaults
(`recipe_with_defaults`), which backends an experiment trains on (`experiment_backends`) and
the configuration's schema (`load_schema`), read for its defaults and descriptions.

Every stage reads runs from here; nothing here checks a configuration (that is `validation`,
and the machine and its files `preflight`), so importing it loads YAML and nothing else.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from mobilenet_repro.paths import SCHEMA
from mobilenet_repro.runs import DEFAULT, Run


def load_schema(path: Path | str = SCHEMA) -> dict:
    return yaml.safe_load(Path(path).read_text())


def dataset_spec(config: dict, name: str) -> dict:
    """What data set `name` is prepared from: its configuration without `compare_as`, which
    only steers the accuracy comparison (editing it must not rebuild the data)."""
    spec = dict(config["datasets"][name])
    spec.pop("compare_as", None)
    return spec


def expand_runs(config: dict, experiment: str | None = None) -> list[Run]:
    """Every run of one experiment, or of all, in configuration order."""
    runs = []
    for exp_id, exp in config["experiments"].items():
        if experiment is not None and exp_id != experiment:
            continue
        for dataset in exp["datasets"]:
            for model in exp["models"]:
                for backend in experiment_backends(config, exp_id):
                    for seed in exp["seeds"]:
                        runs.append(Run(exp_id, dataset, model, seed, backend))
    return runs


DISPLAY_ONLY = ("label", "origins")  # model keys that change the report, never a trained result
# Recipe keys added after runs were recorded: a run spec holds them only when they differ
# from these defaults, so runs recorded before keep their specs and fingerprints (and are not
# rerun). `recipe_with_defaults` puts them back for training.
LATER_RECIPE_DEFAULTS = {
    "nesterov": False,
    "weight_decay": 0.0,
    "schedule_epochs": None,
    "schedule_per": "step",
    "validate_on": "val",
    "ema_decay": 0.0,
    "test_time_flip": False,
    "test_time_translate": 0,
}


def recipe_with_defaults(recipe: dict) -> dict:
    """A run spec's recipe with the later keys it omits at their defaults."""
    return {**LATER_RECIPE_DEFAULTS, **recipe}


RECIPE_DISPLAY_ONLY = ("origins",)  # recipe keys that document a run, never change it


def _spec_recipe(recipe: dict) -> dict:
    return {
        k: v
        for k, v in recipe.items()
        if k not in RECIPE_DISPLAY_ONLY
        and (k not in LATER_RECIPE_DEFAULTS or v != LATER_RECIPE_DEFAULTS[k])
    }


def experiment_backends(config: dict, experiment: str) -> list[str]:
    """The Keras backends an experiment's runs train on, in order (the first is the one the
    others are compared with): the top-level `backend` (the command line's `--config
    backend=jax`) overrides each experiment's own. Either is one name or a list."""
    chosen = config.get("backend") or config["experiments"][experiment].get("backend", DEFAULT)
    return [chosen] if isinstance(chosen, str) else list(chosen)


def run_spec(
    config: dict, experiment: str, dataset: str, model: str, seed: int, backend: str | None = None
) -> dict:
    """Everything that determines one run's result, as plain data (also its fingerprint).
    `backend`: the run's Keras backend; None, the experiment's first."""
    exp = config["experiments"][experiment]
    backend = backend or experiment_backends(config, experiment)[0]
    model_config = {k: v for k, v in config["models"][model].items() if k not in DISPLAY_ONLY}
    return {
        "experiment": experiment,
        "dataset": dataset,
        "model_id": model,
        "seed": int(seed),
        "model": model_config,
        "recipe": _spec_recipe(config["recipes"][exp["recipe"]]),
        "recipe_name": exp["recipe"],
        # Only when not the default: runs trained before backends existed keep their
        # fingerprint (and are not rerun); metrics.json records the backend either way.
        **({"backend": backend} if backend != DEFAULT else {}),
    }
