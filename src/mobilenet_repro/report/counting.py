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


def _ctx_grid(own: pd.DataFrame) -> tuple[list[dict], list[str]]:
    """The grid at 1,000 classes, with the parameters at the data sets' class counts."""
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
    return rows, [f"{c:,}" for c in others]


def _named(ids: str, names: dict) -> str:
    """The stage's ";"-joined ids as the configuration names them."""
    return ", ".join(names.get(i, i) for i in text(ids).split(";") if i)


def _ctx_configured(stats: pd.DataFrame, models: dict, datasets: dict) -> list[dict]:
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
    return rows


def _ctx_multipliers(own: pd.DataFrame) -> list[dict]:
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
    return rows


LAYER_KINDS = ("conv", "depthwise", "pointwise", "dense")


def _ctx_by_kind(layers: pd.DataFrame) -> list[dict]:
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
        shares = [
            f"{sel.loc[sel['kind'] == k, 'mult_adds'].sum() / total * 100:.2f}" for k in LAYER_KINDS
        ]
        rows.append({"config": config_label(arch, alpha, res), "shares": shares})
    return rows


def _ctx_separable(ratios: pd.DataFrame) -> tuple[list[dict], list[dict]]:
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
    return models, pairs


def _layer_name(keras_name: str) -> str:
    words = {"conv_dw": "depthwise", "conv_pw": "pointwise"}
    for prefix, word in words.items():
        if str(keras_name).startswith(prefix + "_"):
            return f"{word} {str(keras_name)[len(prefix) + 1 :]}"
    return str(keras_name).replace("_", " ")


def _ctx_verdicts(verdicts: pd.DataFrame, sources: dict) -> list[dict]:
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


def _ctx_acceptance(verdicts: pd.DataFrame, table: str, row: str) -> dict | None:
    sel = verdicts[
        (verdicts["table"] == table)
        & (verdicts["row"] == row)
        & (verdicts["quantity"] == "mult_adds")
    ]
    if sel.empty:
        return None
    r = sel.iloc[0]
    return {
        "config": config_label(r["model"], r["alpha"], r["resolution"]),
        "ours_m": fmt_millions(r["ours"]),
        "published": r["published_text"],
        "relative": f"{float(r['relative_difference']) * 100:+.2f}",
        "tolerance": r["tolerance"],
        "matches": as_bool(r["matches"]),
    }


