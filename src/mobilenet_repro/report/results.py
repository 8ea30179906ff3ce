"""The report's results rows: each seed's value or mean +- std, test-set intervals, a ranking
only beyond noise, where each setting came from, and the surprises the pipeline can explain."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mobilenet_repro.analysis.accuracy import tested_views
from mobilenet_repro.analysis.noise import (
    MIN_SEEDS_FOR_STD,
    mean_interval,
    means_difference,
    wilson,
)
from mobilenet_repro.formatting import as_bool, fmt_int, fmt_millions, mean_std
from mobilenet_repro.paths import ARCHITECTURE_FILES
from mobilenet_repro.report.accuracy import views_in_words
from mobilenet_repro.runs import DEFAULT as DEFAULT_BACKEND


def compute_used(metrics: list[dict]) -> tuple[float, bool]:
    """Device-hours, one definition everywhere: each training job's wall time
    (train_seconds) times the devices it held (its GPUs, else its CPU threads), plus the
    extraction of a frozen base's features, once per features file its runs shared; and
    whether any ran on a GPU."""
    hours = 0.0
    extracted = {}
    for m in metrics:
        hardware = m.get("hardware") or {}
        devices = len(hardware.get("gpus") or []) or hardware.get("threads") or 1
        hours += m.get("train_seconds", 0.0) * devices / 3600
        features = m.get("features") or {}
        if features.get("path"):
            extracted[features["path"]] = features.get("extract_seconds", 0.0) * devices / 3600
    return hours + sum(extracted.values()), any(
        (m.get("hardware") or {}).get("gpus") for m in metrics
    )


def _base_name(metrics: dict) -> str:
    """A frozen base as the report names it (its architecture, width and input size), from
    the run's own record: the configuration's display label is not part of it."""
    from mobilenet_repro.models.specs import ARCH_SPECS

    cfg = metrics.get("model_config") or {}
    if cfg.get("arch") not in ARCH_SPECS:
        return str(metrics.get("model"))
    alpha, side = float(cfg.get("alpha", 1.0)), cfg.get("resolution")
    name = f"{ARCH_SPECS[cfg['arch']].label} {alpha:.2f}-{side}"
    return name + (" with ImageNet weights" if cfg.get("weights") == "imagenet" else "")


def cached_features(metrics: list[dict]) -> list[dict]:
    """The frozen bases whose features were computed once and shared by their runs: the
    base, its runs and the extraction's wall time (seconds)."""
    out: dict[str, dict] = {}
    for m in metrics:
        features = m.get("features") or {}
        if features.get("path"):
            entry = out.setdefault(
                features["path"],
                {"model": _base_name(m), "runs": 0, "seconds": features.get("extract_seconds")},
            )
            entry["runs"] += 1
    return list(out.values())


def result_row(r, runs: pd.DataFrame, exp_id: str, models: dict, backend_named: bool) -> dict:
    """One row of an experiment's results table (results_table.csv's `r`)."""
    backend = r.get("backend", DEFAULT_BACKEND)  # tables from before backends existed
    label = models[r["model"]].get("label") or r["model"]
    sel = _row_runs(runs, exp_id, {**r, "backend": backend})
    values, test_images = _seed_values(sel)
    digits = _digits(test_images)
    top1 = _top1_text(values, r["test_top1_mean"], r["test_top1_std"], digits)
    return {
        **_views(sel, digits),
        "interval": _interval(values, test_images),
        "test_images": fmt_int(test_images) if test_images else "-",
        "n_images": test_images,
        "values": values,
        "learned": as_bool(r["learned"]),
        "dataset": r["dataset"],
        "model": r["model"],
        "backend": backend,
        "label": f"{label} ({backend})" if backend_named else label,
        "arch": r["arch"],
        "alpha": f"{r['alpha']:.2f}",
        "resolution": int(r["resolution"]),
        "params": fmt_int(r["params"]),
        "params_raw": float(r["params"]),
        "mult_adds_raw": float(r["mult_adds"]),
        "params_m": fmt_millions(r["params"]),
        "mult_adds_m": fmt_millions(r["mult_adds"], 1),
        "top1": top1 if as_bool(r["learned"]) else f"{top1} (did not learn)",
        "top1_mean": float(r["test_top1_mean"]),
        "seeds": int(r["seeds"]),
        "train_seconds": f"{r['train_seconds_mean']:.1f}",
        "images_per_second": f"{r['images_per_second_mean']:.0f}",
    }


def _row_runs(runs: pd.DataFrame, exp_id, row) -> pd.DataFrame:
    """The runs (seeds) of one results-table row."""
    sel = runs[
        (runs["experiment"] == exp_id)
        & (runs["dataset"] == row["dataset"])
        & (runs["model"] == row["model"])
    ]
    if "backend" in sel:
        sel = sel[sel["backend"].fillna(DEFAULT_BACKEND) == row.get("backend", DEFAULT_BACKEND)]
    return sel


