"""Validation of a configuration: its schema, with clear messages and defaults, and the
cross-references no schema can express.

`check_config` is called by the Snakefile before any job is scheduled. Its errors name the
key, the value received and what is allowed, so a typo costs seconds, not a training run.
What the configuration means once valid (its runs, their specs) is `run_model`; whether this
machine has the files and frameworks it names is `preflight`.
"""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path

import jsonschema
import yaml

from mobilenet_repro.data.registry import source_classes
from mobilenet_repro.errors import ConfigError
from mobilenet_repro.models.specs import ARCH_SPECS, NOT_IN_KERAS
from mobilenet_repro.paths import RUNS_DIR, SCHEMA
from mobilenet_repro.run_model import expand_runs, load_schema


def _key(path) -> str:
    return ".".join(str(p) for p in path) or "<top level>"


def _number_range(s: dict) -> str:
    bounds = (
        ("minimum", ">="),
        ("exclusiveMinimum", ">"),
        ("maximum", "<="),
        ("exclusiveMaximum", "<"),
    )
    return "a number " + " and ".join(f"{op} {s[k]}" for k, op in bounds if k in s)


def _alternative(s: dict) -> str:
    """One branch of a oneOf, in words: null, one of 'a', 'b', or a list of those."""
    if s.get("type") == "null":
        return "null"
    if s.get("type") == "array":
        return f"a list of distinct items, each {_alternative(s['items'])}"
    return _ALLOWED["enum"](s) if "enum" in s else _ALLOWED["type"](s)


_ALLOWED = {
    "enum": lambda s: "one of " + ", ".join(repr(x) for x in s["enum"]),
    "oneOf": lambda s: "; or ".join(_alternative(branch) for branch in s["oneOf"]),
    "type": lambda s: f"a value of type {s['type']}",
    "minimum": _number_range,
    "maximum": _number_range,
    "exclusiveMinimum": _number_range,
    "exclusiveMaximum": _number_range,
    "required": lambda s: f"the keys {s['required']} present",
    "additionalProperties": lambda s: "only the keys " + ", ".join(sorted(s.get("properties", {}))),
    "pattern": lambda s: f"text matching {s['pattern']}",
    "minItems": lambda s: f"at least {s['minItems']} item(s)",
}


def _allowed(error: jsonschema.ValidationError) -> str:
    s, v = error.schema, error.validator
    if v == "propertyNames":
        names = s["propertyNames"]
        what = f" ({names['description']})" if "description" in names else ""
        return f"names matching {names.get('pattern')}{what}"
    if v in _ALLOWED:
        return _ALLOWED[v](s)
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
    if error.validator == "type" and "string" in error.validator_value:
        msg += f" ({_yaml_reading(error.instance)})" if _not_text(error.instance) else ""
    return f"{msg} ({desc.strip()})" if desc else msg


def _not_text(value) -> bool:
    """A scalar that YAML read as something other than text (a list or mapping is not)."""
    return not isinstance(value, (str, dict, list))


def _yaml_reading(value) -> str:
    """What YAML made of a word meant as text, and the fix."""
    if isinstance(value, bool):
        words, example = ("yes, on or true", "yes") if value else ("no, off or false", "no")
        what = f"an unquoted {words} as the boolean {value}"
    elif value is None:
        what, example = "an unquoted null or ~, or nothing, as null", "null"
    elif isinstance(value, (int, float)):
        what, example = f"an unquoted {value!r} as a number", value
    else:
        what, example = f"an unquoted {value} as a {type(value).__name__}", value
    return f'YAML reads {what}; put it in quotes, e.g. "{example}"'


def _non_text_keys(value, path=()) -> list[str]:
    """Keys anywhere in the configuration that YAML did not read as text (an id `yes:` is
    the boolean True), which no other check could name or compare."""
    problems = []
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        if isinstance(value, dict) and not isinstance(key, str):
            problems.append(f"{_key(path)}: the key {key!r} is not text ({_yaml_reading(key)}:)")
        if isinstance(item, (dict, list)):
            problems += _non_text_keys(item, (*path, key))
    return problems


def _with_defaults(validator_class):
    validate_props = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for prop, sub in properties.items():
                if "default" in sub and prop not in instance:
                    instance[prop] = copy.deepcopy(sub["default"])
        yield from validate_props(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


def check_config(config: dict, schema_path: Path | str = SCHEMA) -> dict:
    """Validate `config` in place (filling defaults) and check cross-references.

    The one check of a configuration. Raises ConfigError listing every problem found.
    """
    problems = _non_text_keys(config) if isinstance(config, dict) else []
    if not problems:
        schema = load_schema(schema_path)
        validator = _with_defaults(jsonschema.Draft202012Validator)(schema)
        errors = sorted(
            validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path))
        )
        problems = [_describe(e) for e in errors]
    if not problems:
        problems = _check_references(config)
    if problems:
        raise ConfigError(
            "invalid configuration:\n  - "
            + "\n  - ".join(problems)
            + "\nFix these keys in the config file (see src/mobilenet_repro/config.schema.yaml)."
        )
    return config


