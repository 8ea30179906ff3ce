"""The report's architecture section: the stage's files read back, formatted for display.

`report_context` returns every sentence's numbers already formatted, each a `numbers.Number`
naming the stage's file and field it was read from; templates only lay out.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from mobilenet_repro.counting.grid import GRID, IMAGENET_CLASSES
from mobilenet_repro.formatting import as_bool, fmt_int, fmt_millions, text
from mobilenet_repro.models.specs import ARCH_SPECS
from mobilenet_repro.paths import ARCHITECTURE_FILES
from mobilenet_repro.report.numbers import Number, sourced


def config_label(arch: str, alpha: float, resolution: int, classes: int | None = None) -> str:
    label = f"{ARCH_SPECS[arch].label} {float(alpha):.2f}-{int(resolution)}"
    return label if classes is None else f"{label}, {int(classes):,} classes"


def _ctx_grid(own: pd.DataFrame, src: _Sources) -> tuple[list[dict], list[str]]:
    """The grid at 1,000 classes, with the parameters at the data sets' class counts."""

    def label(r, k):
        return f"grid: {r['label']} {r['alpha']}-{r['resolution']}: {k}"

    grid = own[own["in_grid"].map(as_bool)]
    others = sorted(int(c) for c in grid["classes"].unique() if c != IMAGENET_CLASSES)
    rows = []
    for arch, alpha, res, why in GRID:
        sel = grid[(grid["model"] == arch) & (grid["alpha"] == alpha) & (grid["resolution"] == res)]
        base = sel[sel["classes"] == IMAGENET_CLASSES]
        if base.empty:
            continue
        r = base.iloc[0]
        at = {int(x["classes"]): x for _, x in sel.iterrows()}
        rows.append(
            {
                "label": ARCH_SPECS[arch].label,
                "alpha": f"{alpha:.2f}",
                "resolution": res,
                "why": why,
                "params": fmt_int(r["params"]),
                "trainable_params": fmt_int(r["trainable_params"]),
                "mult_adds_m": fmt_millions(r["mult_adds"], 1),
                "keras_check": r["keras_check"],
                "params_at": [fmt_int(at[c]["params"]) if c in at else "-" for c in others],
            }
        )
        rows[-1]["params_at"] = [
            src.one(v, label(rows[-1], f"params at {c:,} classes"), "stats", "params")
            for v, c in zip(rows[-1]["params_at"], others, strict=True)
        ]
    src.rows(rows, "stats", COUNTS, label)
    return rows, [f"{c:,}" for c in others]


def _named(ids: str, names: dict) -> str:
    """The stage's ";"-joined ids as the configuration names them."""
    return ", ".join(names.get(i, i) for i in text(ids).split(";") if i)


def _ctx_configured(stats: pd.DataFrame, models: dict, datasets: dict, src: _Sources):
    """The configured models, as training builds them, on the data sets they train on."""
    rows = []
    for _, r in stats[stats["config_models"].map(text) != ""].iterrows():
        rows.append(
            {
                # Ids for the numbers' labels (stable between builds), names for the text.
                "model_ids": text(r["config_models"]).replace(";", ", "),
                "dataset_ids": text(r["datasets"]).replace(";", ", "),
                "models": _named(r["config_models"], models),
                "datasets": _named(r["datasets"], datasets),
                "config": config_label(r["model"], r["alpha"], r["resolution"], r["classes"]),
                "head": "own top" if r["head"] == "own" else "new dense head",
                "params": fmt_int(r["params"]),
                "trainable_params": fmt_int(r["trainable_params"]),
                "mult_adds_m": fmt_millions(r["mult_adds"], 2),
            }
        )
    src.rows(
        rows,
        "stats",
        COUNTS,
        lambda r, k: f"configured: {r['model_ids']} on {r['dataset_ids']}: {k}",
    )
    return rows


