"""Published numbers (report/published.yaml) and our verdict on each.

Every printed number becomes one record with its unit and tolerance ("rounding": half a unit
of its last printed digit, or a relative tolerance); `verdict_rows` sets ours beside it.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import yaml

from mobilenet_repro.counting.grid import ARCH_QUANTITIES, PARAM_QUANTITIES, Spec
from mobilenet_repro.formatting import short
from mobilenet_repro.paths import PUBLISHED

CIFAR_STATED_PARAMS = "seed000_params"  # the table of seed 000's stated parameter count
_NUMBER = re.compile(r"^[+-]?(\d[\d,]*)(\.\d+)?")


def parse_published(text: str) -> tuple[float, float]:
    """(value, half a unit of the last printed digit) of a printed number ("4.2M", "84%").

    A round number, an integer printed without grouping that ends in two or more zeros
    ("300", "5000"), is read at the digit before its last zero: "300" is 295 to 305. Its
    zeros say how large it is, not that it is exact to the unit, and a reader cannot tell
    which of them are significant (the MobileNetV2 paper's 300 million mult-adds)."""
    s = str(text).strip()
    m = _NUMBER.match(s)
    if not m:
        raise ValueError(f"published.yaml: cannot read a number from {text!r}")
    digits = m.group(1).replace(",", "")
    decimals = len(m.group(2)) - 1 if m.group(2) else 0
    value = float(digits + (m.group(2) or ""))
    zeros = len(digits) - len(digits.rstrip("0")) if digits.strip("0") else 0
    if not m.group(2) and "," not in m.group(1) and zeros >= 2:
        decimals = -(zeros - 1)
    half_unit = 0.5 * 10.0**-decimals
    if s[m.end() :].strip().startswith("%"):
        return value / 100, half_unit / 100
    return value, half_unit


def load_published(path: Path | str = PUBLISHED) -> dict:
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def published_cells(published: dict) -> list[dict]:
    """Every published number as one flat record, with its model and tolerance resolved."""
    cells = []
    for table in published.get("tables", []):
        for row in table["rows"]:
            for col, meta in table["columns"].items():
                if col not in row:
                    continue
                raw = row[col]
                cell = raw if isinstance(raw, dict) else {"text": raw}
                text = str(cell["text"])
                number, half_unit = parse_published(text)
                decimals = max(0, round(-math.log10(half_unit * 2)))
                unit = float(meta.get("unit", 1.0))
                value = number * unit
                if "value" in cell and not math.isclose(float(cell["value"]), value, rel_tol=1e-9):
                    raise ValueError(
                        f"published.yaml: {table['id']} / {row['label']} / {col}: value "
                        f"{cell['value']} disagrees with text {text!r}"
                    )
                tolerance = cell.get("tolerance", meta.get("tolerance", "rounding"))
                if tolerance == "rounding":
                    abs_tol = half_unit * unit
                    tol_text = f"rounding (±{short(abs_tol)})"
                elif isinstance(tolerance, dict) and "relative" in tolerance:
                    abs_tol = float(tolerance["relative"]) * abs(value)
                    tol_text = f"±{float(tolerance['relative']) * 100:g}%"
                else:
                    raise ValueError(
                        f"published.yaml: {table['id']} / {row['label']} / {col}: tolerance "
                        f"must be 'rounding' or {{relative: x}}; received {tolerance!r}"
                    )
                model = row["model"]
                # A cell may name its own count convention (one row of a table counted
                # another way, as the document's note says).
                quantity = cell.get("quantity", meta["quantity"])
                cells.append(
                    {
                        "table": table["id"],
                        "source": table["source"],
                        "original": table.get("original", ""),
                        "location": table.get("location", ""),
                        "caption": table.get("caption", ""),
                        "reading": " ".join(str(table.get("reading", "")).split()),
                        "row": row["label"],
                        "column": meta.get("label", col),
                        "quantity": quantity,
                        "text": text,
                        "value": value,
                        "unit": unit,
                        "decimals": decimals,
                        "abs_tol": abs_tol,
                        "tolerance": tol_text,
                        "spec": Spec(
                            model["arch"],
                            float(model.get("alpha", 1.0)),
                            int(model["resolution"]),
                            # A column may be read at another class count than its row
                            # (a table that copies ImageNet's mult-adds beside its own
                            # classifier's parameters).
                            int(meta.get("classes", model["classes"])),
                        ),
                        "pair": row.get("pair"),
                        "consistency": meta.get("consistency") or table.get("consistency") or "",
                    }
                )
    return cells


def published_specs(published: dict) -> list[Spec]:
    specs = [c["spec"] for c in published_cells(published)]
    specs += [structure_spec(s) for s in published.get("structures", [])]
    return specs


def structure_spec(structure: dict) -> Spec:
    m = structure["model"]
    return Spec(m["arch"], float(m.get("alpha", 1.0)), int(m["resolution"]), int(m["classes"]))


def verdict_rows(stats: pd.DataFrame, ratios: pd.DataFrame, published: dict) -> pd.DataFrame:
    """One row per published architecture number: ours, the difference and the verdict."""
    rows = []
    key = ["model", "alpha", "resolution", "classes"]
    own = stats[stats["head"] == "own"].set_index(key)
    for cell in published_cells(published):
        if cell["quantity"] not in ARCH_QUANTITIES:
            continue
        spec = cell["spec"]
        idx = (spec.arch, spec.alpha, spec.resolution, spec.classes)
        if idx not in own.index:
            raise KeyError(f"no statistics computed for {spec.name} ({cell['table']})")
        stat = own.loc[idx]
        also = []
        if cell["quantity"] == "separable_ratio":
            pair = cell["pair"] or {}
            sel = ratios[
                (ratios["model"] == spec.arch)
                & (ratios["alpha"] == spec.alpha)
                & (ratios["resolution"] == spec.resolution)
                & (ratios["kernel"] == pair.get("kernel"))
                & (ratios["out_channels"] == pair.get("out_channels"))
                & (ratios["in_channels"] == pair.get("in_channels", pair.get("out_channels")))
            ]
            ours = float(sel["measured_ratio"].iloc[0]) if len(sel) else math.nan
        else:
            ours = float(stat[cell["quantity"]])
            if cell["quantity"] in PARAM_QUANTITIES:
                also = [
                    q
                    for q in PARAM_QUANTITIES
                    if q != cell["quantity"]
                    and q in stat.index
                    and abs(float(stat[q]) - cell["value"]) <= cell["abs_tol"] + 1e-9
                ]
        diff = ours - cell["value"]
        matches = abs(diff) <= cell["abs_tol"] + 1e-9 * max(1.0, abs(cell["value"]))
        rel = diff / cell["value"] if cell["value"] else math.nan
        rows.append(
            {
                "table": cell["table"],
                "source": cell["source"],
                "original": cell["original"],
                "location": cell["location"],
                "caption": cell["caption"],
                "row": cell["row"],
                "column": cell["column"],
                "quantity": cell["quantity"],
                "model": spec.arch,
                "alpha": spec.alpha,
                "resolution": spec.resolution,
                "classes": spec.classes,
                "published_text": cell["text"],
                "published": cell["value"],
                "ours": ours,
                "ours_text": ours_text(ours, cell["unit"], cell["decimals"]),
                "difference": diff,
                "relative_difference": rel,
                "tolerance": cell["tolerance"],
                "matches": bool(matches),
                "verdict": verdict_text(matches, diff, rel, cell["tolerance"], cell["quantity"]),
                "also_matches": ";".join(also),
                "reading": cell["reading"],
                "consistency": cell["consistency"],
            }
        )
    return pd.DataFrame(rows)


def ours_text(ours: float, unit: float, decimals: int) -> str:
    """Our number in the published figure's unit, one digit finer than it is printed."""
    if math.isnan(ours):
        return "-"
    if unit == 1.0 and decimals == 0:
        return f"{int(round(ours)):,}"
    return f"{ours / unit:,.{decimals + 1}f}"


def verdict_text(matches: bool, diff: float, rel: float, tolerance: str, quantity: str) -> str:
    if matches:
        return f"matches within {tolerance}"
    if quantity == "separable_ratio":
        return f"differs by {diff:+.4g} ({rel * 100:+.1f}%)"
    return f"differs by {'+' if diff >= 0 else '-'}{short(abs(diff))} ({rel * 100:+.1f}%)"


def stated_cifar_params(published: dict) -> int:
    for cell in published_cells(published):
        if cell["table"] == CIFAR_STATED_PARAMS:
            return int(cell["value"])
    raise KeyError(f"published.yaml has no table {CIFAR_STATED_PARAMS!r}")