def _check_references(config: dict) -> list[str]:
    problems = []
    for exp_id, exp in config["experiments"].items():
        problems += _check_experiment(config, exp_id, exp)
    for model_id, model in config["models"].items():
        problems += _check_model(model_id, model)
    problems += _check_case_clashes(config)
    problems += _check_id_lengths(config)
    problems += _check_run_folders(config)
    problems += _check_class_counts(config)
    unknown = sorted(set(config.get("resources", {}).get("per_model", {})) - set(config["models"]))
    if unknown:
        problems.append(
            f"resources.per_model: received {unknown}; allowed: model ids defined under "
            f"`models` ({sorted(config['models'])})"
        )
    for name, recipe in config["recipes"].items():
        decays = recipe["schedule"] in ("cosine", "linear")
        if recipe["warmup_epochs"] >= recipe["epochs"] and decays:
            problems.append(
                f"recipes.{name}.warmup_epochs: received {recipe['warmup_epochs']}; allowed: "
                f"fewer than epochs ({recipe['epochs']}) so the {recipe['schedule']} decay "
                "has steps left"
            )
        problems += _check_schedule_options(name, recipe)
    return problems


def _check_schedule_options(name: str, recipe: dict) -> list[str]:
    """The optimizer and schedule keys that only make sense together."""
    problems = []
    where = f"recipes.{name}"
    if recipe["weight_decay"] and recipe["optimizer"] not in ("sgd", "adamw", "rmsprop"):
        problems.append(
            f"{where}.weight_decay: received {recipe['weight_decay']} with optimizer "
            f"{recipe['optimizer']!r}; allowed: 0, or set optimizer: sgd, adamw or rmsprop"
        )
    if recipe["nesterov"] and (recipe["optimizer"] != "sgd" or not recipe["momentum"]):
        problems.append(
            f"{where}.nesterov: received true; allowed only with optimizer: sgd and a "
            "momentum above 0"
        )
    length = recipe["schedule_epochs"]
    if length is not None and (recipe["steps"] is not None or length < recipe["epochs"]):
        problems.append(
            f"{where}.schedule_epochs: received {length}; allowed: null, or at least epochs "
            f"({recipe['epochs']}) with steps unset (the run follows the start of a longer "
            "schedule)"
        )
    if recipe["schedule_per"] == "epoch" and (
        recipe["warmup_epochs"]
        or recipe["warmup_steps"]
        or recipe["steps"] is not None
        or recipe["schedule"] == "linear"
    ):
        problems.append(
            f"{where}.schedule_per: received 'epoch'; allowed only without warm-up, "
            "without steps and with schedule cosine or constant (set schedule_per: step)"
        )
    if recipe["validate_on"] == "test" and recipe["early_stopping_patience"] is not None:
        problems.append(
            f"{where}.validate_on: received 'test' with early_stopping_patience "
            f"{recipe['early_stopping_patience']}; allowed: val (early stopping on the test "
            "split would select the reported model on the test set)"
        )
    if recipe["ema_decay"] and recipe["early_stopping_patience"] is not None:
        problems.append(
            f"{where}.ema_decay: received {recipe['ema_decay']} with early_stopping_patience "
            f"{recipe['early_stopping_patience']}; allowed: 0 (early stopping keeps the raw "
            "weights of its best validation, and averaged ones would then be tested unselected)"
        )
    return problems


def _check_experiment(config: dict, exp_id: str, exp: dict) -> list[str]:
    problems = []
    recipe = config["recipes"].get(exp["recipe"])
    for name in exp["datasets"]:
        split = config["datasets"].get(name, {}).get("split", {})
        if recipe and recipe["validate_on"] == "val" and split.get("val_fraction") == 0:
            problems.append(
                f"datasets.{name}.split.val_fraction: received 0 for experiment {exp_id}, "
                f"whose recipe {exp['recipe']!r} validates on val; allowed: above 0, or "
                "validate_on: test in the recipe"
            )
    for kind, what in (("datasets", "data sets"), ("models", "models")):
        for i, name in enumerate(exp[kind]):
            if name not in config[kind]:
                problems.append(
                    f"experiments.{exp_id}.{kind}.{i}: received {name!r}; allowed: one of the "
                    f"{what} defined under `{kind}` ({sorted(config[kind])})"
                )
    if exp["recipe"] not in config["recipes"]:
        problems.append(
            f"experiments.{exp_id}.recipe: received {exp['recipe']!r}; allowed: one of the "
            f"recipes defined under `recipes` ({sorted(config['recipes'])})"
        )
    if len(set(exp["seeds"])) != len(exp["seeds"]):
        problems.append(f"experiments.{exp_id}.seeds: received {exp['seeds']}; seeds repeat")
    return problems