def _ctx_multipliers(own: pd.DataFrame, src: _Sources) -> list[dict]:
    """V1's width and resolution multipliers at 1,000 classes, relative to 1.0-224."""

    def get(alpha, res):
        sel = own[
            (own["model"] == "mobilenet_v1")
            & (own["alpha"] == alpha)
            & (own["resolution"] == res)
            & (own["classes"] == IMAGENET_CLASSES)
        ]
        return sel.iloc[0] if len(sel) else None

    base = get(1.0, 224)
    rows = []
    for arch, alpha, res, _ in GRID:
        r = get(alpha, res) if arch == "mobilenet_v1" else None
        if r is None or base is None:
            continue
        rho = res / 224
        rows.append(
            {
                "alpha": f"{alpha:.2f}",
                "resolution": res,
                "rho": f"{rho:.3f}",
                "params_m": fmt_millions(r["params"]),
                "trainable_m": fmt_millions(r["trainable_params"]),
                "params_rel": f"{r['params'] / base['params']:.3f}",
                "alpha_sq": f"{alpha**2:.3f}",
                "mult_adds_m": fmt_millions(r["mult_adds"], 1),
                "madds_rel": f"{r['mult_adds'] / base['mult_adds']:.3f}",
                "predicted_rel": f"{alpha**2 * rho**2:.3f}",
            }
        )
    src.rows(
        rows,
        "stats",
        {
            "params_m": "params",
            "trainable_m": "trainable_params",
            "params_rel": "params / first",
            "mult_adds_m": "mult_adds",
            "madds_rel": "mult_adds / first",
            "rho": "resolution / 224",
            "alpha_sq": "alpha^2",
            "predicted_rel": "alpha^2 rho^2",
        },
        lambda r, k: f"V1 multipliers: {r['alpha']}-{r['resolution']}: {k}",
    )
    return rows


LAYER_KINDS = ("conv", "depthwise", "pointwise", "dense")


def _ctx_by_kind(layers: pd.DataFrame, src: _Sources) -> list[dict]:
    """Share of mult-adds in each kind of layer, each grid model at 1,000 classes."""
    sel1000 = layers[(layers["classes"] == IMAGENET_CLASSES) & (layers["head"] == "own")]
    rows = []
    for arch, alpha, res, _ in GRID:
        sel = sel1000[
            (sel1000["model"] == arch)
            & (sel1000["alpha"] == alpha)
            & (sel1000["resolution"] == res)
        ]
        if sel.empty:
            continue
        total = sel["mult_adds"].sum()
        config = config_label(arch, alpha, res)
        shares = [
            src.one(
                f"{sel.loc[sel['kind'] == k, 'mult_adds'].sum() / total * 100:.2f}",
                f"mult-adds share: {config}: {k}",
                "layers",
                "mult_adds by kind",
            )
            for k in LAYER_KINDS
        ]
        rows.append({"config": config, "shares": shares})
    return rows


def _ctx_separable(ratios: pd.DataFrame, src: _Sources) -> tuple[list[dict], list[dict]]:
    """Per model: pairs and how far measured ratios are from 1/N + 1/D_K^2; V1's pairs."""
    models = []
    for arch, alpha, res, _ in GRID:
        sel = ratios[
            (ratios["model"] == arch) & (ratios["alpha"] == alpha) & (ratios["resolution"] == res)
        ]
        if sel.empty:
            continue
        separable = sel["separable_mult_adds"].sum()
        standard = sel["standard_mult_adds"].sum()
        models.append(
            {
                "config": config_label(arch, alpha, res),
                "pairs": len(sel),
                "all_match": bool(sel["matches"].map(as_bool).all()),
                "max_abs_error": f"{sel['abs_error'].max():.1e}",
                "min_ratio": f"{sel['measured_ratio'].min():.4f}",
                "max_ratio": f"{sel['measured_ratio'].max():.4f}",
                "network_ratio": f"{separable / standard:.4f}",
                "min_factor": f"{1 / sel['measured_ratio'].max():.1f}",
                "max_factor": f"{1 / sel['measured_ratio'].min():.1f}",
            }
        )
    v1 = ratios[
        (ratios["model"] == "mobilenet_v1")
        & (ratios["alpha"] == 1.0)
        & (ratios["resolution"] == 224)
    ]
    pairs = []
    for _, r in v1.iterrows():
        size = f"{int(r['out_h'])}×{int(r['out_w'])}"
        pairs.append(
            {
                "pair_id": f"{r['depthwise']} + {r['pointwise']}",
                # Keras's layer names (conv_dw_13) in words.
                "pair": f"{_layer_name(r['depthwise'])} + {_layer_name(r['pointwise'])}",
                "shape": f"{size}, {int(r['in_channels'])} → {int(r['out_channels'])}",
                "kernel": int(r["kernel"]),
                "separable": fmt_int(r["separable_mult_adds"]),
                "standard": fmt_int(r["standard_mult_adds"]),
                "measured": f"{r['measured_ratio']:.6f}",
                "expected": f"{r['expected_ratio']:.6f}",
                "matches": as_bool(r["matches"]),
            }
        )
    src.rows(
        models,
        "ratios",
        _same("pairs", "max_abs_error", "min_ratio", "max_ratio", "network_ratio"),
        lambda r, k: f"separable: {r['config']}: {k}",
        kinds={"pairs": "count"},
    )
    src.rows(
        pairs,
        "ratios",
        {
            "kernel": "kernel",
            "separable": "separable_mult_adds",
            "standard": "standard_mult_adds",
            "measured": "measured_ratio",
            "expected": "expected_ratio",
        },
        lambda r, k: f"separable pair {r['pair_id']}: {k}",
    )
    return models, pairs


