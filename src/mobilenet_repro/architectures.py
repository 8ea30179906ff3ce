"""The papers' architecture tables, reproduced without training.

For a grid of configurations (the width and resolution multipliers of the MobileNet V1
paper, MobileNetV2, the baselines and the CIFAR MobileNetV2 of seed 000, each at 1,000
classes and at the configured data sets' class counts) and for every configured model, this
module builds the Keras model and counts, from its layer shapes (`flops`):

- parameters under each convention a published figure may use, and mult-adds;
- a per-layer breakdown;
- the cost of every depthwise + pointwise pair relative to a standard convolution,
  checked against 1/N + 1/D_K^2 (V1 paper, Sec. 3.1; seeds 001 and 004);
- the seeds' architecture tables, derived from the built models and compared cell by cell;
- readings of seed 000's CIFAR MobileNetV2 that might give its stated 1,184,746 parameters.

Published numbers live in report/published.yaml; `verdicts` compares each with ours.
`report_context` reads the stage's output files back for the report. Keras is imported
only by the functions that build models, so reading results and plotting stay light.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from mobilenet_repro.archspec import ARCH_SPECS

PUBLISHED_PATH = Path(__file__).resolve().parents[2] / "report" / "published.yaml"
IMAGENET_CLASSES = 1000
PARAM_QUANTITIES = ("params", "trainable_params", "params_bn_folded", "kernel_params")
ARCH_QUANTITIES = (*PARAM_QUANTITIES, "mult_adds", "separable_ratio")
STAT_COLUMNS = [
    "model",
    "label",
    "alpha",
    "resolution",
    "classes",
    "head",
    "params",
    "trainable_params",
    "mult_adds",
    "params_bn_folded",
    "kernel_params",
    "keras_applications_params",
    "keras_check",
    "in_grid",
    "published",
    "config_models",
    "datasets",
    "build_seconds",
]
OUTPUT_FILES = {
    "stats": "stats.csv",
    "layers": "layers.csv",
    "ratios": "separable_ratios.csv",
    "verdicts": "verdicts.csv",
    "structures": "structures.csv",
    "cifar_readings": "cifar_readings.csv",
    "meta": "meta.json",
}


# ----------------------------------------------------------------------------- the grid
@dataclass(frozen=True, order=True)
class Spec:
    """One configuration to build: architecture, width, input side, classes, head.

    head "own" is the architecture's own classifier (training from scratch, the papers'
    and Keras's counts); "transfer" is a pretrained base without its top followed by global
    average pooling and a new dense layer (`models.build_classifier` with weights).
    """

    arch: str
    alpha: float
    resolution: int
    classes: int
    head: str = "own"

    @property
    def name(self) -> str:
        return f"{self.arch} {self.alpha:.2f}-{self.resolution} ({self.classes} classes)"


# (arch, alpha, resolution, why): the standard grids of the papers.
GRID: tuple[tuple[str, float, int, str], ...] = (
    ("mobilenet_v1", 1.0, 224, "V1 paper baseline"),
    ("mobilenet_v1", 0.75, 224, "width multiplier (V1 paper, Table 6)"),
    ("mobilenet_v1", 0.5, 224, "width multiplier (V1 paper, Table 6)"),
    ("mobilenet_v1", 0.25, 224, "width multiplier (V1 paper, Table 6)"),
    ("mobilenet_v1", 1.0, 192, "resolution multiplier (V1 paper, Table 7)"),
    ("mobilenet_v1", 1.0, 160, "resolution multiplier (V1 paper, Table 7)"),
    ("mobilenet_v1", 1.0, 128, "resolution multiplier (V1 paper, Table 7)"),
    ("mobilenet_v1", 0.75, 192, "Stanford Dogs table (seed 001)"),
    ("mobilenet_v2", 1.0, 224, "V2 paper baseline"),
    ("mobilenet_v2", 1.4, 224, "V2 paper, Table 4 (seed 003)"),
    ("inception_v3", 1.0, 299, "baseline (seed 001, seed 003)"),
    ("resnet50_v2", 1.0, 224, "baseline (seed 000)"),
    ("vgg16", 1.0, 224, "baseline (seed 002)"),
    ("cifar_mobilenet_v2", 1.0, 32, "seed 000, Tables I-III"),
)


def grid_specs(class_counts: Iterable[int] = ()) -> list[Spec]:
    """Every grid entry at 1,000 classes and at each of `class_counts`."""
    counts = sorted({IMAGENET_CLASSES, *(int(c) for c in class_counts if c)})
    return [Spec(a, float(al), r, c) for a, al, r, _ in GRID for c in counts]


def configured_specs(
    models: dict, experiments: dict, dataset_classes: dict[str, int | None]
) -> list[tuple[Spec, str, str]]:
    """(spec, model id, data set) of every configured model on each data set it trains on.

    A model's `classes: null` means the data set's class count; data sets whose class
    count is only known after preparing them (image folders) are left out. A model that no
    experiment uses is counted on every configured data set.
    """
    out = []
    for model_id, m in models.items():
        used = [
            d for exp in experiments.values() if model_id in exp["models"] for d in exp["datasets"]
        ]
        datasets = list(dict.fromkeys(used)) or list(dataset_classes)
        head = "transfer" if m.get("weights") == "imagenet" else "own"
        for d in datasets:
            classes = m.get("classes") or dataset_classes.get(d)
            if not classes:
                continue
            spec = Spec(
                m["arch"],
                float(m.get("alpha", 1.0)),
                int(m.get("resolution", 224)),
                int(classes),
                head,
            )
            out.append((spec, model_id, d))
    return out


# ----------------------------------------------------------------------------- building
def build(spec: Spec):
    """The Keras model of `spec`, untrained (weights=None): shapes are all we need.

    Built in a stateless scope that never initialises the variables: counting needs their
    shapes only, and skipping thousands of random initialisations makes building several
    times faster. The model cannot be run; clear the Keras session after use.
    """
    import keras

    with keras.StatelessScope(initialize_variables=False):
        return _build(spec)


def _build(spec: Spec):
    import keras

    from mobilenet_repro.models import ARCHITECTURES, _classifier_top

    arch = ARCHITECTURES[spec.arch]
    shape = (spec.resolution, spec.resolution, 3)
    kwargs = {"alpha": spec.alpha} if arch.has_alpha else {}
    if spec.head == "own":
        return arch.builder(input_shape=shape, weights=None, classes=spec.classes, **kwargs)
    base = arch.builder(input_shape=shape, weights=None, include_top=False, **kwargs)
    inputs = keras.Input(shape=shape)
    outputs = _classifier_top(base(inputs), spec.classes, "softmax", 0.2)
    return keras.Model(inputs, outputs, name=f"{base.name}_classifier")


def keras_reference_params(spec: Spec) -> tuple[int | None, str]:
    """Parameters of keras.applications' own model for `spec`, and how they compare."""
    import keras

    if spec.head != "own":
        return None, "new head"
    if spec.arch not in ("mobilenet_v1", "mobilenet_v2"):
        if spec.arch == "cifar_mobilenet_v2":
            return None, "no keras model"
        return None, "is keras.applications"
    app = (
        keras.applications.MobileNet
        if spec.arch == "mobilenet_v1"
        else keras.applications.MobileNetV2
    )
    with keras.StatelessScope(initialize_variables=False):
        model = app(
            input_shape=(spec.resolution, spec.resolution, 3),
            alpha=spec.alpha,
            weights=None,
            classes=spec.classes,
        )
    n = int(model.count_params())
    del model
    keras.backend.clear_session(free_memory=False)
    return n, ""