def _views(sel: pd.DataFrame, digits: int) -> dict:
    """A row's test-time views in words ("views_words"), the same weights' top-1 on one view
    of each test image ("one_view") and both as a sentence ("views"), from the row's runs;
    empty strings where the runs were tested on one view."""
    views = tested_views(sel)
    if not views:
        return {"views": "", "views_words": "", "one_view": ""}
    single = [float(v) for v in sel["test_top1_single"]]
    std = pd.Series(single).std() if len(single) > 1 else None
    words = views_in_words(views)
    one_view = _top1_text(single, sum(single) / len(single), std, digits)
    return {
        "views_words": words,
        "one_view": one_view,
        "views": (
            f"Each test image's prediction is averaged over {words} (the recipe's test-time "
            f"views); on one view of each test image the same weights score {one_view}%."
        ),
    }


def _seed_values(sel: pd.DataFrame) -> tuple[list[float], int | None]:
    """Each seed's test top-1 (fractions) of one results-table row's runs, and its test-set
    size."""
    n = pd.to_numeric(sel.get("test_images", pd.Series(dtype=float)), errors="coerce").dropna()
    return [float(v) for v in sel["test_top1"]], (int(n.iloc[0]) if len(n) else None)


def _digits(test_images: int | None) -> int:
    """Decimals of a test top-1 in points: two from 10,000 test images (one image is 0.01
    points; a mean of 87.97% printed as 88.0 would read as a goal of 88% reached), else one."""
    return 2 if test_images and test_images >= 10_000 else 1


def _interval(values: list[float], test_images: int | None) -> str:
    """Each seed's Wilson interval for one or two seeds; from three, the interval of the
    mean (the test set once plus the seeds' spread). Never seeds pooled as more images."""
    if not test_images or not values:
        return "-"
    d = _digits(test_images)
    if len(values) >= MIN_SEEDS_FOR_STD:
        low, high = mean_interval(values, test_images)
        return f"{low * 100:.{d}f}-{high * 100:.{d}f}"
    parts = [wilson(v * test_images, test_images) for v in values]
    return " and ".join(f"{lo * 100:.{d}f}-{hi * 100:.{d}f}" for lo, hi in parts)


def _difference(first: dict, second: dict) -> tuple[float, float] | None:
    if not (first["n_images"] and second["n_images"]):
        return None
    return means_difference(
        first["values"], first["n_images"], second["values"], second["n_images"]
    )


def _top1_text(values: list[float], mean: float, std: float, digits: int = 1) -> str:
    """Test top-1 in points: each value for one or two seeds, mean ± std from three."""
    if 0 < len(values) < MIN_SEEDS_FOR_STD:
        return " and ".join(f"{v * 100:.{digits}f}" for v in values)
    return mean_std(mean, std, digits)


def rank_models(rows: list[dict]) -> list[dict]:
    """Per data set: the most accurate model only when it is ahead of the next beyond the
    noise (the 95% interval of the difference excludes zero) with three seeds of each;
    ahead of the test set's noise on fewer seeds is said as such; else a tie."""
    out = []
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        learned = sorted(
            (r for r in rows if r["dataset"] == dataset and r["learned"]),
            key=lambda r: r["top1_mean"],
            reverse=True,
        )
        if not learned:
            continue
        first = learned[0]
        entry = {"dataset": dataset, "first": first, "kind": "one", "second": None}
        if len(learned) > 1:
            second = learned[1]
            entry["second"] = second
            interval = _difference(first, second)
            if interval:
                low, high = interval
                entry["interval"] = f"{low * 100:+.1f} to {high * 100:+.1f}"
                enough = min(int(first["seeds"]), int(second["seeds"])) >= MIN_SEEDS_FOR_STD
                entry["kind"] = "tied" if low <= 0 else ("ahead" if enough else "ahead_few_seeds")
            else:
                entry["interval"] = "unknown (no test-set size recorded)"
                entry["kind"] = "tied"
            entry["diff"] = f"{(first['top1_mean'] - second['top1_mean']) * 100:+.1f}"
            entry["tied_with"] = [
                r["label"]
                for r in learned[1:]
                if (interval := _difference(first, r)) is not None and interval[0] <= 0
            ]
        out.append(entry)
    return out


# Settings every recipe table shows, whatever their value; the optimizer's own beside them.
SETTINGS_SHOWN = (
    "optimizer", "learning_rate", "schedule", "warmup_epochs", "epochs", "batch_size",
    "weight_decay", "bn_momentum", "label_smoothing", "augment",
)  # fmt: skip
OPTIMIZER_SETTINGS = {
    "adam": ("beta_1", "beta_2"),
    "adamw": ("beta_1", "beta_2"),
    "rmsprop": ("rho",),
    "sgd": ("momentum", "nesterov"),
}
# A recipe's settings as the report names them; any other is its key with spaces.
SETTING_WORDS = {
    "learning_rate": "learning rate",
    "warmup_epochs": "warm-up epochs",
    "warmup_steps": "warm-up steps",
    "batch_size": "batch size",
    "weight_decay": "weight decay",
    "bn_momentum": "batch-norm momentum",
    "label_smoothing": "label smoothing",
    "augment": "augmentation",
    "beta_1": "Adam's beta 1",
    "beta_2": "Adam's beta 2",
    "rho": "RMSProp's rho",
    "nesterov": "Nesterov momentum",
    "precise_bn_batches": "batches to recompute batch-norm statistics",
    "validate_every_steps": "steps between validations",
    "early_stopping_patience": "early-stopping patience (validations)",
    "early_stopping_min_steps": "steps before early stopping may stop",
    "freeze_base": "frozen base",
}
ORIGIN_WORDS = {
    "source": "the source document",
    "published": "a published run",
    "measured": "measured here",
    "chosen": "chosen here",
}


