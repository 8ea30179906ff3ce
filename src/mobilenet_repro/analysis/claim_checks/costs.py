"""Kinds for cost claims: the formulas, width and resolution multipliers, counts.

Each kind reads the architecture stage's tables (layers.csv, separable_ratios.csv,
stats.csv); which model, which widths or sides and which thresholds come from the claim's
`check:` block.
"""

from __future__ import annotations

import ast
import math

import pandas as pd

from mobilenet_repro.analysis.claims import Evidence
from mobilenet_repro.analysis.kinds import Finding, kind
from mobilenet_repro.counting.published import parse_published
from mobilenet_repro.formatting import as_bool


def _verdict(holds: bool) -> str:
    return "reproduced" if holds else "not_reproduced"


# ------------------------------------------------------------------------- cost formulas
def _channels(shape: str) -> int:
    return int(str(shape).split("x")[-1])


def _side(shape: str) -> tuple[int, int]:
    h, w, _ = (int(d) for d in str(shape).split("x"))
    return h, w


def _formula_rows(evidence: Evidence, layer_kind: str) -> pd.DataFrame:
    layers = evidence.arch("layers")
    rows = layers[layers["kind"] == layer_kind].copy()
    k = rows["kernel"].str.split("x", expand=True).astype(int)
    hw = rows["output_shape"].map(_side)
    rows["kk"] = k[0] * k[1]
    rows["ff"] = [h * w for h, w in hw]
    rows["m"] = rows["input_shape"].map(_channels)
    rows["n"] = rows["output_shape"].map(_channels)
    return rows


def formula(expression: str, names: dict):
    """A formula of the registry over named columns: names, numbers and arithmetic only."""
    tree = ast.parse(expression, mode="eval")
    allowed = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Name, ast.Load, ast.Constant,
               ast.operator, ast.unaryop)  # fmt: skip
    for node in ast.walk(tree):
        if not isinstance(node, allowed):
            raise ValueError(f"formula {expression!r}: {type(node).__name__} not allowed")
        if isinstance(node, ast.Name) and node.id not in names:
            raise ValueError(f"formula {expression!r}: unknown name {node.id}; known {names}")
    return eval(compile(tree, "<claim>", "eval"), {"__builtins__": {}}, names)  # noqa: S307


@kind(
    "layer_formula",
    required=("layer_kind", "formula"),
    choices={"layer_kind": ("conv", "depthwise", "pointwise")},
)
def layer_formula(evidence: Evidence, params: dict, claim: dict) -> Finding:
    """Every layer of one kind costs what the formula over k x k (kk), input channels (m),
    output channels (n) and output positions (ff, stride 2 included) says."""
    rows = _formula_rows(evidence, params["layer_kind"])
    names = {c: rows[c] for c in ("kk", "m", "n", "ff")}
    off = int((rows["mult_adds"] != formula(params["formula"], names)).sum())
    values = {"layer_kind": params["layer_kind"], "layers": len(rows), "differing": off}
    return Finding(_verdict(off == 0 and len(rows) > 0), values)


@kind("separable_ratio", optional=("stride",))
def separable_ratio(evidence: Evidence, params: dict, claim: dict) -> Finding:
    """Each depthwise-pointwise pair costs 1/N + 1/D_K^2 of a standard convolution of the
    same shape (only the pairs of one stride, where `stride` is given)."""
    ratios = evidence.arch("separable_ratios")
    if params.get("stride"):
        layers = evidence.arch("layers")
        stride = f"{params['stride']}x{params['stride']}"
        strided = set(
            zip(
                layers.loc[layers["strides"] == stride, "model"],
                layers.loc[layers["strides"] == stride, "layer"],
                strict=True,
            )
        )
        keep = [
            (m, d) in strided for m, d in zip(ratios["model"], ratios["depthwise"], strict=True)
        ]
        ratios = ratios[keep]
    if ratios.empty:
        return Finding("not_run", {"stride": params.get("stride")})
    ok = ratios["matches"].map(as_bool)
    values = {
        "stride": params.get("stride"),
        "pairs": len(ratios),
        "matching": int(ok.sum()),
        "models": int(ratios["model"].nunique()),
        "largest_error": float(ratios["abs_error"].max()),
    }
    return Finding(_verdict(bool(ok.all())), values)


def _pairs(evidence: Evidence, params: dict) -> pd.DataFrame:
    ratios = evidence.arch("separable_ratios")
    ratios = ratios[ratios["model"] == params["model"]]
    if "kernel" in params:
        ratios = ratios[ratios["kernel"] == params["kernel"]]
    return ratios