def _producer_input_shape(layer) -> tuple:
    """The layer's input shape before any ZeroPadding2D that feeds it (tables show that)."""
    import keras

    tensor = layer.input
    op = getattr(getattr(tensor, "_keras_history", None), "operation", None)
    if isinstance(op, keras.layers.ZeroPadding2D):
        tensor = op.input
    return tuple(int(d) for d in tensor.shape[1:])


def layer_rows(model) -> list[dict]:
    """Per-layer breakdown: every layer with weights, with its shapes and costs."""
    from mobilenet_repro.flops import _iter_layers, layer_cost

    rows = []
    for layer in _iter_layers(model):
        cost = layer_cost(layer)
        if cost is None:
            continue
        row = cost.as_row()
        row["layer"] = row.pop("name")
        row["table_input_shape"] = "x".join(str(d) for d in _producer_input_shape(layer))
        rows.append(row)
    for i, row in enumerate(rows):
        row["index"] = i
    return rows


def measure(spec: Spec) -> tuple[dict, list[dict], list[dict]]:
    """(stats row, layer rows, separable pair rows) of one built configuration."""
    import keras

    from mobilenet_repro.flops import count_mult_adds, param_readings, separable_cost_ratios

    start = time.perf_counter()
    model = build(spec)
    stats = {**param_readings(model), "mult_adds": count_mult_adds(model)}
    layers = layer_rows(model)
    ratios = separable_cost_ratios(model)
    stats["build_seconds"] = round(time.perf_counter() - start, 3)
    del model
    keras.backend.clear_session(free_memory=False)
    return stats, layers, ratios


# ----------------------------------------------------------------------------- published
_NUMBER = re.compile(r"^[+-]?(\d[\d,]*)(\.\d+)?")


def parse_published(text: str) -> tuple[float, float]:
    """(value, half a unit of the last printed digit) of a printed number ("4.2M", "84%")."""
    s = str(text).strip()
    m = _NUMBER.match(s)
    if not m:
        raise ValueError(f"published.yaml: cannot read a number from {text!r}")
    digits = m.group(1).replace(",", "")
    decimals = len(m.group(2)) - 1 if m.group(2) else 0
    value = float(digits + (m.group(2) or ""))
    half_unit = 0.5 * 10.0**-decimals
    if s[m.end() :].strip().startswith("%"):
        return value / 100, half_unit / 100
    return value, half_unit


def load_published(path: Path | str = PUBLISHED_PATH) -> dict:
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
                    tol_text = f"rounding (±{_short(abs_tol)})"
                elif isinstance(tolerance, dict) and "relative" in tolerance:
                    abs_tol = float(tolerance["relative"]) * abs(value)
                    tol_text = f"±{float(tolerance['relative']) * 100:g}%"
                else:
                    raise ValueError(
                        f"published.yaml: {table['id']} / {row['label']} / {col}: tolerance "
                        f"must be 'rounding' or {{relative: x}}; received {tolerance!r}"
                    )
                model = row["model"]
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
                        "quantity": meta["quantity"],
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
                            int(model["classes"]),
                        ),
                        "pair": row.get("pair"),
                    }
                )
    return cells


def published_specs(published: dict) -> list[Spec]:
    specs = [c["spec"] for c in published_cells(published)]
    specs += [_structure_spec(s) for s in published.get("structures", [])]
    return specs


def _structure_spec(structure: dict) -> Spec:
    m = structure["model"]
    return Spec(m["arch"], float(m.get("alpha", 1.0)), int(m["resolution"]), int(m["classes"]))


def _short(x: float) -> str:
    """A magnitude for humans: 0.05M, 500M, 0.5, 1.2G."""
    x = float(x)
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:.4g}{suffix}"
    return f"{x:.4g}"


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
    return f"differs by {'+' if diff >= 0 else '-'}{_short(abs(diff))} ({rel * 100:+.1f}%)"


# ------------------------------------------------------------------ structure tables
_DASHES = str.maketrans({"—": "-", "–": "-", "×": "x", "²": "^2"})