def _ctx_structures(structures: pd.DataFrame, sources: dict) -> list[dict]:
    tables = []
    for table_id, sel in structures.groupby("table", sort=False):
        sel = sel.assign(row=sel["row"].astype(int), column_index=sel["column_index"].astype(int))
        first = sel.iloc[0]
        columns = sel.drop_duplicates("column_index").sort_values("column_index")["column"]
        rows = []
        for _, cells in sel.groupby("row"):
            rows.append(
                [
                    {
                        "ours": c["ours"],
                        "published": c["published"],
                        "matches": as_bool(c["matches"]),
                    }
                    for _, c in cells.sort_values("column_index").iterrows()
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
    models, datasets = models or {}, datasets or {}
    arch_dir = Path(arch_dir)

    def read(key, **kw):
        return pd.read_csv(arch_dir / ARCHITECTURE_FILES[key], **kw)

    stats = read("stats")
    layers = read("layers")
    ratios = read("ratios")
    verdicts = read("verdicts", keep_default_na=False)
    structures = read("structures", dtype=str, keep_default_na=False)
    readings = read("cifar_readings")
    meta = json.loads((arch_dir / ARCHITECTURE_FILES["meta"]).read_text(encoding="utf-8"))
    sources = meta.get("sources", {})
    own = stats[stats["head"] == "own"]

    grid, other_classes = _ctx_grid(own)
    keras_checked = own[own["keras_applications_params"].notna()]
    separable, separable_v1 = _ctx_separable(ratios)
    verdict_tables = _ctx_verdicts(verdicts, sources)
    # Keras's account of itself (published.yaml `consistency`) is not a reproduction.
    own_account = (
        verdicts["consistency"].fillna("").astype(str) != ""
        if "consistency" in verdicts
        else pd.Series(False, index=verdicts.index)
    )
    matched = verdicts["matches"].map(as_bool)
    n_verdicts = int((~own_account).sum())
    n_match = int((matched & ~own_account).sum())
    context = {
        "imagenet_classes": fmt_int(IMAGENET_CLASSES),
        "n_configurations": len(stats),
        "seconds": f"{meta.get('seconds', math.nan):.1f}",
        "dataset_classes": [
            {
                "id": k,
                "name": datasets.get(k, k),
                "classes": fmt_int(v) if v else "unknown until prepared",
            }
            for k, v in meta.get("dataset_classes", {}).items()
        ],
        "grid": grid,
        "other_classes": other_classes,
        "keras_checked": len(keras_checked),
        "keras_equal": int((keras_checked["keras_check"] == "equal").sum()),
        "configured": _ctx_configured(stats, models, datasets),
        "multipliers": _ctx_multipliers(own),
        "layer_kinds": list(LAYER_KINDS),
        "by_kind": _ctx_by_kind(layers),
        "separable": separable,
        "separable_pairs": sum(m["pairs"] for m in separable),
        "separable_all_match": all(m["all_match"] for m in separable),
        "separable_v1": separable_v1,
        "separable_v1_config": config_label("mobilenet_v1", 1.0, 224),
        "verdict_tables": verdict_tables,
        "n_verdicts": n_verdicts,
        "n_match": n_match,
        "n_differ": n_verdicts - n_match,
        "n_consistency": int(own_account.sum()),
        "n_consistency_match": int((matched & own_account).sum()),
        "acceptance": {
            "v1": _ctx_acceptance(verdicts, "seed004_versions", "MobileNet V1"),
            "v2": _ctx_acceptance(verdicts, "seed004_versions", "MobileNet V2"),
        },
        "structures": _ctx_structures(structures, sources),
        "cifar": _ctx_cifar(_Sources(arch_dir), readings, meta["cifar_readings"]),
        "sources": sources,
    }
    _source(context, arch_dir)
    return context


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


def _source(ctx: dict, arch_dir: Path) -> None:
    """Every number of the section as a Number naming the stage's file and field, in place."""
    src = _Sources(arch_dir)
    _source_counts(ctx, src)
    _source_grid(ctx, src)
    _source_verdicts(ctx, src)


def _source_counts(ctx: dict, src: _Sources) -> None:
    for k, field in (
        ("n_configurations", "rows"),
        ("keras_checked", "keras_applications_params"),
        ("keras_equal", "keras_check"),
    ):
        ctx[k] = src.one(ctx[k], f"architectures: {k.replace('_', ' ')}", "stats", field, "count")
    ctx["seconds"] = src.one(ctx["seconds"], "architectures: seconds", "meta", "seconds", "runtime")
    for k in ("n_verdicts", "n_match", "n_differ", "n_consistency", "n_consistency_match"):
        ctx[k] = src.one(ctx[k], f"architectures: {k[2:]}", "verdicts", "matches", "count")
    ctx["separable_pairs"] = src.one(
        ctx["separable_pairs"], "separable pairs", "ratios", "rows", "count"
    )
    for d in ctx["dataset_classes"]:
        d["classes"] = src.one(d["classes"], f"classes of {d['id']}", "meta", "dataset_classes")


def _source_grid(ctx: dict, src: _Sources) -> None:
    def grid(r, k):
        return f"grid: {r['label']} {r['alpha']}-{r['resolution']}: {k}"

    counts = _same("params", "trainable_params") | {"mult_adds_m": "mult_adds"}
    src.rows(ctx["grid"], "stats", counts, grid)
    for r in ctx["grid"]:
        r["params_at"] = [
            src.one(v, grid(r, f"params at {c} classes"), "stats", "params")
            for v, c in zip(r["params_at"], ctx["other_classes"], strict=True)
        ]
    src.rows(
        ctx["configured"],
        "stats",
        counts,
        lambda r, k: f"configured: {r['model_ids']} on {r['dataset_ids']}: {k}",
    )
    src.rows(
        ctx["multipliers"],
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
    for r in ctx["by_kind"]:
        r["shares"] = [
            src.one(v, f"mult-adds share: {r['config']}: {k}", "layers", "mult_adds by kind")
            for v, k in zip(r["shares"], ctx["layer_kinds"], strict=True)
        ]
    src.rows(
        ctx["separable"],
        "ratios",
        _same("pairs", "max_abs_error", "min_ratio", "max_ratio", "network_ratio"),
        lambda r, k: f"separable: {r['config']}: {k}",
        kinds={"pairs": "count"},
    )
    src.rows(
        ctx["separable_v1"],
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


def _source_verdicts(ctx: dict, src: _Sources) -> None:
    for t in ctx["verdict_tables"]:
        src.rows(
            t["rows"],
            "verdicts",
            {"published": "published_text", "ours": "ours_text", "verdict": "verdict"},
            lambda r, k, t=t: f"{t['id']}: {r['row']}, {r['column']}, {r['quantity']}: {k}",
            kinds={"published": "published", "verdict": "verdict"},
        )
    for key, acc in ctx["acceptance"].items():
        if acc:
            src.rows(
                [acc],
                "verdicts",
                {"ours_m": "ours", "relative": "relative_difference"},
                lambda r, k, key=key: f"acceptance {key}: {k}",
            )
    for st in ctx["structures"]:
        for i, row in enumerate(st["rows"], 1):
            for cell, column in zip(row, st["columns"], strict=False):
                label = f"{st['id']}: row {i}, {column}"
                cell["ours"] = src.one(cell["ours"], label, "structures", "ours")