@kind("separable_saving", required=("model", "above"), optional=("kernel",))
def separable_saving(evidence: Evidence, params: dict, claim: dict) -> Finding:
    """Every depthwise-pointwise pair of a model saves more than `above` times the weights
    (the parameter ratio equals the cost ratio) of a standard convolution of its shape."""
    pairs = _pairs(evidence, params)
    if pairs.empty:
        return Finding("not_run", {"model": params["model"]})
    saving = 1 / pairs["measured_ratio"]
    values = {"model": params["model"], "pairs": len(pairs)}
    values |= {"least": float(saving.min()), "most": float(saving.max())}
    return Finding(_verdict(bool((saving > params["above"]).all())), values)


@kind("separable_saving_overall", required=("model", "between", "digits"), optional=("kernel",))
def separable_saving_overall(evidence: Evidence, params: dict, claim: dict) -> Finding:
    """The saving of a model's separable layers taken together (standard mult-adds over
    separable ones), at `digits` decimals, within `between`."""
    pairs = _pairs(evidence, params)
    if pairs.empty:
        return Finding("not_run", {"model": params["model"]})
    overall = float(pairs["standard_mult_adds"].sum() / pairs["separable_mult_adds"].sum())
    saving = 1 / pairs["measured_ratio"]
    low, high = params["between"]
    values = {"model": params["model"], "layers": len(pairs), "overall": overall}
    values |= {"least": float(saving.min()), "most": float(saving.max())}
    return Finding(_verdict(low <= round(overall, params["digits"]) <= high), values)


# ------------------------------------------------------------------ width and resolution
def _layers(evidence: Evidence, model: str, alpha: float, resolution: int) -> pd.DataFrame:
    layers = evidence.arch("layers")
    return layers[
        (layers["model"] == model) & (layers["alpha"] == alpha)
        & (layers["resolution"] == resolution) & (layers["classes"] == 1000)
        & (layers["kind"] != "dense")
    ].reset_index(drop=True)  # fmt: skip


FULL = {"alpha": 1.0, "resolution": 224}  # the reference width and side of the multipliers
MULTIPLIERS = {"width": "alpha", "resolution": "resolution"}


def _at(multiplier: str, value) -> dict:
    return FULL | {MULTIPLIERS[multiplier]: value}


@kind(
    "multiplier_scaling",
    required=("model", "multiplier", "at"),
    choices={"multiplier": MULTIPLIERS},
)
def multiplier_scaling(evidence: Evidence, params: dict, claim: dict) -> Finding:
    """Each layer at width alpha has alpha times the channels of width 1.0, rounded down;
    each feature map at side s has s / 224 times the side it has at 224 px."""
    model, multiplier = params["model"], params["multiplier"]
    full = _layers(evidence, model, **FULL)
    checked, off = 0, 0
    for value in params["at"]:
        other = _layers(evidence, model, **_at(multiplier, value))
        if len(other) != len(full):
            continue
        for a, b in zip(full["output_shape"], other["output_shape"], strict=True):
            checked += 1
            if multiplier == "width":
                off += _channels(b) != int(_channels(a) * value)
            else:
                off += _side(b)[0] != _side(a)[0] * value // FULL["resolution"]
    values = {"model": model, "multiplier": multiplier, "at": list(params["at"])}
    if not checked:
        return Finding("not_run", values)
    return Finding(_verdict(off == 0), values | {"layers": checked, "agreeing": checked - off})


def _series(evidence: Evidence, model: str, quantity: str, multiplier: str, at) -> list:
    """[[multiplier value, quantity]] for the values the architecture stage built."""
    out = []
    for value in at:
        try:
            row = evidence.stat(model, **_at(multiplier, value))
        except LookupError:
            continue
        out.append([value, float(row[quantity])])
    return out


def _constant(evidence: Evidence, params: dict) -> tuple[bool, dict]:
    """(every `constant` quantity takes one value along the multiplier, those values)."""
    # The reference (width 1.0, 224 px) counts too: constant means equal to it.
    at = [FULL[MULTIPLIERS[params["multiplier"]]], *params["at"]]
    seen = {
        q: sorted({x for _, x in _series(evidence, params["model"], q, params["multiplier"], at)})
        for q in params.get("constant") or []
    }
    return all(len(v) == 1 for v in seen.values()), seen


@kind(
    "monotone",
    required=("model", "multiplier", "at", "falling"),
    optional=("constant",),
    choices={"multiplier": MULTIPLIERS},
)
def monotone(evidence: Evidence, params: dict, claim: dict) -> Finding:
    """Each `falling` quantity falls strictly along `at` (widths or sides, largest first);
    each `constant` quantity does not change."""
    series = {
        q: _series(evidence, params["model"], q, params["multiplier"], params["at"])
        for q in params["falling"]
    }
    falling = all(a[1] > b[1] for s in series.values() for a, b in zip(s, s[1:], strict=False))
    constant, seen = _constant(evidence, params)
    values = {"model": params["model"], "multiplier": params["multiplier"], "series": series}
    return Finding(_verdict(falling and constant), values | {"constant": seen})