def _norm(cell) -> str:
    return re.sub(r"\s+", "", str(cell)).lower().translate(_DASHES)


def cells_match(ours: str, published: str) -> bool:
    """Same cell up to spacing, case, dash style and x/×; "k" stands for a class count."""
    if _norm(published) == "k" and str(ours).isdigit():
        return True
    return _norm(ours) == _norm(published)


def expand_rows(rows: list) -> list[list[str]]:
    out = []
    for r in rows:
        if isinstance(r, dict):
            out += expand_rows(r["rows"]) * int(r["repeat"])
        else:
            out.append([str(c) for c in r])
    return out


def _dims(shape: str) -> list[int]:
    return [int(d) for d in str(shape).split("x")]


def _weighted(layers: pd.DataFrame) -> pd.DataFrame:
    return layers[~layers["kind"].isin(["batch_norm", "other"])].sort_values("index")


def _stride(row) -> int:
    s = str(row["strides"])
    return int(s.split("x")[0]) if s not in ("-", "nan") else 1


def derive_v1_body(layers: pd.DataFrame) -> list[list[str]]:
    """Table 1 of the V1 paper, from a built MobileNet V1: type/stride, filter, input size."""
    rows = []
    last = None
    for _, r in _weighted(layers).iterrows():
        c = _dims(r["table_input_shape"])[-1]
        k = r["kernel"].replace("x", "×")
        out = _dims(r["output_shape"])
        size = "×".join(str(d) for d in _dims(r["table_input_shape"]))
        if r["kind"] == "conv":
            rows.append([f"Conv / s{_stride(r)}", f"{k}×{c}×{out[-1]}", size])
        elif r["kind"] == "depthwise":
            rows.append([f"Conv dw / s{_stride(r)}", f"{k}×{c} dw", size])
        elif r["kind"] == "pointwise":
            rows.append([f"Conv / s{_stride(r)}", f"{k}×{c}×{out[-1]}", size])
        elif r["kind"] == "dense":
            if last is not None:
                lh, lw, lc = last
                rows.append(["Avg Pool / s1", f"Pool {lh}×{lw}", f"{lh}×{lw}×{lc}"])
            inp = _dims(r["table_input_shape"])
            rows.append(
                ["FC / s1", f"{inp[-1]}×{out[-1]}", "×".join(str(d) for d in ([1, 1] + inp[-1:]))]
            )
            rows.append(["Softmax / s1", "Classifier", f"1×1×{out[-1]}"])
        if r["kind"] in ("conv", "pointwise", "depthwise"):
            last = tuple(out)
    return rows


_V2_BLOCK = re.compile(r"^(expanded_conv|block_\d+)_(expand|depthwise|project)$")


def _v2_blocks(layers: pd.DataFrame) -> tuple[list[dict], pd.DataFrame]:
    """Bottleneck blocks (t, c, stride, input) and the layers outside them, in order."""
    blocks: dict[str, dict] = {}
    rest = []
    for _, r in _weighted(layers).iterrows():
        m = _V2_BLOCK.match(r["layer"])
        if not m:
            rest.append(r)
            continue
        b = blocks.setdefault(m.group(1), {"index": r["index"]})
        b[m.group(2)] = r
    out = []
    for b in sorted(blocks.values(), key=lambda b: b["index"]):
        first = b.get("expand", b["depthwise"])
        inp = _dims(first["table_input_shape"])
        t = _dims(b["expand"]["output_shape"])[-1] // inp[-1] if "expand" in b else 1
        out.append(
            {
                "index": b["index"],
                "input": inp,
                "t": t,
                "c": _dims(b["project"]["output_shape"])[-1],
                "s": _stride(b["depthwise"]),
                "output": _dims(b["project"]["output_shape"]),
            }
        )
    return out, pd.DataFrame(rest)


def _stages(blocks: list[dict]) -> list[dict]:
    """Consecutive blocks with the same (t, c) whose later members have stride 1."""
    stages = []
    for b in blocks:
        s = stages[-1] if stages else None
        if s and s["t"] == b["t"] and s["c"] == b["c"] and b["s"] == 1:
            s["n"] += 1
            s["output"] = b["output"]
        else:
            stages.append({**b, "n": 1})
    return stages


def _sq(shape: list[int]) -> str:
    h, w, c = shape
    return f"{h}²×{c}" if h == w else f"{h}×{w}×{c}"


def derive_v2_stages(layers: pd.DataFrame) -> list[list[str]]:
    """The V2 paper's Table 2 (input, operator, t, c, n, s) from a built MobileNetV2."""
    blocks, rest = _v2_blocks(layers)
    stages = _stages(blocks)
    rows = []
    first_block = blocks[0]["index"]
    before = rest[rest["index"] < first_block]
    after = rest[rest["index"] > first_block]
    for _, r in before.iterrows():
        rows.append(
            [
                _sq(_dims(r["table_input_shape"])),
                "conv2d",
                "-",
                str(_dims(r["output_shape"])[-1]),
                "1",
                str(_stride(r)),
            ]
        )
    for s in stages:
        rows.append(
            [_sq(s["input"]), "bottleneck", str(s["t"]), str(s["c"]), str(s["n"]), str(s["s"])]
        )
    last = stages[-1]["output"]
    for _, r in after.iterrows():
        inp = _dims(r["table_input_shape"])
        out = _dims(r["output_shape"])[-1]
        if r["kind"] == "dense":
            h, w, c = last
            rows.append([_sq(last), f"avgpool {h}x{w}", "-", "-", "1", "-"])
            rows.append([f"1×1×{inp[-1]}", "conv2d 1x1", "-", str(out), "-", "-"])
        else:
            rows.append([_sq(inp), f"conv2d {r['kernel']}", "-", str(out), "1", str(_stride(r))])
            last = _dims(r["output_shape"])
    return rows


