"""Configuration: schema validation with clear messages, defaults, and expansion into runs.

`check_config` is called by the Snakefile before any job is scheduled. Its errors name the
key, the value received and what is allowed, so a typo costs seconds, not a training run.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import yaml

from mobilenet_repro.archspec import ARCH_SPECS

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    """The configuration is invalid; the message names the key, the value and what is allowed."""


def _key(path) -> str:
    return ".".join(str(p) for p in path) or "<top level>"


def _allowed(error: jsonschema.ValidationError) -> str:
    s = error.schema
    v = error.validator
    if v == "enum":
        return "one of " + ", ".join(repr(x) for x in s["enum"])
    if v == "type":
        return f"a value of type {s['type']}"
    if v in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        parts = []
        if "minimum" in s:
            parts.append(f">= {s['minimum']}")
        if "exclusiveMinimum" in s:
            parts.append(f"> {s['exclusiveMinimum']}")
        if "maximum" in s:
            parts.append(f"<= {s['maximum']}")
        if "exclusiveMaximum" in s:
            parts.append(f"< {s['exclusiveMaximum']}")
        return "a number " + " and ".join(parts)
    if v == "required":
        return f"the keys {s['required']} present"
    if v == "additionalProperties":
        return "only the keys " + ", ".join(sorted(s.get("properties", {})))
    if v == "pattern":
        return f"text matching {s['pattern']}"
    if v == "propertyNames":
        return f"names matching {s['propertyNames'].get('pattern')}"
    if v == "minItems":
        return f"at least {s['minItems']} item(s)"
    return f"{v} {error.validator_value!r}"


def _describe(error: jsonschema.ValidationError) -> str:
    key = _key(error.absolute_path)
    desc = error.schema.get("description", "")
    if error.validator == "required":
        missing = [k for k in error.validator_value if k not in (error.instance or {})]
        return f"{key}: missing required key(s) {missing}"
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return f"{key}: unknown key(s) {extra}; allowed: {_allowed(error)}"
    if error.validator == "propertyNames":
        return f"{key}: the name {error.instance!r} is not allowed; use {_allowed(error)}"
    msg = f"{key}: received {error.instance!r}; allowed: {_allowed(error)}"
    return f"{msg} ({desc.strip()})" if desc else msg


def _with_defaults(validator_class):
    validate_props = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for prop, sub in properties.items():
                if "default" in sub and prop not in instance:
                    instance[prop] = copy.deepcopy(sub["default"])
        yield from validate_props(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


def load_schema(path: Path | str = SCHEMA_PATH) -> dict:
    return yaml.safe_load(Path(path).read_text())


def check_config(config: dict, schema_path: Path | str = SCHEMA_PATH) -> dict:
    """Validate `config` in place (filling defaults) and check cross-references.

    Raises ConfigError listing every problem found.
    """
    schema = load_schema(schema_path)
    validator = _with_defaults(jsonschema.Draft202012Validator)(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    problems = [_describe(e) for e in errors]
    if not problems:
        problems = _check_references(config)
    if problems:
        raise ConfigError(
            "invalid configuration:\n  - "
            + "\n  - ".join(problems)
            + "\nFix these keys in the config file (see workflow/schemas/config.schema.yaml)."
        )
    return config


def _check_references(config: dict) -> list[str]:
    problems = []
    for exp_id, exp in config["experiments"].items():
        for i, name in enumerate(exp["datasets"]):
            if name not in config["datasets"]:
                problems.append(
                    f"experiments.{exp_id}.datasets.{i}: received {name!r}; allowed: one of the "
                    f"data sets defined under `datasets` ({sorted(config['datasets'])})"
                )
        for i, name in enumerate(exp["models"]):
            if name not in config["models"]:
                problems.append(
                    f"experiments.{exp_id}.models.{i}: received {name!r}; allowed: one of the "
                    f"models defined under `models` ({sorted(config['models'])})"
                )
        if exp["recipe"] not in config["recipes"]:
            problems.append(
                f"experiments.{exp_id}.recipe: received {exp['recipe']!r}; allowed: one of the "
                f"recipes defined under `recipes` ({sorted(config['recipes'])})"
            )
        if len(set(exp["seeds"])) != len(exp["seeds"]):
            problems.append(f"experiments.{exp_id}.seeds: received {exp['seeds']}; seeds repeat")
    for model_id, model in config["models"].items():
        arch = ARCH_SPECS[model["arch"]]
        if model["resolution"] < arch.min_resolution:
            problems.append(
                f"models.{model_id}.resolution: received {model['resolution']}; allowed: "
                f">= {arch.min_resolution} for {model['arch']}"
            )
        if not arch.has_alpha and model["alpha"] != 1.0:
            problems.append(
                f"models.{model_id}.alpha: received {model['alpha']}; allowed: 1.0 "
                f"({model['arch']} has no width multiplier)"
            )
        if model["weights"] == "imagenet" and model["arch"] == "cifar_mobilenet_v2":
            problems.append(
                f"models.{model_id}.weights: received 'imagenet'; allowed: null "
                "(no ImageNet weights exist for the CIFAR MobileNetV2)"
            )
    for name, recipe in config["recipes"].items():
        if recipe["warmup_epochs"] >= recipe["epochs"] and recipe["schedule"] == "cosine":
            problems.append(
                f"recipes.{name}.warmup_epochs: received {recipe['warmup_epochs']}; allowed: "
                f"fewer than epochs ({recipe['epochs']}) so the cosine decay has steps left"
            )
    return problems


def load_config(path: Path | str) -> dict:
    """Read and check a YAML config file."""
    return check_config(yaml.safe_load(Path(path).read_text()) or {})


@dataclass(frozen=True)
class Run:
    """One training run: (experiment, data set, model, seed)."""

    experiment: str
    dataset: str
    model: str
    seed: int

    @property
    def id(self) -> str:
        return f"{self.experiment}/{self.dataset}/{self.model}/seed{self.seed}"

    @property
    def dir(self) -> str:
        return f"results/runs/{self.id}"


def expand_runs(config: dict, experiment: str | None = None) -> list[Run]:
    """Every run of one experiment, or of all, in configuration order."""
    runs = []
    for exp_id, exp in config["experiments"].items():
        if experiment is not None and exp_id != experiment:
            continue
        for dataset in exp["datasets"]:
            for model in exp["models"]:
                for seed in exp["seeds"]:
                    runs.append(Run(exp_id, dataset, model, seed))
    return runs


def run_spec(config: dict, experiment: str, dataset: str, model: str, seed: int) -> dict:
    """Everything that determines one run's result, as plain data (also its fingerprint)."""
    exp = config["experiments"][experiment]
    return {
        "experiment": experiment,
        "dataset": dataset,
        "model_id": model,
        "seed": int(seed),
        "model": dict(config["models"][model]),
        "recipe": dict(config["recipes"][exp["recipe"]]),
        "recipe_name": exp["recipe"],
    }
