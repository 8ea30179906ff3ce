"""The architecture stage: build every configuration, count, compare, write the files.

Called by workflow/scripts/architecture_stats.py; its output files are `grid.ARCHITECTURE_FILES`.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from mobilenet_repro.counting.cifar_readings import cifar_reading_rows
from mobilenet_repro.counting.grid import GRID, STAT_COLUMNS, Spec, grid_specs
from mobilenet_repro.counting.measure import keras_reference_params, measure
from mobilenet_repro.counting.published import (
    load_published,
    published_specs,
    stated_cifar_params,
    verdict_rows,
)
from mobilenet_repro.counting.structures import structure_rows
from mobilenet_repro.models.specs import ARCH_SPECS
from mobilenet_repro.paths import ARCHITECTURE_FILES, PUBLISHED


def _add(specs: dict, spec: Spec, **flags) -> None:
    """Record why `spec` is counted (in the grid, published, configured on a data set)."""
    entry = specs.setdefault(
        spec, {"in_grid": False, "published": False, "config_models": [], "datasets": []}
    )
    for k, v in flags.items():
        if isinstance(entry[k], list):
            if v not in entry[k]:
                entry[k].append(v)
        else:
            entry[k] = entry[k] or v


def collect_specs(
    configured, dataset_classes: dict[str, int | None], published: dict, grid: bool
) -> dict[Spec, dict]:
    """Every configuration to count, with why: the grid, published tables, configured models."""
    specs: dict[Spec, dict] = {}
    if grid:
        for spec in grid_specs([c for c in dataset_classes.values() if c]):
            _add(specs, spec, in_grid=True)
    for spec in published_specs(published):
        _add(specs, spec, published=True)
    for spec, model_id, dataset in configured:
        _add(specs, spec, config_models=model_id, datasets=dataset)
    for spec, entry in specs.items():
        for name, n in dataset_classes.items():
            if n == spec.classes and name not in entry["datasets"] and entry["in_grid"]:
                entry["datasets"].append(name)
    return specs


def measure_specs(
    specs: dict[Spec, dict], log
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(stats, layers, separable ratios, layer graphs) of every configuration, built one by
    one. The graph of each architecture is kept once, at its first configuration: its layer
    types and connections do not depend on width, resolution or classes."""
    stats, layers, ratios, graphs = [], [], [], []
    ratio_done, graph_done = set(), set()
    for spec in sorted(specs):
        entry = specs[spec]
        s, lrows, rrows, grows = measure(spec)
        ref, check = keras_reference_params(spec)
        if ref is not None:
            check = "equal" if ref == s["params"] else f"differs by {s['params'] - ref:+d}"
        ident = {
            "model": spec.arch,
            "alpha": spec.alpha,
            "resolution": spec.resolution,
            "classes": spec.classes,
            "head": spec.head,
        }
        stats.append(
            {
                **ident,
                "label": ARCH_SPECS[spec.arch].label,
                **s,
                "keras_applications_params": ref,
                "keras_check": check,
                "in_grid": entry["in_grid"],
                "published": entry["published"],
                "config_models": ";".join(entry["config_models"]),
                "datasets": ";".join(entry["datasets"]),
            }
        )
        layers += [{**ident, **r} for r in lrows]
        shape_key = (spec.arch, spec.alpha, spec.resolution)
        if shape_key not in ratio_done:  # the pairs do not depend on the classifier
            ratio_done.add(shape_key)
            ratios += [
                {k: v for k, v in ident.items() if k not in ("classes", "head")} | r for r in rrows
            ]
        if (spec.arch, spec.head) not in graph_done:
            graph_done.add((spec.arch, spec.head))
            graphs += [{**ident, **r} for r in grows]
        log(
            f"{spec.name} [{spec.head}]: {s['params']:,} params, {s['mult_adds']:,} mult-adds, "
            f"{s['build_seconds']:.2f}s; keras.applications: {check}"
        )
    ratios_df = pd.DataFrame(ratios)
    ratios_df["abs_error"] = (ratios_df["measured_ratio"] - ratios_df["expected_ratio"]).abs()
    ratios_df["matches"] = ratios_df["abs_error"] <= 1e-12
    frames = pd.DataFrame(stats)[STAT_COLUMNS], pd.DataFrame(layers), ratios_df
    return (*frames, pd.DataFrame(graphs))


def run_stage(
    out_dir: Path | str,
    configured: list[tuple[Spec, str, str]] = (),
    dataset_classes: dict[str, int | None] | None = None,
    published_path: Path | str = PUBLISHED,
    grid: bool = True,
    log=print,
) -> dict[str, Path]:
    """Build every configuration, count, compare with published.yaml and write the files."""
    from mobilenet_repro.files import write_csv, write_json

    start = time.perf_counter()
    dataset_classes = dataset_classes or {}
    published = load_published(published_path)
    specs = collect_specs(configured, dataset_classes, published, grid)
    stats_df, layers_df, ratios_df, graph_df = measure_specs(specs, log)
    readings_df, readings_summary = cifar_reading_rows(stated_cifar_params(published))
    frames = {
        "stats": stats_df,
        "layers": layers_df,
        "ratios": ratios_df,
        "verdicts": verdict_rows(stats_df, ratios_df, published),
        "structures": structure_rows(published, layers_df),
        "cifar_readings": readings_df,
        "graph": graph_df,
    }
    paths = {k: Path(out_dir) / v for k, v in ARCHITECTURE_FILES.items()}
    for key, frame in frames.items():
        write_csv(frame, paths[key])
    write_json(
        {
            "dataset_classes": dataset_classes,
            "skipped_datasets": sorted(k for k, v in dataset_classes.items() if not v),
            "grid": [
                {"model": a, "alpha": al, "resolution": r, "why": why} for a, al, r, why in GRID
            ],
            "cifar_readings": readings_summary,
            "sources": published.get("sources", {}),
            "seconds": round(time.perf_counter() - start, 1),
            "configurations": len(stats_df),
        },
        paths["meta"],
    )
    log(f"{len(stats_df)} configurations in {time.perf_counter() - start:.1f}s")
    return paths