def derive_cifar_stages(layers: pd.DataFrame) -> list[list[str]]:
    """Seed 000's Tables I-III from the built CIFAR MobileNetV2."""
    blocks, rest = _v2_blocks(layers)
    stages = _stages(blocks)
    first_block = blocks[0]["index"]
    stem = rest[rest["index"] < first_block].iloc[0]
    head = rest[rest["index"] > first_block]
    inp = _dims(stem["table_input_shape"])
    size = lambda s: f"{s[0]}×{s[1]}"  # noqa: E731
    rows = [
        ["Image", str(inp[-1]), size(inp), "—", "—", "—", "—"],
        [
            "Convolution",
            str(inp[-1]),
            size(inp),
            "—",
            "1",
            str(_stride(stem)),
            str(_dims(stem["output_shape"])[-1]),
        ],
    ]
    for s in stages:
        rows.append(
            [
                "Residual Bottleneck",
                str(s["input"][-1]),
                size(s["input"]),
                str(s["t"]),
                str(s["n"]),
                str(s["s"]),
                str(s["c"]),
            ]
        )
    last = stages[-1]["output"]
    rows.append(["Global Average Pool", str(last[-1]), size(last), "—", "1", "—", "—"])
    for _, r in head.iterrows():
        if r["kind"] == "dense":
            d_in = _dims(r["table_input_shape"])[-1]
            rows.append(
                [
                    "Dense (softmax)",
                    "1",
                    str(d_in),
                    "—",
                    "1",
                    "—",
                    str(_dims(r["output_shape"])[-1]),
                ]
            )
    return rows


DERIVERS = {
    "v1_body": derive_v1_body,
    "v2_stages": derive_v2_stages,
    "cifar_stages": derive_cifar_stages,
}


def structure_rows(published: dict, layers: pd.DataFrame) -> pd.DataFrame:
    """Every cell of the seeds' architecture tables next to the one derived from our model."""
    out = []
    for st in published.get("structures", []):
        spec = _structure_spec(st)
        sel = layers[
            (layers["model"] == spec.arch)
            & (layers["alpha"] == spec.alpha)
            & (layers["resolution"] == spec.resolution)
            & (layers["classes"] == spec.classes)
            & (layers["head"] == "own")
        ]
        ours = DERIVERS[st["derive"]](sel)
        theirs = expand_rows(st["rows"])
        for i in range(max(len(ours), len(theirs))):
            o = ours[i] if i < len(ours) else [""] * len(st["columns"])
            t = theirs[i] if i < len(theirs) else [""] * len(st["columns"])
            for j, col in enumerate(st["columns"]):
                out.append(
                    {
                        "table": st["id"],
                        "source": st["source"],
                        "original": st.get("original", ""),
                        "location": st.get("location", ""),
                        "caption": st.get("caption", ""),
                        "note": " ".join(str(st.get("note", "")).split()),
                        "row": i,
                        "column_index": j,
                        "column": col,
                        "ours": o[j],
                        "published": t[j],
                        "matches": cells_match(o[j], t[j]),
                    }
                )
    return pd.DataFrame(out)


# --------------------------------------------------------------- seed 000's 1,184,746
CIFAR_STATED_PARAMS = "seed000_params"  # table id in published.yaml


@dataclass(frozen=True)
class CifarReading:
    """One reading of seed 000's Tables I-III; defaults are the reading our builder uses."""

    batch_norm: bool = True  # batch norm after every convolution (Sec. IV.A)
    conv_bias: bool = False  # biases in the convolutions
    in_channels: int = 3  # RGB (CIFAR-10); 1 if Table II's "MNIST" caption were right
    repeats_delta: int = 0  # blocks per stage added to Table II's "Repeats" (at least 1 stays)
    first_expansion: int = 6  # t of the first bottleneck (the V2 paper's first block has 1)
    expand_from: str = "input"  # expansion t x input channels (paper) or x output channels
    last_conv: int = 0  # a final 1x1 conv to 1280 channels, as in the V2 paper
    stem: int = 32
    bottlenecks: tuple = ((6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))
    classes: int = 10
    resolution: int = 32

    def deviations(self) -> list[str]:
        """What differs from Tables I-III, in words."""
        base = CifarReading()
        out = []
        for field, text in DEVIATION_TEXT.items():
            if getattr(self, field) != getattr(base, field):
                if field == "repeats_delta":
                    text = text.format(f"{self.repeats_delta:+d}")
                out.append(text)
        return out


DEVIATION_TEXT = {
    "batch_norm": "no batch norm",
    "conv_bias": "biases in every convolution",
    "in_channels": "one input channel (MNIST)",
    "repeats_delta": "{} block(s) per stage",
    "first_expansion": "no expansion in the first bottleneck (t = 1)",
    "expand_from": "expansion from the output channels",
    "last_conv": "a final 1x1 conv to 1280 channels",
}

# Single deviations from Tables I-III that a reader or an implementation might make.
CIFAR_READINGS: dict[str, tuple[str, CifarReading]] = {
    "tables": ("Tables I-III as printed (our builder)", CifarReading()),
    "no_batch_norm": (
        "convolutions with biases and no batch norm",
        CifarReading(batch_norm=False, conv_bias=True),
    ),
    "conv_bias": ("biases in every convolution, and batch norm", CifarReading(conv_bias=True)),
    "grayscale": ("one input channel (Table II's caption says MNIST)", CifarReading(in_channels=1)),
    "repeats_minus_one": ("each stage one block shorter", CifarReading(repeats_delta=-1)),
    "repeats_plus_one": ("each stage one block longer", CifarReading(repeats_delta=1)),
    "first_t1": (
        "no expansion in the first bottleneck (t = 1, as in the V2 paper)",
        CifarReading(first_expansion=1),
    ),
    "expand_output": (
        "expansion t x output channels instead of input channels",
        CifarReading(expand_from="output"),
    ),
    "last_conv_1280": (
        "a final 1x1 conv to 1280 channels before pooling (V2 paper)",
        CifarReading(last_conv=1280),
    ),
}