# A model's settings as the report names them (only those with a recorded origin are shown).
MODEL_SETTING_WORDS = {
    "alpha": "width multiplier",
    "resolution": "input side (pixels)",
    "dropout": "dropout before the classifier",
    "weights": "initial weights",
}


def _origin_row(key: str, name: str, value, origin: dict) -> dict:
    """One row of the table "Where each setting came from"."""
    return {
        "setting": key,
        "name": name,
        "value": "none"
        if value is None
        else str(value).lower()
        if isinstance(value, bool)
        else str(value),
        "origin": ORIGIN_WORDS[origin["from"]],
        "note": origin.get("note", ""),
    }


def model_settings_rows(models: dict[str, dict]) -> list[dict]:
    """The settings of an experiment's models that have a recorded origin (a model's
    `origins`), named with the model's label where the experiment trains several."""
    rows = []
    for model_id, model in models.items():
        for key, origin in (model.get("origins") or {}).items():
            name = MODEL_SETTING_WORDS.get(key, key.replace("_", " "))
            if len(models) > 1:
                name = f"{model.get('label') or model_id}: {name}"
            rows.append(_origin_row(key, name, model.get(key), origin))
    return rows


def settings_rows(recipe: dict) -> list[dict]:
    """Every setting of a recipe that matters, with where it came from (recipe `origins`):
    the ones always shown, the optimizer's own, any set away from the schema's default and
    any with a recorded origin. A setting without one is "chosen here", reason not recorded."""
    from mobilenet_repro.run_model import load_schema

    schema = load_schema()["properties"]["recipes"]["additionalProperties"]["properties"]
    origins = recipe.get("origins") or {}
    keys = [*SETTINGS_SHOWN, *OPTIMIZER_SETTINGS.get(recipe.get("optimizer"), ())]
    keys += [
        k
        for k in recipe
        if k not in keys
        and k != "origins"
        and (k in origins or recipe[k] != schema.get(k, {}).get("default"))
    ]
    # A length in steps replaces the one in epochs (and a warm-up in steps the one in
    # epochs): the schema's default for the unused one is not a setting of this recipe.
    unused = {"epochs": "steps", "warmup_epochs": "warmup_steps"}
    rows = []
    for key in keys:
        if key not in recipe or recipe.get(unused.get(key, "")) is not None:
            continue
        origin = origins.get(key, {"from": "chosen", "note": "reason not recorded"})
        name = SETTING_WORDS.get(key, key.replace("_", " "))
        rows.append(_origin_row(key, name, recipe[key], origin))
    return rows


def final_sides(arch_dir: Path | None) -> dict[tuple, int]:
    """(architecture, alpha, resolution) -> the side of its last convolution's feature map,
    read off the architecture stage's per-layer shapes (layers.csv) of each built model."""
    path = Path(arch_dir or "", ARCHITECTURE_FILES["layers"])
    if arch_dir is None or not path.exists():
        return {}
    layers = pd.read_csv(path)
    layers = layers[layers["kind"] != "dense"]
    out = {}
    for (arch, alpha, resolution), part in layers.groupby(["model", "alpha", "resolution"]):
        shape = str(part.sort_values("index")["output_shape"].iloc[-1])
        if shape.count("x") == 2:
            out[(arch, round(float(alpha), 4), int(resolution))] = int(shape.split("x")[0])
    return out


def surprises(rows: list[dict], sides: dict[tuple, int]) -> list[str]:
    """Explanations the pipeline can give of its own surprises: a network with more
    parameters but fewer multiply-adds than another shrinks its input more."""
    out, seen = [], set()
    for a in rows:
        for b in rows:
            if a is b or (a["model"], b["model"]) in seen:
                continue
            if a["params_raw"] > b["params_raw"] and a["mult_adds_raw"] < b["mult_adds_raw"]:
                seen.add((a["model"], b["model"]))
                text = (
                    f"{a['label']} has {a['params_raw'] / b['params_raw']:.1f} times the "
                    f"parameters of {b['label']} but {a['mult_adds_m']}M multiply-adds per image "
                    f"against {b['mult_adds_m']}M"
                )
                key = lambda r: (r["arch"], round(float(r["alpha"]), 4), int(r["resolution"]))  # noqa: E731
                sa, sb = sides.get(key(a)), sides.get(key(b))
                if sa and sb and sa < sb:
                    text += (
                        f": its stride-2 layers shrink its {a['resolution']}-pixel input to a "
                        f"{sa}x{sa} map, where {b['label']}'s last map is {sb}x{sb}, so most of "
                        "its layers run on tiny feature maps"
                    )
                out.append(text + ".")
    return out