def _check_model(model_id: str, model: dict) -> list[str]:
    problems = []
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
    if model["weights"] == "imagenet" and model["arch"] in NOT_IN_KERAS:
        problems.append(
            f"models.{model_id}.weights: received 'imagenet'; allowed: null "
            f"(no ImageNet weights exist for {model['arch']})"
        )
    return problems


def _check_case_clashes(config: dict) -> list[str]:
    """Ids of one kind that differ only in letter case name one file on macOS and Windows
    (resources/datasets/Digits.npz is digits.npz there), whichever experiments use them."""
    problems = []
    for kind in ("experiments", "datasets", "models", "recipes"):
        seen = {}
        for name in config[kind]:
            seen.setdefault(name.casefold(), []).append(name)
        for names in seen.values():
            if len(names) > 1:
                problems.append(
                    f"{kind}: received {names}, which differ only in letter case; allowed: "
                    "ids that differ otherwise (one folder or file on macOS and Windows)"
                )
    return problems


def _check_class_counts(config: dict) -> list[str]:
    """A model's `classes` below its data set's class count, where the source fixes that."""
    problems = []
    for dataset, model in sorted({(r.dataset, r.model) for r in expand_runs(config)}):
        if dataset not in config["datasets"] or model not in config["models"]:
            continue  # reported as a reference problem
        wanted = config["models"][model].get("classes")
        have = source_classes(config["datasets"][dataset]["source"])
        if wanted is not None and have is not None and wanted < have:
            problems.append(
                f"models.{model}.classes: received {wanted}; allowed: null or >= {have} "
                f"(data set {dataset} has {have} classes)"
            )
    return problems


# An id names a folder or a file (and a checkpoint's file names add to it): 100 characters
# stay well inside every file system's 255-byte name limit, in any encoding the patterns allow.
MAX_ID_LENGTH = 100
# Snakemake refuses a wildcard value that ends in a part repeated 20 or more times (it reads
# it as an endless recursion: snakemake.io.PeriodicityDetector), so such an id would stop the
# workflow after the check with Snakemake's own message.
_PERIODIC_TAIL = re.compile(r"(.+?)\1{19,}$")


def _check_id_lengths(config: dict) -> list[str]:
    problems = []
    for kind in ("experiments", "datasets", "models", "recipes"):
        for name in config.get(kind, {}):
            shown = name if len(name) <= 40 else f"{name[:20]}...{name[-10:]} ({len(name)} chars)"
            if len(name) > MAX_ID_LENGTH:
                problems.append(
                    f"{kind}: the id {shown!r} is {len(name)} characters long; allowed: at "
                    f"most {MAX_ID_LENGTH} (it names a folder)"
                )
            elif match := _PERIODIC_TAIL.search(name):
                problems.append(
                    f"{kind}: the id {shown!r} ends in {match.group(1)!r} repeated "
                    f"{len(match.group(0)) // len(match.group(1))} times; allowed: fewer than "
                    "20 repeats (Snakemake takes such names for an endless recursion)"
                )
    return problems


def _check_run_folders(config: dict) -> list[str]:
    """Distinct runs get distinct folders inside results/runs/, on any file system.

    The id patterns already rule out '/', '.', '..' and hidden names; this also catches a run
    listed twice and ids that differ only in case (one folder on macOS and Windows).
    """
    problems, seen = [], {}
    for run in expand_runs(config):
        folder = os.path.normpath(run.dir)
        if Path(folder).parts[:2] != Path(RUNS_DIR).parts or len(Path(folder).parts) != 6:
            problems.append(f"run {run.id}: its folder {run.dir} is not inside {RUNS_DIR}/")
        other = seen.setdefault(folder.casefold(), run)
        if other is run:
            continue
        what = "is listed twice" if other == run else f"and run {other.id} share one folder"
        problems.append(
            f"experiments.{run.experiment}: run {run.id} {what} ({folder}); allowed: ids that "
            "differ in more than letter case, each data set and model listed once"
        )
    return problems


def load_config(path: Path | str) -> dict:
    """Read and check a YAML config file."""
    return check_config(yaml.safe_load(Path(path).read_text()) or {})