def _reading_blocks(r: CifarReading) -> list[tuple[int, int, int]]:
    """(expansion, out channels, stride) of each block."""
    blocks = []
    for t, c, n, s in r.bottlenecks:
        for i in range(max(n + r.repeats_delta, 1)):
            blocks.append((t, c, s if i == 0 else 1))
    if blocks:
        blocks[0] = (r.first_expansion, blocks[0][1], blocks[0][2])
    return blocks


def build_cifar_reading(r: CifarReading):
    """A Keras model of reading `r` (for counting only; never trained)."""
    import keras
    from keras import layers

    def conv(x, filters, kernel, stride=1, depthwise=False, act=True):
        if depthwise:
            x = layers.DepthwiseConv2D(kernel, stride, padding="same", use_bias=r.conv_bias)(x)
        else:
            x = layers.Conv2D(filters, kernel, stride, padding="same", use_bias=r.conv_bias)(x)
        if r.batch_norm:
            x = layers.BatchNormalization()(x)
        return layers.ReLU(6.0)(x) if act else x

    inputs = keras.Input((r.resolution, r.resolution, r.in_channels))
    x = conv(inputs, r.stem, 3)
    for t, c, s in _reading_blocks(r):
        c_in = x.shape[-1]
        y = x
        if t != 1:
            y = conv(y, (c if r.expand_from == "output" else c_in) * t, 1)
        y = conv(y, None, 3, s, depthwise=True)
        y = conv(y, c, 1, act=False)
        x = layers.Add()([x, y]) if (s == 1 and c_in == c) else y
    if r.last_conv:
        x = conv(x, r.last_conv, 1)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(r.classes, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def closed_form_params(r: CifarReading) -> tuple[int, int]:
    """(total, trainable) parameters of reading `r`, by formula (checked against Keras)."""
    total = trainable = 0

    def conv(n_weights, channels):
        nonlocal total, trainable
        extra = channels if r.conv_bias else 0
        bn = 4 * channels if r.batch_norm else 0
        total += n_weights + extra + bn
        trainable += n_weights + extra + bn // 2

    conv(9 * r.in_channels * r.stem, r.stem)
    c_in = r.stem
    for t, c, _ in _reading_blocks(r):
        mid = c_in
        if t != 1:
            mid = (c if r.expand_from == "output" else c_in) * t
            conv(c_in * mid, mid)
        conv(9 * mid, mid)
        conv(mid * c, c)
        c_in = c
    if r.last_conv:
        conv(c_in * r.last_conv, r.last_conv)
        c_in = r.last_conv
    total += c_in * r.classes + r.classes
    trainable += c_in * r.classes + r.classes
    return total, trainable


def reading_search_space() -> list[CifarReading]:
    """Every combination of the deviations (the closed form counts them in milliseconds)."""
    out = []
    for bn_bias, ch, rep, t1, exp, last in itertools.product(
        ((True, False), (True, True), (False, True), (False, False)),
        (3, 1),
        (0, -1, 1),
        (6, 1),
        ("input", "output"),
        (0, 1280),
    ):
        out.append(
            CifarReading(
                batch_norm=bn_bias[0],
                conv_bias=bn_bias[1],
                in_channels=ch,
                repeats_delta=rep,
                first_expansion=t1,
                expand_from=exp,
                last_conv=last,
            )
        )
    return out


def cifar_reading_rows(stated: int, n_closest: int = 3) -> tuple[pd.DataFrame, dict]:
    """Params of each reading (built in Keras) and of the closest combinations searched.

    Returns the table and a summary: how many readings were searched and whether any
    gives `stated` as its total or trainable count.
    """
    import keras

    from mobilenet_repro.models import CifarMobileNetV2

    rows = []
    for rid, (text, reading) in CIFAR_READINGS.items():
        builder = (
            CifarMobileNetV2 if rid == "tables" else (lambda r=reading: build_cifar_reading(r))
        )
        total, trainable = _count_built(builder)
        rows.append(_reading_row(rid, text, reading, total, trainable, stated))
    for alpha in (1.0, 0.75):
        total, trainable = _count_built(
            lambda a=alpha: keras.applications.MobileNetV2(
                input_shape=(32, 32, 3), alpha=a, weights=None, classes=10
            )
        )
        row = _reading_row(f"keras_mobilenetv2_{alpha:.2f}", "", None, total, trainable, stated)
        row["description"] = (
            f"keras.applications.MobileNetV2(alpha={alpha:g}) at 32×32×3 with 10 classes: "
            "the V2 paper's network"
        )
        rows.append(row)
    space = reading_search_space()
    scored = []
    for r in space:
        total, trainable = closed_form_params(r)
        scored.append((min(abs(total - stated), abs(trainable - stated)), r, total, trainable))
    scored.sort(key=lambda x: (x[0], len(x[1].deviations())))
    exact = [s for s in scored if s[0] == 0]
    for k, (_, r, total, trainable) in enumerate(scored[:n_closest], start=1):
        built = _count_built(lambda r=r: build_cifar_reading(r))  # confirm the formula
        if built != (total, trainable):
            raise AssertionError(f"closed form {(total, trainable)} != Keras {built} for {r}")
        rows.append(
            _reading_row(f"closest_{k}", f"closest combination #{k}", r, total, trainable, stated)
        )
    summary = {
        "stated": stated,
        "searched": len(space),
        "deviation_kinds": len(DEVIATION_TEXT),
        "exact": [", ".join(s[1].deviations()) or "Tables I-III" for s in exact],
        "closest_distance": int(scored[0][0]),
        "closest": ", ".join(scored[0][1].deviations()),
    }
    return pd.DataFrame(rows), summary


def _count_built(builder) -> tuple[int, int]:
    """(total, trainable) parameters of `builder()`, built without initialising weights."""
    import keras

    from mobilenet_repro.flops import count_params

    with keras.StatelessScope(initialize_variables=False):
        model = builder()
    counts = count_params(model)
    del model
    keras.backend.clear_session(free_memory=False)
    return counts


def _reading_row(rid, text, reading, total, trainable, stated) -> dict:
    dev = reading.deviations() if reading is not None else ["the V2 paper's full network"]
    return {
        "reading": rid,
        "description": text,
        "deviations": "; ".join(dev) if dev else "none",
        "n_deviations": len(dev),
        "params": total,
        "trainable_params": trainable,
        "params_difference": total - stated,
        "trainable_difference": trainable - stated,
        "gives_stated": stated in (total, trainable),
    }


# ----------------------------------------------------------------------------- the stage
def run_stage(
    out_dir: Path | str,
    configured: list[tuple[Spec, str, str]] = (),
    dataset_classes: dict[str, int | None] | None = None,
    published_path: Path | str = PUBLISHED_PATH,
    grid: bool = True,
    log=print,
) -> dict[str, Path]:
    """Build every configuration, count, compare with published.yaml and write the files."""
    from mobilenet_repro.io import write_csv, write_json

    start = time.perf_counter()
    out_dir = Path(out_dir)
    dataset_classes = dataset_classes or {}
    published = load_published(published_path)
    class_counts = [c for c in dataset_classes.values() if c]
    specs: dict[Spec, dict] = {}

    def add(spec: Spec, **flags):
        entry = specs.setdefault(
            spec, {"in_grid": False, "published": False, "config_models": [], "datasets": []}
        )
        for k, v in flags.items():
            if isinstance(entry[k], list):
                if v not in entry[k]:
                    entry[k].append(v)
            else:
                entry[k] = entry[k] or v

    if grid:
        for spec in grid_specs(class_counts):
            add(spec, in_grid=True)
    for spec in published_specs(published):
        add(spec, published=True)
    for spec, model_id, dataset in configured:
        add(spec, config_models=model_id, datasets=dataset)
    for spec, entry in specs.items():
        for name, n in dataset_classes.items():
            if n == spec.classes and name not in entry["datasets"] and entry["in_grid"]:
                entry["datasets"].append(name)

    stats, layers, ratios = [], [], []
    ratio_done = set()
    for spec in sorted(specs):
        entry = specs[spec]
        s, lrows, rrows = measure(spec)
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
        log(
            f"{spec.name} [{spec.head}]: {s['params']:,} params, {s['mult_adds']:,} mult-adds, "
            f"{s['build_seconds']:.2f}s; keras.applications: {check}"
        )

    stats_df = pd.DataFrame(stats)[STAT_COLUMNS]
    layers_df = pd.DataFrame(layers)
    ratios_df = pd.DataFrame(ratios)
    ratios_df["abs_error"] = (ratios_df["measured_ratio"] - ratios_df["expected_ratio"]).abs()
    ratios_df["matches"] = ratios_df["abs_error"] <= 1e-12
    verdicts_df = verdict_rows(stats_df, ratios_df, published)
    structures_df = structure_rows(published, layers_df)
    stated = _stated_cifar_params(published)
    readings_df, readings_summary = cifar_reading_rows(stated)

    paths = {k: out_dir / v for k, v in OUTPUT_FILES.items()}
    write_csv(stats_df, paths["stats"])
    write_csv(layers_df, paths["layers"])
    write_csv(ratios_df, paths["ratios"])
    write_csv(verdicts_df, paths["verdicts"])
    write_csv(structures_df, paths["structures"])
    write_csv(readings_df, paths["cifar_readings"])
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


def _stated_cifar_params(published: dict) -> int:
    for cell in published_cells(published):
        if cell["table"] == CIFAR_STATED_PARAMS:
            return int(cell["value"])
    raise KeyError(f"published.yaml has no table {CIFAR_STATED_PARAMS!r}")


# ----------------------------------------------------------------------------- the report
def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _m(x, digits=2) -> str:
    """Millions, for tables."""
    return "-" if _missing(x) else f"{float(x) / 1e6:,.{digits}f}"


def _int(x) -> str:
    return "-" if _missing(x) else f"{int(x):,}"


def _text(x) -> str:
    return "" if _missing(x) else str(x)


def _bool(x) -> bool:
    return x is True or str(x) == "True"


def _config_label(arch: str, alpha: float, resolution: int, classes: int | None = None) -> str:
    text = f"{ARCH_SPECS[arch].label} {float(alpha):.2f}-{int(resolution)}"
    return text if classes is None else f"{text}, {int(classes):,} classes"


def _ctx_grid(own: pd.DataFrame) -> tuple[list[dict], list[str]]:
    """The grid at 1,000 classes, with the parameters at the data sets' class counts."""
    grid = own[own["in_grid"].map(_bool)]
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
                "params": _int(r["params"]),
                "trainable_params": _int(r["trainable_params"]),
                "mult_adds_m": _m(r["mult_adds"], 1),
                "keras_check": r["keras_check"],
                "params_at": [_int(at[c]["params"]) if c in at else "-" for c in others],
            }
        )
    return rows, [f"{c:,}" for c in others]


