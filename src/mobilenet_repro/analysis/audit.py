"""Determinism audit: re-train chosen runs and compare them with the originals, field by field.

The workflow's audit rules (workflow/rules/audit.smk) re-train each chosen run with the same
training entry point and run spec into results/audit/runs/<run>/, then `audit_table` compares
its metrics.json and history.csv with the original's: every field of the results (nested
ones as `recipe.learning_rate`, every cell of the history as `val_accuracy@epoch3`), exactly.
Wall-clock fields (RUNTIME_FIELDS) and the record of where and how it ran (versions,
hardware) are not results; differences in the latter are listed as context, not as a result
that differs. The report's reproducibility appendix shows the outcome (`report.audit`).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from mobilenet_repro.paths import RUN_FILES
from mobilenet_repro.run_model import experiment_backends
from mobilenet_repro.runs import Run

# metrics.json fields that measure the machine, not the result; history.csv's likewise.
RUNTIME_FIELDS = (
    "train_seconds",
    "images_per_second",
    "timings",
    "epochs_trained_last_invocation",
    "periods_trained_last_invocation",
    "resumed",
    "resumed_from_epochs",
)
CONTEXT_FIELDS = ("versions", "hardware")  # where and how it ran: explains, is not a result
HISTORY_RUNTIME = ("seconds",)
COLUMNS = ["run", "file", "field", "kind", "original", "audit", "difference", "identical"]


def default_runs(config: dict) -> list[str]:
    """The first run (first data set, model and seed) of each experiment, under each of its
    backends (determinism is per backend)."""
    return [
        Run(exp_id, exp["datasets"][0], exp["models"][0], exp["seeds"][0], backend).id
        for exp_id, exp in config["experiments"].items()
        for backend in experiment_backends(config, exp_id)
    ]


def audit_runs(config: dict, all_runs: list[Run]) -> list[Run]:
    """The runs `audit_runs` names (default: `default_runs`); an unknown id is an error."""
    wanted = config.get("audit_runs") or default_runs(config)
    known = {run.id: run for run in all_runs}
    unknown = [r for r in wanted if r not in known]
    if unknown:
        raise ValueError(
            f"audit_runs: {', '.join(unknown)} is not a run of this configuration; use run ids "
            "<experiment>/<dataset>/<model>/seed<n>[-<backend>], for example "
            f"{next(iter(known), '-')}"
        )
    return [known[r] for r in dict.fromkeys(wanted)]


def flatten(value, prefix="") -> dict:
    """Nested dictionaries as one: {"recipe": {"epochs": 2}} -> {"recipe.epochs": 2}."""
    if isinstance(value, dict):
        out = {}
        for key, sub in value.items():
            out.update(flatten(sub, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): value}


def _number(x):
    if isinstance(x, bool) or x is None:
        return None
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _row(run, file, field, kind, a, b) -> dict:
    na, nb = _number(a), _number(b)
    same = a == b or (na is not None and na == nb) or (a != a and b != b)  # NaN == NaN here
    return {
        "run": run,
        "file": file,
        "field": field,
        "kind": kind,
        "original": json.dumps(a) if not isinstance(a, str) else a,
        "audit": json.dumps(b) if not isinstance(b, str) else b,
        "difference": nb - na if na is not None and nb is not None else math.nan,
        "identical": bool(same),
    }


def compare_metrics(run: str, original: dict, audit: dict) -> list[dict]:
    """One row per field of metrics.json (results, then context; runtimes left out)."""
    rows = []
    for section in ("result", "context"):
        keys = [
            k
            for k in sorted(set(original) | set(audit))
            if k not in RUNTIME_FIELDS and (k in CONTEXT_FIELDS) == (section == "context")
        ]
        a = flatten({k: original.get(k) for k in keys})
        b = flatten({k: audit.get(k) for k in keys})
        for field in sorted(set(a) | set(b)):
            rows.append(_row(run, RUN_FILES["metrics"], field, section, a.get(field), b.get(field)))
    return rows


def compare_history(run: str, original: pd.DataFrame, audit: pd.DataFrame) -> list[dict]:
    """One row per cell of history.csv (runtime columns left out), named by the row's
    optimizer step (`loss@step120`), or by its epoch in a history without steps."""
    rows = []
    columns = [c for c in original.columns if c not in HISTORY_RUNTIME and c != "epoch"]
    for i in range(max(len(original), len(audit))):
        ref = original if i < len(original) else audit
        where = f"step{int(ref['step'].iloc[i])}" if "step" in ref else f"epoch{i + 1}"
        for col in columns:
            a = original[col].iloc[i] if i < len(original) else None
            b = audit[col].iloc[i] if i < len(audit) and col in audit else None
            a = a.item() if hasattr(a, "item") else a
            b = b.item() if hasattr(b, "item") else b
            rows.append(_row(run, RUN_FILES["history"], f"{col}@{where}", "result", a, b))
    return rows


def compare_run(run: str, original_dir: Path | str, audit_dir: Path | str) -> list[dict]:
    """Every compared field of one run's metrics.json and history.csv."""
    original_dir, audit_dir = Path(original_dir), Path(audit_dir)
    metrics = [
        json.loads((d / RUN_FILES["metrics"]).read_text()) for d in (original_dir, audit_dir)
    ]
    history = [pd.read_csv(d / RUN_FILES["history"]) for d in (original_dir, audit_dir)]
    return compare_metrics(run, *metrics) + compare_history(run, *history)


def audit_table(pairs: list[tuple[str, Path | str, Path | str]]) -> pd.DataFrame:
    """(run id, original folder, audit folder) for each audited run -> audit.csv's rows."""
    rows = [row for run, a, b in pairs for row in compare_run(run, a, b)]
    return pd.DataFrame(rows, columns=COLUMNS)