@kind(
    "ratio_to_law",
    required=("model", "multiplier", "at", "quantity", "law", "tolerance"),
    optional=("constant",),
    choices={"multiplier": MULTIPLIERS},
)
def ratio_to_law(evidence: Evidence, params: dict, claim: dict) -> Finding:
    """The quantity at each multiplier value over its value at width 1.0 / 224 px, against
    the law (a formula of the multiplier m = alpha or side / 224), within a factor of
    `tolerance` either way ("about", "roughly")."""
    model, multiplier = params["model"], params["multiplier"]
    full = float(evidence.stat(model, **FULL)[params["quantity"]])
    rows = []
    for value, x in _series(evidence, model, params["quantity"], multiplier, params["at"]):
        m = value if multiplier == "width" else value / FULL["resolution"]
        rows.append(
            {"at": value, "ratio": x / full, "law": float(formula(params["law"], {"m": m}))}
        )
    tol = params["tolerance"]
    close = bool(rows) and all(1 / tol <= r["ratio"] / r["law"] <= tol for r in rows)
    constant, seen = _constant(evidence, params)
    values = {"model": model, "multiplier": multiplier, "rows": rows, "constant": seen}
    return Finding(_verdict(close and constant), values)


@kind("reduction_factors", required=("model", "alpha", "factors"))
def reduction_factors(evidence: Evidence, params: dict, claim: dict) -> Finding:
    """At width `alpha`, each quantity is 1/factor of width 1.0's, the factor rounded."""
    full = evidence.stat(params["model"], **FULL)
    thin = evidence.stat(params["model"], **_at("width", params["alpha"]))
    shares = {q: float(thin[q]) / float(full[q]) for q in params["factors"]}
    holds = all(round(1 / shares[q]) == f for q, f in params["factors"].items())
    return Finding(_verdict(holds), {"model": params["model"], "shares": shares})


@kind("feature_shape", required=("model",), optional=("last_output", "channels"))
def feature_shape(evidence: Evidence, params: dict, claim: dict) -> Finding:
    """The first and last convolutions' outputs of the model at width 1.0 and 224 px:
    the last one's shape (`last_output`), or [first, last] channels (`channels`)."""
    layers = _layers(evidence, params["model"], **FULL)
    shapes = list(layers["output_shape"])
    values = {"model": params["model"], "last_output": shapes[-1]}
    values["channels"] = [_channels(shapes[0]), _channels(shapes[-1])]
    holds = all(values[k] == params[k] for k in ("last_output", "channels") if k in params)
    return Finding(_verdict(holds), values)


# ---------------------------------------------------------------- counts between models
def _stat(evidence: Evidence, spec: dict):
    return evidence.stat(spec["model"], 1.0, spec.get("resolution", 224))


@kind("threshold", required=("model", "quantity", "above"), optional=("resolution", "beside"))
def threshold(evidence: Evidence, params: dict, claim: dict) -> Finding:
    """A model's count above a threshold; `beside` names a model it is set against."""
    value = float(_stat(evidence, params)[params["quantity"]])
    values = {"model": params["model"], "quantity": params["quantity"], "value": value}
    if params.get("beside"):
        beside = float(evidence.stat(params["beside"], 1.0, 224)[params["quantity"]])
        values |= {"beside": params["beside"], "beside_value": beside}
    return Finding(_verdict(value > params["above"]), values)


@kind("fewer_than", required=("model", "than", "quantities"))
def fewer_than(evidence: Evidence, params: dict, claim: dict) -> Finding:
    """Model A (`{model, resolution}`) has fewer of every quantity than model B (`than`)."""
    a, b = _stat(evidence, params["model"]), _stat(evidence, params["than"])
    quantities = params["quantities"]
    values = {
        "model": params["model"] | {q: float(a[q]) for q in quantities},
        "than": params["than"] | {q: float(b[q]) for q in quantities},
    }
    return Finding(_verdict(all(a[q] < b[q] for q in quantities)), values)


@kind(
    "count_ratio",
    required=("numerator", "denominator", "quantity"),
    optional=("between", "rounds_to", "digits", "reads"),
)
def count_ratio(evidence: Evidence, params: dict, claim: dict) -> Finding:
    """numerator's count over denominator's: within `between` [low, high), or rounding to
    `rounds_to` at `digits` decimals ("almost twice", "80%")."""
    top = float(evidence.stat(params["numerator"], 1.0, 224)[params["quantity"]])
    bottom = float(evidence.stat(params["denominator"], 1.0, 224)[params["quantity"]])
    ratio = top / bottom
    holds = True
    if "between" in params:
        holds &= params["between"][0] <= ratio < params["between"][1]
    if "rounds_to" in params:
        holds &= round(ratio, params.get("digits", 0)) == params["rounds_to"]
    values = {"numerator": top, "denominator": bottom, "ratio": ratio}
    return Finding(_verdict(holds), values)