def _ctx_configured(stats: pd.DataFrame) -> list[dict]:
    """The configured models, as training builds them, on the data sets they train on."""
    rows = []
    for _, r in stats[stats["config_models"].map(_text) != ""].iterrows():
        rows.append(
            {
                "models": _text(r["config_models"]).replace(";", ", "),
                "datasets": _text(r["datasets"]).replace(";", ", "),
                "config": _config_label(r["model"], r["alpha"], r["resolution"], r["classes"]),
                "head": "own top" if r["head"] == "own" else "new dense head",
                "params": _int(r["params"]),
                "trainable_params": _int(r["trainable_params"]),
                "mult_adds_m": _m(r["mult_adds"], 2),
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
                "params_m": _m(r["params"]),
                "trainable_m": _m(r["trainable_params"]),
                "params_rel": f"{r['params'] / base['params']:.3f}",
                "alpha_sq": f"{alpha**2:.3f}",
                "mult_adds_m": _m(r["mult_adds"], 1),
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
        rows.append({"config": _config_label(arch, alpha, res), "shares": shares})
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
                "config": _config_label(arch, alpha, res),
                "pairs": len(sel),
                "all_match": bool(sel["matches"].map(_bool).all()),
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
                "pair": f"{r['depthwise']} + {r['pointwise']}",
                "shape": f"{size}, {int(r['in_channels'])} → {int(r['out_channels'])}",
                "kernel": int(r["kernel"]),
                "separable": _int(r["separable_mult_adds"]),
                "standard": _int(r["standard_mult_adds"]),
                "measured": f"{r['measured_ratio']:.6f}",
                "expected": f"{r['expected_ratio']:.6f}",
                "matches": _bool(r["matches"]),
            }
        )
    return models, pairs


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
                    "config": _config_label(r["model"], r["alpha"], r["resolution"], r["classes"]),
                    "quantity": r["quantity"].replace("_", " "),
                    "published": r["published_text"],
                    "ours": r["ours_text"],
                    "matches": _bool(r["matches"]),
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
        "config": _config_label(r["model"], r["alpha"], r["resolution"]),
        "ours_m": _m(r["ours"]),
        "published": r["published_text"],
        "relative": f"{float(r['relative_difference']) * 100:+.2f}",
        "tolerance": r["tolerance"],
        "matches": _bool(r["matches"]),
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
                    {"ours": c["ours"], "published": c["published"], "matches": _bool(c["matches"])}
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
                "n_differ": int((~sel["matches"].map(_bool)).sum()),
            }
        )
    return tables