def _layer_name(keras_name: str) -> str:
    words = {"conv_dw": "depthwise", "conv_pw": "pointwise"}
    for prefix, word in words.items():
        if str(keras_name).startswith(prefix + "_"):
            return f"{word} {str(keras_name)[len(prefix) + 1 :]}"
    return str(keras_name).replace("_", " ")


def _ctx_verdicts(verdicts: pd.DataFrame, sources: dict, src: _Sources) -> list[dict]:
    tables = []
    for table_id, sel in verdicts.groupby("table", sort=False):
        first = sel.iloc[0]
        orig = sources.get(first["original"], {}) if first["original"] else {}
        rows = []
        for _, r in sel.iterrows():
            rows.append(
                {
                    "row": r["row"],
                    "column": r["column"],
                    "config": config_label(r["model"], r["alpha"], r["resolution"], r["classes"]),
                    "quantity": r["quantity"].replace("_", " "),
                    "published": r["published_text"],
                    "ours": r["ours_text"],
                    "matches": as_bool(r["matches"]),
                    "verdict": r["verdict"],
                    "also_matches": r["also_matches"].replace("_", " ").replace(";", ", "),
                }
            )
        src.rows(
            rows,
            "verdicts",
            {"published": "published_text", "ours": "ours_text", "verdict": "verdict"},
            lambda r, k, t=table_id: f"{t}: {r['row']}, {r['column']}, {r['quantity']}: {k}",
            kinds={"published": "published", "verdict": "verdict"},
        )
        tables.append(
            {
                "id": table_id,
                "caption": first["caption"],
                "source": first["source"],
                "source_title": sources.get(first["source"], {}).get("title", first["source"]),
                "original_title": orig.get("title", ""),
                "location": first["location"],
                "reading": first["reading"],
                "rows": rows,
                "n_match": sum(r["matches"] for r in rows),
            }
        )
    return tables


def _ctx_acceptance(verdicts: pd.DataFrame, key: str, row: str, src: _Sources) -> dict | None:
    """Seed 004's acceptance check (its versions table's `row`) as `key` names it."""
    table = "seed004_versions"
    sel = verdicts[
        (verdicts["table"] == table)
        & (verdicts["row"] == row)
        & (verdicts["quantity"] == "mult_adds")
    ]
    if sel.empty:
        return None
    r = sel.iloc[0]
    numbers = {"ours_m": "ours", "relative": "relative_difference"}
    acceptance = {
        "config": config_label(r["model"], r["alpha"], r["resolution"]),
        "ours_m": fmt_millions(r["ours"]),
        "published": r["published_text"],
        "relative": f"{float(r['relative_difference']) * 100:+.2f}",
        "tolerance": r["tolerance"],
        "matches": as_bool(r["matches"]),
    }
    src.rows([acceptance], "verdicts", numbers, lambda _, k: f"acceptance {key}: {k}")
    return acceptance


