"""The reproducibility appendix's audit paragraph, from the audit's audit.csv."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from mobilenet_repro.formatting import short


def _difference_text(row) -> str:
    if isinstance(row["difference"], float) and not math.isnan(row["difference"]):
        return f"{row['original']} → {row['audit']} ({row['difference']:+.3g})"
    return f"{row['original']} → {row['audit']}"


def audit_context(path: Path | str | None, shown: int = 8) -> dict:
    """The reproducibility appendix's audit paragraph: per run, identical or what differs."""
    if path is None or not Path(path).is_file():
        return {"run": False}
    table = pd.read_csv(
        path, dtype={"original": str, "audit": str}, keep_default_na=False, na_values=[""]
    )
    table["identical"] = table["identical"].map(lambda x: x is True or str(x) == "True")
    runs = []
    for run, sel in table.groupby("run", sort=False):
        results = sel[sel["kind"] == "result"]
        differ = results[~results["identical"]]
        context = sel[(sel["kind"] == "context") & ~sel["identical"]]
        largest = differ["difference"].abs().max() if len(differ) else math.nan
        runs.append(
            {
                "run": run,
                "identical": differ.empty,
                "n_fields": len(results),
                "n_differ": len(differ),
                "largest": "-" if math.isnan(largest) else short(largest),
                "differ": [
                    {"field": f"{r['file']}: {r['field']}", "change": _difference_text(r)}
                    for _, r in differ.head(shown).iterrows()
                ],
                "n_more": max(0, len(differ) - shown),
                "context": [f"{r['field']}: {_difference_text(r)}" for _, r in context.iterrows()],
            }
        )
    return {"run": True, "path": Path(path).as_posix(), "runs": runs}