def _ctx_cifar(readings: pd.DataFrame, summary: dict) -> dict:
    ours = readings[readings["reading"] == "tables"].iloc[0]
    stated = int(summary["stated"])
    return {
        "stated": _int(stated),
        "params": _int(ours["params"]),
        "trainable_params": _int(ours["trainable_params"]),
        "trainable_difference": f"{int(ours['trainable_difference']):+,}",
        "trainable_relative": f"{int(ours['trainable_difference']) / stated * 100:+.1f}",
        "searched": _int(summary["searched"]),
        "deviation_kinds": _int(summary["deviation_kinds"]),
        "exact": summary["exact"],
        "closest": summary["closest"],
        "closest_distance": _int(summary["closest_distance"]),
        "readings": [
            {
                "reading": r["reading"],
                "description": r["description"],
                "deviations": r["deviations"],
                "params": _int(r["params"]),
                "trainable_params": _int(r["trainable_params"]),
                "params_difference": f"{int(r['params_difference']):+,}",
                "trainable_difference": f"{int(r['trainable_difference']):+,}",
                "gives_stated": _bool(r["gives_stated"]),
            }
            for _, r in readings.iterrows()
        ],
    }


def report_context(arch_dir: Path) -> dict:
    """Everything the report's architecture section shows, read from the stage's files.

    Numbers come formatted for display; the templates only lay them out.
    """
    arch_dir = Path(arch_dir)

    def read(key, **kw):
        return pd.read_csv(arch_dir / OUTPUT_FILES[key], **kw)

    stats = read("stats")
    layers = read("layers")
    ratios = read("ratios")
    verdicts = read("verdicts", keep_default_na=False)
    structures = read("structures", dtype=str, keep_default_na=False)
    readings = read("cifar_readings")
    meta = json.loads((arch_dir / OUTPUT_FILES["meta"]).read_text(encoding="utf-8"))
    sources = meta.get("sources", {})
    own = stats[stats["head"] == "own"]

    grid, other_classes = _ctx_grid(own)
    keras_checked = own[own["keras_applications_params"].notna()]
    separable, separable_v1 = _ctx_separable(ratios)
    verdict_tables = _ctx_verdicts(verdicts, sources)
    n_verdicts = sum(len(t["rows"]) for t in verdict_tables)
    n_match = sum(t["n_match"] for t in verdict_tables)
    return {
        "imagenet_classes": _int(IMAGENET_CLASSES),
        "n_configurations": len(stats),
        "seconds": f"{meta.get('seconds', math.nan):.1f}",
        "dataset_classes": [
            {"name": k, "classes": _int(v) if v else "unknown until prepared"}
            for k, v in meta.get("dataset_classes", {}).items()
        ],
        "grid": grid,
        "other_classes": other_classes,
        "keras_checked": len(keras_checked),
        "keras_equal": int((keras_checked["keras_check"] == "equal").sum()),
        "configured": _ctx_configured(stats),
        "multipliers": _ctx_multipliers(own),
        "layer_kinds": list(LAYER_KINDS),
        "by_kind": _ctx_by_kind(layers),
        "separable": separable,
        "separable_pairs": sum(m["pairs"] for m in separable),
        "separable_all_match": all(m["all_match"] for m in separable),
        "separable_v1": separable_v1,
        "separable_v1_config": _config_label("mobilenet_v1", 1.0, 224),
        "verdict_tables": verdict_tables,
        "n_verdicts": n_verdicts,
        "n_match": n_match,
        "n_differ": n_verdicts - n_match,
        "acceptance": {
            "v1": _ctx_acceptance(verdicts, "seed004_versions", "MobileNet V1"),
            "v2": _ctx_acceptance(verdicts, "seed004_versions", "MobileNet V2"),
        },
        "structures": _ctx_structures(structures, sources),
        "cifar": _ctx_cifar(readings, meta["cifar_readings"]),
        "sources": sources,
    }