def _ctx_structures(structures: pd.DataFrame, sources: dict, src: _Sources) -> list[dict]:
    tables = []
    for table_id, sel in structures.groupby("table", sort=False):
        sel = sel.assign(row=sel["row"].astype(int), column_index=sel["column_index"].astype(int))
        first = sel.iloc[0]
        columns = sel.drop_duplicates("column_index").sort_values("column_index")["column"]
        rows = []
        for i, (_, cells) in enumerate(sel.groupby("row"), 1):
            rows.append(
                [
                    {
                        "ours": src.one(c["ours"], f"{table_id}: row {i}, {column}", *STRUCTURE),
                        "published": c["published"],
                        "matches": as_bool(c["matches"]),
                    }
                    for (_, c), column in zip(
                        cells.sort_values("column_index").iterrows(), columns, strict=False
                    )
                ]
            )
        tables.append(
            {
                "id": table_id,
                "caption": first["caption"],
                "source": first["source"],
                "source_title": sources.get(first["source"], {}).get("title", first["source"]),
                "location": first["location"],
                "note": first["note"],
                "columns": list(columns),
                "rows": rows,
                "n_cells": len(sel),
                "n_differ": int((~sel["matches"].map(as_bool)).sum()),
            }
        )
    return tables


def _ctx_cifar(src: _Sources, readings: pd.DataFrame, summary: dict) -> dict:
    """The stated count against our readings of Tables I-III: cifar_readings.csv's rows, and the
    search's summary that the stage keeps in meta.json."""

    def label(k):
        return f"the CIFAR-10 MobileNetV2 report's parameter count, readings: {k}"

    def read(k, value, kind="result"):
        return src.one(value, label(k), "cifar_readings", k, kind)

    def searched(k, value, kind="result"):
        return src.one(value, label(k), "meta", f"cifar_readings.{k}", kind)

    ours = readings[readings["reading"] == "tables"].iloc[0]
    stated = int(summary["stated"])
    rows = [
        {
            "reading": r["reading"],
            "description": r["description"],
            "deviations": r["deviations"],
            "params": fmt_int(r["params"]),
            "trainable_params": fmt_int(r["trainable_params"]),
            "params_difference": f"{int(r['params_difference']):+,}",
            "trainable_difference": f"{int(r['trainable_difference']):+,}",
            "gives_stated": as_bool(r["gives_stated"]),
        }
        for _, r in readings.iterrows()
    ]
    src.rows(
        rows,
        "cifar_readings",
        _same("params", "trainable_params", "trainable_difference"),
        lambda r, k: f"the CIFAR-10 MobileNetV2 report, reading {r['reading']}: {k}",
    )
    difference = int(ours["trainable_difference"])
    return {
        "stated": searched("stated", fmt_int(stated), "published"),
        "params": read("params", fmt_int(ours["params"])),
        "trainable_params": read("trainable_params", fmt_int(ours["trainable_params"])),
        "trainable_difference": read("trainable_difference", f"{difference:+,}"),
        "trainable_relative": src.one(
            f"{difference / stated * 100:+.1f}",
            label("trainable_relative"),
            "cifar_readings",
            "trainable_difference / stated",
        ),
        "searched": searched("searched", fmt_int(summary["searched"])),
        "deviation_kinds": searched("deviation_kinds", fmt_int(summary["deviation_kinds"])),
        "exact": summary["exact"],
        "closest": summary["closest"],
        "closest_distance": searched("closest_distance", fmt_int(summary["closest_distance"])),
        "readings": rows,
    }


