"""The report's view of an experiment trained under several Keras backends: rows and finding.

Reads the analysis' <experiment>/backends.csv (agreement.compare_backends); every number
of the finding comes from it. Table cells are `numbers.Number`s naming the table and column.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mobilenet_repro.analysis.agreement import VERDICTS
from mobilenet_repro.formatting import as_bool, mean_std, missing
from mobilenet_repro.report.numbers import parse_value, sourced

# Context key -> (column of backends.csv, label): the numbers a row prints.
FIELDS = {
    "top1": ("test_top1_mean, test_top1_std", "test top-1 (%)"),
    "seeds": ("seeds", "seeds"),
    "difference": ("difference", "difference from the reference (points)"),
    "interval": ("ci_low, ci_high", "95% interval of the difference (points)"),
    "train_seconds": ("train_seconds_mean", "train s"),
}
KINDS = {"seeds": "count", "train_seconds": "runtime"}


def _points(x, signed=True) -> str:
    return "-" if missing(x) else (f"{x * 100:+.1f}" if signed else f"{x * 100:.1f}")


def backends_context(path: Path, labels: dict, runs_of) -> dict | None:
    """Rows and finding of one experiment's backends.csv; None where it has one backend.

    `runs_of(row)` -> [(run id, fingerprint)] of the runs a row summarises (provenance).
    """
    if not path.exists():
        return None
    table = pd.read_csv(path, keep_default_na=False, na_values=[""])
    rows = []
    for r in table.to_dict("records"):
        learned = as_bool(r["learned"])
        top1 = mean_std(r["test_top1_mean"], r["test_top1_std"])
        verdict = r["verdict"]
        rows.append(
            {
                "dataset": r["dataset"],
                "model": r["model"],
                "label": labels.get(r["model"], r["model"]),
                "backend": r["backend"],
                "seeds": str(int(r["seeds"])),
                "top1": top1 if learned else f"{top1} (did not learn)",
                "difference": "" if verdict == "reference" else _points(r["difference"]),
                "interval": (
                    f"{_points(r['ci_low'])} to {_points(r['ci_high'])}"
                    if not missing(r["ci_low"])
                    else ""
                ),
                "verdict": verdict if missing(r["reason"]) else f"{verdict}: {r['reason']}",
                "verdict_word": verdict,
                "train_seconds": (
                    "-" if missing(r["train_seconds_mean"]) else f"{r['train_seconds_mean']:.1f}"
                ),
            }
        )
    sourced(
        rows,
        {key: field for key, (field, _) in FIELDS.items()},
        path.as_posix(),
        label=lambda row, key: (
            f"backends: {row['model']} on {row['dataset']} ({row['backend']}): {FIELDS[key][1]}"
        ),
        runs=lambda row: [i for i, _ in runs_of(row)],
        fingerprints=lambda row: [f for _, f in runs_of(row)],
        kinds=KINDS,
    )
    return _summary(table, rows)


def _summary(table: pd.DataFrame, rows: list[dict]) -> dict:
    """The comparison's reference, tolerance and verdict counts, and its finding in words."""
    reference = table["reference"].iloc[0]
    tolerance = float(table["tolerance"].iloc[0])
    compared = [r for r in rows if r["verdict_word"] != "reference"]
    counts = {v: sum(r["verdict_word"] == v for r in compared) for v in VERDICTS}
    others = sorted({r["backend"] for r in compared})
    parts = [f"{n} {v}" for v, n in counts.items() if n]
    finding = (
        f"Trained under {', '.join(others)} as well as {reference}: of {len(compared)} "
        f"(data set, model) comparisons with {reference}, " + ", ".join(parts) + " (agree: "
        f"Welch's 95% interval of the difference within ±{tolerance * 100:g} points)."
    )
    differ = [
        f"{r['label']} on {r['dataset']} ({r['backend']} {r['difference']} points)"
        for r in compared
        if r["verdict_word"] == "differ"
    ]
    if differ:
        finding += " Differ: " + "; ".join(differ) + "."
    judged = [r for r in compared if r["interval"]]
    if judged and not differ:
        widest = max(judged, key=lambda r: abs(parse_value(r["difference"])))
        finding += (
            f" No backend trains to a different accuracy than {reference} beyond the spread "
            f"between seeds: every interval holds 0 (largest difference {widest['difference']} "
            f"points, {widest['label']} on {widest['backend']})."
        )
    if counts["inconclusive"]:
        finding += " Inconclusive means the seeds spread too widely to tell: list more seeds."
    return {
        "reference": reference,
        "tolerance": f"{tolerance * 100:g}",
        "rows": rows,
        "counts": counts,
        "finding": finding,
    }