# ----------------------------------------------------------------------------- the figure
ARCH_COLORS = {
    "mobilenet_v1": "#1f77b4",
    "mobilenet_v2": "#2ca02c",
    "cifar_mobilenet_v2": "#17becf",
    "inception_v3": "#d62728",
    "resnet50_v2": "#9467bd",
    "vgg16": "#8c564b",
}


# Where a point's label goes in the MobileNet panel (offset in points, alignment), where the
# default (to the right) would collide with a neighbour.
LABEL_PLACES = {
    ("mobilenet_v2", 1.0, 224): ((0, -11), "center"),
    ("mobilenet_v2", 1.4, 224): ((0, -11), "center"),
    ("cifar_mobilenet_v2", 1.0, 32): ((0, -11), "center"),
}
MOBILENETS = ("mobilenet_v1", "mobilenet_v2", "cifar_mobilenet_v2")


def _published_pairs(verdicts: pd.DataFrame) -> list[tuple[str, float, float, float, float]]:
    """(arch, published params, published mult-adds, ours, ours) of rows giving both."""
    pub = verdicts[verdicts["quantity"].isin([*PARAM_QUANTITIES, "mult_adds"])]
    out = []
    for _, sel in pub.groupby(["table", "row"], sort=False):
        p = sel[sel["quantity"].isin(PARAM_QUANTITIES)]
        m = sel[sel["quantity"] == "mult_adds"]
        if not p.empty and not m.empty:
            p, m = p.iloc[0], m.iloc[0]
            out.append(
                (
                    p["model"],
                    float(p["published"]),
                    float(m["published"]),
                    float(p["ours"]),
                    float(m["ours"]),
                )
            )
    return out


def plot_madds_vs_params(stats: pd.DataFrame, verdicts: pd.DataFrame, png, svg) -> None:
    """Mult-adds against parameters for the grid at 1,000 classes, with published points.

    Left: every architecture (log scales); right: the MobileNets (linear scales), labelled.
    Published (parameters, mult-adds) pairs from one row of a seed's table are drawn hollow
    and joined to our count of the same configuration (at the published class count).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mobilenet_repro.io import atomic_path

    plt.rcParams.update({"svg.hashsalt": "mobilenet-repro", "font.size": 8})
    own = stats[(stats["head"] == "own") & stats["in_grid"].map(_bool)]
    grid = own[own["classes"] == IMAGENET_CLASSES]
    pairs = _published_pairs(verdicts)
    fig, (ax_all, ax_mn) = plt.subplots(1, 2, figsize=(9.0, 4.2), width_ratios=(1, 1.25))
    for ax, archs in ((ax_all, None), (ax_mn, MOBILENETS)):
        for arch, sel in grid.groupby("model", sort=False):
            if archs is not None and arch not in archs:
                continue
            ax.scatter(
                sel["params"] / 1e6,
                sel["mult_adds"] / 1e6,
                s=22,
                color=ARCH_COLORS.get(arch, "k"),
                label=ARCH_SPECS[arch].label,
                zorder=3,
            )
        v1 = grid[grid["model"] == "mobilenet_v1"]
        for series, style in (
            (v1[v1["resolution"] == v1["resolution"].max()].sort_values("alpha"), "-"),
            (v1[v1["alpha"] == 1.0].sort_values("resolution"), ":"),
        ):
            ax.plot(
                series["params"] / 1e6, series["mult_adds"] / 1e6, style, color="#1f77b4", lw=0.8
            )
        first = True
        for arch, p_pub, m_pub, p_ours, m_ours in pairs:
            if archs is not None and arch not in archs:
                continue
            color = ARCH_COLORS.get(arch, "k")
            ax.scatter(
                p_pub / 1e6,
                m_pub / 1e6,
                s=38,
                facecolors="none",
                edgecolors=color,
                linewidths=0.9,
                zorder=4,
                label="published (hollow)" if first else None,
            )
            ax.plot([p_pub / 1e6, p_ours / 1e6], [m_pub / 1e6, m_ours / 1e6], color=color, lw=0.6)
            first = False
        ax.set_xlabel("parameters (millions)")
        ax.set_ylabel("multiply-adds (millions)")
        ax.grid(True, which="both", lw=0.3, alpha=0.5)
    for _, r in grid[grid["model"].isin(MOBILENETS)].iterrows():
        prefix = {"mobilenet_v1": "V1", "mobilenet_v2": "V2"}.get(r["model"], "CIFAR V2")
        offset, ha = LABEL_PLACES.get((r["model"], r["alpha"], r["resolution"]), ((5, -3), "left"))
        ax_mn.annotate(
            f"{prefix} {r['alpha']:.2f}-{r['resolution']}",
            (r["params"] / 1e6, r["mult_adds"] / 1e6),
            textcoords="offset points",
            xytext=offset,
            ha=ha,
            fontsize=6,
            color="0.25",
        )
    ax_all.set_xscale("log")
    ax_all.set_yscale("log")
    ax_all.set_title(f"All architectures, {IMAGENET_CLASSES:,} classes")
    ax_all.legend(fontsize=6.5, loc="upper left", frameon=False)
    ax_mn.set_xlim(left=0)
    ax_mn.set_ylim(bottom=0)
    ax_mn.set_title("The MobileNets")
    fig.tight_layout()
    with atomic_path(png) as tmp:
        fig.savefig(tmp, format="png", dpi=150)
    with atomic_path(svg) as tmp:
        fig.savefig(tmp, format="svg", metadata={"Date": None})
    plt.close(fig)