def report_context(arch_dir: Path, models: dict | None = None, datasets: dict | None = None):
    """Everything the report's architecture section shows, read from the stage's files.

    Numbers come formatted for display; the templates only lay them out. `models` and
    `datasets` name the configuration's ids (labels, titles); an id without one shows as is.
    """
    arch_dir = Path(arch_dir)
    src = _Sources(arch_dir)

    def read(key, **kw):
        return pd.read_csv(src.path(key), **kw)

    stats = read("stats")
    verdicts = read("verdicts", keep_default_na=False)
    meta = json.loads((arch_dir / ARCHITECTURE_FILES["meta"]).read_text(encoding="utf-8"))
    sources = meta.get("sources", {})
    own = stats[stats["head"] == "own"]
    grid, other_classes = _ctx_grid(own, src)
    separable, separable_v1 = _ctx_separable(read("ratios"), src)
    return {
        **_ctx_counts(stats, verdicts, meta, src, datasets or {}),
        "imagenet_classes": fmt_int(IMAGENET_CLASSES),
        "grid": grid,
        "other_classes": other_classes,
        "configured": _ctx_configured(stats, models or {}, datasets or {}, src),
        "multipliers": _ctx_multipliers(own, src),
        "layer_kinds": list(LAYER_KINDS),
        "by_kind": _ctx_by_kind(read("layers"), src),
        "separable": separable,
        "separable_pairs": src.one(
            sum(int(m["pairs"]) for m in separable), "separable pairs", "ratios", "rows", "count"
        ),
        "separable_all_match": all(m["all_match"] for m in separable),
        "separable_v1": separable_v1,
        "separable_v1_config": config_label("mobilenet_v1", 1.0, 224),
        "verdict_tables": _ctx_verdicts(verdicts, sources, src),
        "acceptance": {
            "v1": _ctx_acceptance(verdicts, "v1", "MobileNet V1", src),
            "v2": _ctx_acceptance(verdicts, "v2", "MobileNet V2", src),
        },
        "structures": _ctx_structures(
            read("structures", dtype=str, keep_default_na=False), sources, src
        ),
        "cifar": _ctx_cifar(src, read("cifar_readings"), meta["cifar_readings"]),
        "sources": sources,
    }


def _ctx_counts(stats, verdicts, meta: dict, src: _Sources, datasets: dict) -> dict:
    """The section's counts: configurations, Keras checks, verdicts, and the data sets'
    classes."""

    def count(value, what, key, field, kind="count"):
        return src.one(value, f"architectures: {what}", key, field, kind)

    own = stats[stats["head"] == "own"]
    keras_checked = own[own["keras_applications_params"].notna()]
    # Keras's account of itself (published.yaml `consistency`) is not a reproduction.
    own_account = (
        verdicts["consistency"].fillna("").astype(str) != ""
        if "consistency" in verdicts
        else pd.Series(False, index=verdicts.index)
    )
    matched = verdicts["matches"].map(as_bool)
    n_verdicts = int((~own_account).sum())
    n_match = int((matched & ~own_account).sum())
    verdict_counts = {
        "verdicts": n_verdicts,
        "match": n_match,
        "differ": n_verdicts - n_match,
        "consistency": int(own_account.sum()),
        "consistency_match": int((matched & own_account).sum()),
    }
    return {
        "n_configurations": count(len(stats), "n configurations", "stats", "rows"),
        "seconds": count(
            f"{meta.get('seconds', math.nan):.1f}", "seconds", "meta", "seconds", "runtime"
        ),
        "keras_checked": count(
            len(keras_checked), "keras checked", "stats", "keras_applications_params"
        ),
        "keras_equal": count(
            int((keras_checked["keras_check"] == "equal").sum()),
            "keras equal",
            "stats",
            "keras_check",
        ),
        # Per network, so that a claim's count for one builder reads as a part of the total.
        "keras_by_model": [
            {
                "model": ARCH_SPECS[model].label,
                "checked": count(len(rows), f"keras checked {model}", "stats", "model"),
            }
            for model, rows in keras_checked.groupby("model", sort=True)
        ],
        **{f"n_{k}": count(v, k, "verdicts", "matches") for k, v in verdict_counts.items()},
        "dataset_classes": [
            {
                "id": k,
                "name": datasets.get(k, k),
                "classes": src.one(
                    fmt_int(v) if v else "counted from its images (its datasheet)",
                    f"classes of {k}",
                    "meta",
                    "dataset_classes",
                ),
            }
            for k, v in meta.get("dataset_classes", {}).items()
        ],
    }


class _Sources:
    """Number makers for the stage's files (arch_dir / ARCHITECTURE_FILES[key])."""

    def __init__(self, arch_dir: Path):
        self.arch_dir = arch_dir

    def path(self, key):
        return (self.arch_dir / ARCHITECTURE_FILES[key]).as_posix()

    def rows(self, items, key, fields, label, **kw):
        sourced(items, fields, self.path(key), label=label, **kw)

    def one(self, value, label, key, field, kind="result"):
        return Number(value, label, self.path(key), field, kind=kind)


def _same(*names):
    return {n: n for n in names}


# The grid's and the configured models' counts: context key -> stats.csv column.
COUNTS = _same("params", "trainable_params") | {"mult_adds_m": "mult_adds"}
STRUCTURE = ("structures", "ours")  # the file and column of the structure tables' cells