@kind("keras_agrees", required=("model",))
def keras_agrees(evidence: Evidence, params: dict, claim: dict) -> Finding:
    """Our builder's parameter count equals keras.applications' in every configuration."""
    stats = evidence.arch("stats")
    rows = stats[stats["model"] == params["model"]]
    equal = int((rows["keras_check"] == "equal").sum())
    values = {"model": params["model"], "equal": equal, "configurations": len(rows)}
    return Finding(_verdict(equal == len(rows) and len(rows) > 0), values)


READINGS = {
    "all": "params",
    "trainable": "trainable_params",
    "batch norm folded": "params_bn_folded",
    "no batch norm": "kernel_params",
    "batch norm after depthwise only": "params_bn_depthwise_only",
}
# The readings that leave batch norm out as the guess says: folded into biases, or not at all.
WITHOUT_BATCH_NORM = ("batch norm folded", "no batch norm")


@kind("count_readings", required=("printed", "classes", "unit"))
def count_readings(evidence: Evidence, params: dict, claim: dict) -> Finding:
    """Which reading of each model's weights gives its printed count at the printed unit,
    for the guess that the printed counts leave batch norm out. Reproduced when each printed
    count is a reading without batch norm (folded or none); not reproduced when one is all
    the weights or no reading; inconclusive when one is only a partial reading (trainable,
    or batch norm kept after depthwise convolutions alone), which leaves some batch-norm
    weights out but not as the guess says."""
    models, outcomes = [], set()
    for model, printed in params["printed"].items():
        s = evidence.stat(model, 1.0, 224, params["classes"])
        counts = {name: int(s[column]) for name, column in READINGS.items()}
        unit = params["unit"]
        hits = [k for k, v in counts.items() if round(v / unit) == round(printed / unit)]
        if not hits or "all" in hits:
            outcomes.add("not_reproduced")
        elif not set(hits) & set(WITHOUT_BATCH_NORM):
            outcomes.add("inconclusive")
        models.append({"model": model, "printed": printed, "counts": counts, "hits": hits})
    outcome = next((o for o in ("not_reproduced", "inconclusive") if o in outcomes), "reproduced")
    return Finding(outcome, {"classes": params["classes"], "models": models})


@kind("bias_for_batch_norm", required=("classes", "counts", "replaced_in"))
def bias_for_batch_norm(evidence: Evidence, params: dict, claim: dict) -> Finding:
    """Each model's weights, where in `replaced_in` a bias (1 weight a channel) stands in
    for each batch norm (4 a channel) that follows an ordinary convolution, against the
    counts the document prints (as a port of the network without those batch norms has):
    the counting stage's `params_bn_depthwise_only`."""
    ours, built = {}, {}
    for model in params["counts"]:
        stat = evidence.stat(model, 1.0, 224, params["classes"])
        built[model] = int(stat["params"])
        replaced = model in params["replaced_in"]
        ours[model] = int(stat["params_bn_depthwise_only"]) if replaced else built[model]
    holds = all(ours[m] == c for m, c in params["counts"].items())
    return Finding(_verdict(holds), {"classes": params["classes"], "built": built, "ours": ours})


def _printed_count(r) -> dict:
    """One compared cell of verdicts.csv: our count, the printed figure and its unit (a
    million for "2.9" in a column of millions), and our other counts that round to it too."""
    number, _ = parse_published(r.published_text)
    also = r.also_matches if isinstance(r.also_matches, str) and r.also_matches else ""
    return {
        "quantity": r.quantity,
        "printed": r.published_text,
        # A power of ten, so the report can name it (M for millions).
        "unit": 10.0 ** round(math.log10(float(r.published) / number)) if number else 1.0,
        "ours": float(r.ours),
        "matches": as_bool(r.matches),
        "also": also.split(";") if also else [],
    }


@kind("printed_counts", required=("table", "row"))
def printed_counts(evidence: Evidence, params: dict, claim: dict) -> Finding:
    """The counts one row of a published table prints for a network we build as the
    statement says, against ours at the printed precision (the architecture stage's
    comparison), naming for each which of our counts it is and which others round to it."""
    rows = evidence.arch("verdicts")
    rows = rows[(rows["table"] == params["table"]) & (rows["row"] == params["row"])]
    values = {"table": params["table"], "row": params["row"]}
    if rows.empty:
        return Finding("not_run", values)
    first = rows.iloc[0]
    values |= {
        "model": first["model"],
        "alpha": float(first["alpha"]),
        "resolution": int(first["resolution"]),
        "classes": int(first["classes"]),
        "counts": [_printed_count(r) for r in rows.itertuples()],
    }
    return Finding(_verdict(all(c["matches"] for c in values["counts"])), values)
