"""The checks of individual claims (claims.yaml), each reading pipeline output files.

Each check returns (verdict, one sentence of evidence with the numbers it read). Structural
claims read results/architectures/graph.csv (every layer with its class, nonlinearity and
inputs) and layers.csv; cost claims layers.csv, separable_ratios.csv and stats.csv; trained
claims runs.csv and the analysis tables. Verdicts follow claims.yaml `verdicts`: a relation
that holds only inside the test-set noise is `partly`, and so is anything shown only on an
analogue (another data set, a miniature).
"""

from __future__ import annotations

import math

import pandas as pd

from mobilenet_repro.analysis.claims import Evidence, check
from mobilenet_repro.analysis.noise import difference_interval

LABELS = {
    "cifar_mobilenet_v2": "CIFAR-10 MobileNetV2",
    "mobilenet_v1": "MobileNet V1",
    "mobilenet_v2": "MobileNetV2",
    "inception_v3": "Inception V3",
    "vgg16": "VGG16",
}
HEADS = ("Dense", "Activation")  # the classifier's softmax: not a hidden nonlinearity


def _hidden_activations(graph: pd.DataFrame) -> pd.Series:
    acts = graph["activation"].fillna("")
    return acts[(acts != "") & (acts != "softmax")]


def _relu6_only(arch: str):
    def relu6_everywhere(evidence: Evidence, claim: dict):
        acts = _hidden_activations(evidence.graph(arch)).value_counts()
        text = ", ".join(f"{n} {kind}" for kind, n in acts.items())
        if set(acts.index) == {"relu6"}:
            return "supported", (
                f"Every nonlinearity of the built {LABELS[arch]} before its softmax "
                f"classifier is ReLU6 ({text}; graph.csv)."
            )
        return "not_supported", f"The built {LABELS[arch]} uses {text} (graph.csv)."

    return relu6_everywhere


check("cifar_mnv2.relu6")(_relu6_only("cifar_mobilenet_v2"))
check("explainer.relu6")(_relu6_only("mobilenet_v2"))
check("mnv1_notes.relu6")(_relu6_only("mobilenet_v1"))


@check("dogs.relu_except_final")
def rectifier_except_classifier(evidence: Evidence, claim: dict):
    acts = _hidden_activations(evidence.graph("mobilenet_v1")).value_counts()
    text = ", ".join(f"{n} {kind}" for kind, n in acts.items())
    if set(acts.index) == {"relu"}:
        return "supported", f"Every layer before the softmax uses ReLU ({text}; graph.csv)."
    return "partly", (
        f"Every layer before the softmax classifier has a rectifier, but ReLU6, as Keras's "
        f"MobileNet that the document used has, not ReLU ({text}; graph.csv)."
    )


# ------------------------------------------------------------------ MobileNetV2 blocks
def _blocks(graph: pd.DataFrame) -> list[dict]:
    """Per bottleneck block: input and output shapes, stride and whether it adds its input."""
    shapes = dict(zip(graph["layer"], graph["output_shape"], strict=True))
    inbound = dict(zip(graph["layer"], graph["inbound"].fillna(""), strict=True))
    prefixes = []
    for name in graph["layer"]:
        if name.endswith("_project"):
            prefixes.append(name[: -len("project")])
    blocks = []
    for prefix in prefixes:
        first = f"{prefix}expand" if f"{prefix}expand" in shapes else f"{prefix}depthwise"
        source = inbound[first].split(";")[0]
        if source.endswith("_pad"):
            source = inbound[source]
        block_in = shapes[source]
        block_out = shapes[f"{prefix}project_BN"]
        h_in = int(block_in.split("x")[0])
        h_out = int(block_out.split("x")[0])
        blocks.append(
            {
                "block": prefix.rstrip("_"),
                "stride": 2 if h_out < h_in else 1,
                "same_shape": block_in == block_out,
                "adds": f"{prefix}add" in shapes,
                "expands": f"{prefix}expand" in shapes,
            }
        )
    return blocks


def _residual_rule(arch: str):
    def residual_where_shapes_agree(evidence: Evidence, claim: dict):
        blocks = _blocks(evidence.graph(arch))
        adds = sum(b["adds"] for b in blocks)
        wrong = [b["block"] for b in blocks if b["adds"] != b["same_shape"]]
        stride2 = [b for b in blocks if b["stride"] == 2]
        text = (
            f"{adds} of the {len(blocks)} bottleneck blocks of the built {LABELS[arch]} add "
            f"their input to their output, exactly those whose input and output shapes agree; "
            f"none of its {len(stride2)} stride-2 blocks does (graph.csv)"
        )
        if wrong or any(b["adds"] for b in stride2):
            return "not_supported", f"Blocks {', '.join(wrong)} break the rule (graph.csv)."
        return "supported", text + "."

    return residual_where_shapes_agree


check("cifar_mnv2.residual_connection")(_residual_rule("cifar_mobilenet_v2"))
check("explainer.stride2_no_residual", "mnv1_notes.v2_residual_rule")(
    _residual_rule("mobilenet_v2")
)


def _linear_projections(graph: pd.DataFrame) -> tuple[int, list[str]]:
    """(projections, those followed by a nonlinearity)."""
    consumers: dict[str, list[str]] = {}
    classes = dict(zip(graph["layer"], graph["class"], strict=True))
    for layer, inbound in zip(graph["layer"], graph["inbound"].fillna(""), strict=True):
        for source in inbound.split(";"):
            consumers.setdefault(source, []).append(layer)
    projections = [n for n in graph["layer"] if n.endswith("_project_BN")]
    activated = [
        p
        for p in projections
        if any(classes[c] in ("ReLU", "Activation") for c in consumers.get(p, []))
    ]
    return len(projections), activated


@check("mnv1_notes.v2_linear_projection", "explainer.linear_projection")
def linear_projection(evidence: Evidence, claim: dict):
    graph = evidence.graph("mobilenet_v2")
    n, activated = _linear_projections(graph)
    if activated:
        return (
            "not_supported",
            f"{len(activated)} of {n} projections are followed by a nonlinearity.",
        )
    return "supported", (
        f"None of the {n} projection convolutions of the built MobileNetV2 is followed by a "
        "nonlinearity (batch norm only); its expansion and depthwise convolutions are followed "
        "by batch norm and ReLU6 (graph.csv)."
    )


@check("explainer.v2_two_features")
def linear_bottlenecks_and_shortcuts(evidence: Evidence, claim: dict):
    graph = evidence.graph("mobilenet_v2")
    n, activated = _linear_projections(graph)
    adds = sum(b["adds"] for b in _blocks(graph))
    verdict = "supported" if not activated and adds else "not_supported"
    return verdict, (
        f"The built MobileNetV2 has {n - len(activated)} linear projections of {n} and "
        f"{adds} shortcut additions between bottlenecks (graph.csv)."
    )


def _three_convolutions(arch: str):
    def expansion_depthwise_projection(evidence: Evidence, claim: dict):
        blocks = _blocks(evidence.graph(arch))
        three = [b for b in blocks if b["expands"]]
        if len(three) == len(blocks):
            return "supported", (
                f"All {len(blocks)} bottleneck blocks of the built {LABELS[arch]} have a 1x1 "
                "expansion, a 3x3 depthwise and a 1x1 projection convolution (graph.csv)."
            )
        others = ", ".join(b["block"] for b in blocks if not b["expands"])
        return "partly", (
            f"{len(three)} of the {len(blocks)} bottleneck blocks of the built {LABELS[arch]} "
            f"have the three convolutions; {others} (expansion factor 1) has no expansion "
            "convolution (graph.csv)."
        )

    return expansion_depthwise_projection


check("cifar_mnv2.three_layers_per_block")(_three_convolutions("cifar_mobilenet_v2"))
check("mnv1_notes.v2_three_layer_block")(_three_convolutions("mobilenet_v2"))


@check("cifar_mnv2.batch_norm_after_every_conv")
def batch_norm_after_every_convolution(evidence: Evidence, claim: dict):
    graph = evidence.graph("cifar_mobilenet_v2")
    classes = dict(zip(graph["layer"], graph["class"], strict=True))
    convs = [n for n, c in classes.items() if c in ("Conv2D", "DepthwiseConv2D")]
    followed = set()
    for layer, inbound in zip(graph["layer"], graph["inbound"].fillna(""), strict=True):
        if classes[layer] == "BatchNormalization":
            followed.update(inbound.split(";"))
    missing = [c for c in convs if c not in followed]
    if missing:
        return "not_supported", f"{', '.join(missing)} have no batch norm after them (graph.csv)."
    return "supported", (
        f"Each of the {len(convs)} convolutions of the built CIFAR-10 MobileNetV2 feeds a "
        "batch-normalization layer (graph.csv)."
    )


@check("cifar_mnv2.no_dropout")
def no_dropout(evidence: Evidence, claim: dict):
    # The graph is what the builder makes of any configuration (its builder has no dropout
    # argument, so a model's `dropout` setting does not reach it).
    n = int((evidence.graph("cifar_mobilenet_v2")["class"] == "Dropout").sum())
    if n:
        return (
            "not_supported",
            f"The built CIFAR-10 MobileNetV2 has {n} dropout layers (graph.csv).",
        )
    return "supported", "The built CIFAR-10 MobileNetV2 has no dropout layer (graph.csv)."


@check("dogs.dropout_and_batch_norm")
def dropout_and_batch_norm(evidence: Evidence, claim: dict):
    classes = evidence.graph("mobilenet_v1")["class"].value_counts()
    drop, bn = int(classes.get("Dropout", 0)), int(classes.get("BatchNormalization", 0))
    verdict = "supported" if drop and bn else "not_supported"
    return verdict, (
        f"Keras's MobileNet V1 as built here has {drop} dropout layer before its classifier "
        f"and {bn} batch-normalization layers (graph.csv): a check of Keras against itself."
    )


@check("explainer.inception_layers")
def inception_layer_types(evidence: Evidence, claim: dict):
    classes = set(evidence.graph("inception_v3")["class"])
    wanted = [
        "Conv2D",
        "AveragePooling2D",
        "MaxPooling2D",
        "Dropout",
        "Dense",
        "BatchNormalization",
    ]
    have = [c for c in wanted if c in classes]
    lacking = [c for c in wanted if c not in classes]
    if not lacking:
        return "supported", f"The built Inception V3 has {', '.join(have)} layers (graph.csv)."
    return "partly", (
        f"The built Inception V3 (keras.applications') has {', '.join(have)} layers but no "
        f"{', '.join(lacking)} (graph.csv); the Inception V3 paper's network has dropout."
    )


@check("slides.depthwise_factorization")
def depthwise_factorization(evidence: Evidence, claim: dict):
    layers = evidence.arch("layers")
    v1 = layers[
        (layers["model"] == "mobilenet_v1") & (layers["alpha"] == 1.0)
        & (layers["resolution"] == 224) & (layers["classes"] == 1000)
    ]  # fmt: skip
    kinds = v1["kind"].value_counts()
    conv, dw, pw = (int(kinds.get(k, 0)) for k in ("conv", "depthwise", "pointwise"))
    verdict = "supported" if conv == 1 and dw == pw > 0 else "not_supported"
    return verdict, (
        f"1.0 MobileNet-224 has {conv} standard convolution (the first layer) and {dw} "
        f"depthwise convolutions, each followed by a 1x1 pointwise one ({pw}) (layers.csv)."
    )


# ------------------------------------------------------------------------- cost formulas
def _channels(shape: str) -> int:
    return int(str(shape).split("x")[-1])


def _side(shape: str) -> tuple[int, int]:
    h, w, _ = (int(d) for d in str(shape).split("x"))
    return h, w


def _formula_rows(evidence: Evidence, kind: str) -> pd.DataFrame:
    layers = evidence.arch("layers")
    rows = layers[layers["kind"] == kind].copy()
    k = rows["kernel"].str.split("x", expand=True).astype(int)
    hw = rows["output_shape"].map(_side)
    rows["kk"] = k[0] * k[1]
    rows["ff"] = [h * w for h, w in hw]
    rows["m"] = rows["input_shape"].map(_channels)
    rows["n"] = rows["output_shape"].map(_channels)
    return rows


def _anchor(evidence: Evidence) -> str:
    verdicts = evidence.arch("verdicts")
    row = verdicts[
        (verdicts["table"] == "seed001_table10")
        & (verdicts["row"] == "1.0 MobileNet-224")
        & (verdicts["quantity"] == "mult_adds")
    ]
    if row.empty:
        return ""
    r = row.iloc[0]
    return (
        f" Summed over 1.0 MobileNet-224 the counts give {r.ours_text}M mult-adds against the "
        f"MobileNets paper's {r.published_text}M (verdicts.csv), an independent check of the "
        "formulas."
    )


def _cost_formula(kind: str, formula, words: str):
    def cost_formula(evidence: Evidence, claim: dict):
        rows = _formula_rows(evidence, kind)
        expected = formula(rows)
        off = int((rows["mult_adds"] != expected).sum())
        if off:
            return "not_supported", f"{off} of {len(rows)} {words} differ from the formula."
        return "supported", (
            f"Our counter gives each of the {len(rows)} {words} of the built networks exactly "
            f"this count (layers.csv; stride 2: D_F is the output side).{_anchor(evidence)}"
        )

    return cost_formula


check("dogs.standard_conv_cost", "mnv1_notes.standard_conv_cost")(
    _cost_formula("conv", lambda r: r["kk"] * r["m"] * r["n"] * r["ff"], "standard convolutions")
)
check("dogs.depthwise_cost", "mnv1_notes.depthwise_cost")(
    _cost_formula("depthwise", lambda r: r["kk"] * r["m"] * r["ff"], "depthwise convolutions")
)
check("dogs.pointwise_cost", "mnv1_notes.pointwise_cost")(
    _cost_formula("pointwise", lambda r: r["m"] * r["n"] * r["ff"], "pointwise convolutions")
)


@check("cifar_mnv2.separable_cost_ratio", "dogs.separable_ratio", "mnv1_notes.separable_ratio")
def separable_ratio(evidence: Evidence, claim: dict):
    ratios = evidence.arch("separable_ratios")
    ok = ratios["matches"].astype(str).str.lower() == "true"
    worst = float(ratios["abs_error"].max())
    models = ratios["model"].nunique()
    verdict = "supported" if ok.all() else "not_supported"
    return verdict, (
        f"In {int(ok.sum())} of {len(ratios)} depthwise-pointwise pairs of {models} built "
        f"networks the mult-adds ratio to a standard convolution of the same shape is "
        f"1/N + 1/D_K^2 (largest difference {worst:.1g}; separable_ratios.csv); the formula "
        "is analytic."
    )


@check("mnv1_notes.ratio_any_stride")
def separable_ratio_strided(evidence: Evidence, claim: dict):
    ratios = evidence.arch("separable_ratios")
    layers = evidence.arch("layers")
    strided = set(
        zip(
            layers.loc[layers["strides"] == "2x2", "model"],
            layers.loc[layers["strides"] == "2x2", "layer"],
            strict=True,
        )
    )
    part = ratios[
        [(m, d) in strided for m, d in zip(ratios["model"], ratios["depthwise"], strict=True)]
    ]
    ok = part["matches"].astype(str).str.lower() == "true"
    if part.empty:
        return "not_testable", "No stride-2 depthwise-pointwise pair was built."
    verdict = "supported" if ok.all() else "not_supported"
    return verdict, (
        f"All {int(ok.sum())} of {len(part)} stride-2 depthwise-pointwise pairs of the built "
        "networks have the ratio 1/N + 1/D_K^2 (separable_ratios.csv, layers.csv)."
    )


@check("cifar_mnv2.separable_fewer_params")
def separable_fewer_params(evidence: Evidence, claim: dict):
    ratios = evidence.arch("separable_ratios")
    cifar = ratios[ratios["model"] == "cifar_mobilenet_v2"]
    saving = 1 / cifar["measured_ratio"]
    verdict = "supported" if (saving > 1).all() else "not_supported"
    return verdict, (
        f"Each of the {len(cifar)} depthwise-pointwise pairs of the CIFAR-10 MobileNetV2 has "
        f"{saving.min():.1f} to {saving.max():.1f} times fewer weights than a standard 3x3 "
        "convolution of the same shape (the parameter ratio equals the cost ratio; "
        "separable_ratios.csv)."
    )


@check("dogs.eight_to_nine_times")
def eight_to_nine_times(evidence: Evidence, claim: dict):
    ratios = evidence.arch("separable_ratios")
    k3 = ratios[ratios["kernel"] == 3]
    saving = 1 / k3["measured_ratio"]
    inside = int(((saving >= 8) & (saving <= 9)).sum())
    text = (
        f"{inside} of {len(k3)} 3x3 depthwise-pointwise pairs of the built networks cost 8 to "
        f"9 times less than a standard convolution; the saving runs from {saving.min():.1f} "
        f"to {saving.max():.2f} (below 8 where N < 72; separable_ratios.csv)"
    )
    if inside == len(k3):
        return "supported", text + "."
    return "partly", text + "."


# ------------------------------------------------------------------ width and resolution
def _v1(evidence: Evidence, alpha=1.0, resolution=224) -> pd.Series:
    return evidence.stat("mobilenet_v1", alpha, resolution)


def _v1_layers(evidence: Evidence, alpha: float, resolution: int) -> pd.DataFrame:
    layers = evidence.arch("layers")
    return layers[
        (layers["model"] == "mobilenet_v1") & (layers["alpha"] == alpha)
        & (layers["resolution"] == resolution) & (layers["classes"] == 1000)
        & (layers["kind"] != "dense")
    ].reset_index(drop=True)  # fmt: skip


@check("dogs.width_multiplier_channels")
def width_multiplier_channels(evidence: Evidence, claim: dict):
    full = _v1_layers(evidence, 1.0, 224)
    checked, off = 0, 0
    for alpha in (0.75, 0.5, 0.25):
        thin = _v1_layers(evidence, alpha, 224)
        if len(thin) != len(full):
            continue
        for a, b in zip(full["output_shape"], thin["output_shape"], strict=True):
            checked += 1
            off += _channels(b) != int(_channels(a) * alpha)
    if not checked:
        return "not_testable", "No thinner MobileNet V1 was built."
    verdict = "supported" if off == 0 else "not_supported"
    return verdict, (
        f"In MobileNet V1 at widths 0.75, 0.5 and 0.25, {checked - off} of {checked} layers have "
        "alpha times the channels of width 1.0, rounded down (layers.csv)."
    )


@check("dogs.resolution_multiplier_feature_maps", "dogs.resolution_shrinks_representation")
def resolution_multiplier_feature_maps(evidence: Evidence, claim: dict):
    full = _v1_layers(evidence, 1.0, 224)
    checked, off = 0, 0
    for side in (192, 160, 128):
        small = _v1_layers(evidence, 1.0, side)
        if len(small) != len(full):
            continue
        for a, b in zip(full["output_shape"], small["output_shape"], strict=True):
            checked += 1
            off += _side(b)[0] != _side(a)[0] * side // 224
    if not checked:
        return "not_testable", "No lower-resolution MobileNet V1 was built."
    verdict = "supported" if off == 0 else "not_supported"
    return verdict, (
        f"In MobileNet V1 at 192, 160 and 128 px, {checked - off} of {checked} feature maps "
        "have side rho times that at 224 px, rho = side / 224 (layers.csv)."
    )


def _series(evidence: Evidence, key: str, values, by: str) -> list[tuple[float, float]]:
    out = []
    for v in values:
        try:
            s = _v1(evidence, alpha=v) if by == "alpha" else _v1(evidence, resolution=v)
        except LookupError:
            continue
        out.append((v, float(s[key])))
    return out


def _millions(pairs, digits=2) -> str:
    return ", ".join(f"{v:g}: {x / 1e6:.{digits}f}M" for v, x in pairs)


@check("dogs.width_reduces_weights")
def width_reduces_weights(evidence: Evidence, claim: dict):
    params = _series(evidence, "trainable_params", (1.0, 0.75, 0.5, 0.25), "alpha")
    falling = all(a[1] > b[1] for a, b in zip(params, params[1:], strict=False))
    return ("supported" if falling else "not_supported"), (
        f"MobileNet V1-224's parameters by width ({_millions(params)}) fall with it (stats.csv)."
    )


@check("dogs.width_reduces_cost")
def width_reduces_cost(evidence: Evidence, claim: dict):
    params = _series(evidence, "trainable_params", (1.0, 0.75, 0.5, 0.25), "alpha")
    madds = _series(evidence, "mult_adds", (1.0, 0.75, 0.5, 0.25), "alpha")
    falling = all(a[1] > b[1] for s in (params, madds) for a, b in zip(s, s[1:], strict=False))
    return ("supported" if falling else "not_supported"), (
        f"MobileNet V1-224 by width: parameters {_millions(params)}; mult-adds "
        f"{_millions(madds, 0)} (stats.csv)."
    )


@check("dogs.resolution_reduces_madds")
def resolution_reduces_madds(evidence: Evidence, claim: dict):
    madds = _series(evidence, "mult_adds", (224, 192, 160, 128), "resolution")
    params = {
        x for _, x in _series(evidence, "trainable_params", (224, 192, 160, 128), "resolution")
    }
    falling = all(a[1] > b[1] for a, b in zip(madds, madds[1:], strict=False))
    verdict = "supported" if falling and len(params) == 1 else "not_supported"
    return verdict, (
        f"1.0 MobileNet V1 by resolution: mult-adds {_millions(madds, 0)}; parameters "
        f"{', '.join(f'{p:,.0f}' for p in sorted(params))} at every resolution (stats.csv)."
    )


@check("mnv1_notes.width_alpha_squared")
def width_alpha_squared(evidence: Evidence, claim: dict):
    full = float(_v1(evidence)["mult_adds"])
    rows = [(a, m / full) for a, m in _series(evidence, "mult_adds", (0.75, 0.5, 0.25), "alpha")]
    text = "; ".join(f"alpha {a:g}: {r:.3f} against alpha^2 = {a * a:.3f}" for a, r in rows)
    close = all(abs(r / (a * a) - 1) <= 0.15 for a, r in rows)
    return ("supported" if close else "partly"), (
        f"MobileNet V1-224's mult-adds relative to width 1.0: {text} (stats.csv); about "
        "alpha^2, as claimed (the first layer, the depthwise terms and the classifier scale "
        "as alpha)."
    )


@check("mnv1_notes.resolution_rho_squared")
def resolution_rho_squared(evidence: Evidence, claim: dict):
    full = float(_v1(evidence)["mult_adds"])
    rows = [(s, m / full) for s, m in _series(evidence, "mult_adds", (192, 160, 128), "resolution")]
    text = "; ".join(f"{s} px: {r:.3f} against rho^2 = {(s / 224) ** 2:.3f}" for s, r in rows)
    params = {
        x for _, x in _series(evidence, "trainable_params", (224, 192, 160, 128), "resolution")
    }
    close = all(abs(r / (s / 224) ** 2 - 1) <= 0.02 for s, r in rows) and len(params) == 1
    return ("supported" if close else "partly"), (
        f"1.0 MobileNet V1's mult-adds relative to 224 px: {text}; its parameters do not change "
        "(stats.csv)."
    )


@check("mnv1_notes.half_width_factors")
def half_width_factors(evidence: Evidence, claim: dict):
    full, half = _v1(evidence), _v1(evidence, alpha=0.5)
    m = float(half["mult_adds"]) / float(full["mult_adds"])
    p = float(half["trainable_params"]) / float(full["trainable_params"])
    holds = round(1 / m) == 4 and round(1 / p) == 3
    return ("supported" if holds else "not_supported"), (
        f"0.5 MobileNet V1-224 has {m:.3f} of width 1.0's mult-adds (1/{1 / m:.1f}) and "
        f"{p:.3f} of its parameters (1/{1 / p:.1f}); parameters do not scale as alpha^2 = 0.25 "
        "(stats.csv)."
    )


@check("mnv1_notes.output_7x7x1024")
def output_7x7x1024(evidence: Evidence, claim: dict):
    last = _v1_layers(evidence, 1.0, 224)["output_shape"].iloc[-1]
    return ("supported" if last == "7x7x1024" else "not_supported"), (
        f"1.0 MobileNet V1-224's last convolution outputs {last.replace('x', ' x ')} (layers.csv)."
    )


@check("mnv1_notes.channels_32_to_1024")
def channels_32_to_1024(evidence: Evidence, claim: dict):
    layers = _v1_layers(evidence, 1.0, 224)
    first, last = (
        _channels(layers["output_shape"].iloc[0]),
        _channels(layers["output_shape"].iloc[-1]),
    )
    return ("supported" if (first, last) == (32, 1024) else "not_supported"), (
        f"1.0 MobileNet V1's first layer has {first} channels and its last {last} (layers.csv)."
    )


@check("mnv1_notes.vgg_over_130m")
def vgg_over_130m(evidence: Evidence, claim: dict):
    vgg = float(evidence.stat("vgg16", 1.0, 224)["trainable_params"])
    v1 = float(_v1(evidence)["trainable_params"])
    return ("supported" if vgg > 130e6 else "not_supported"), (
        f"VGG16 has {vgg / 1e6:.1f}M parameters, {vgg / v1:.0f} times MobileNet V1's "
        f"{v1 / 1e6:.2f}M (stats.csv)."
    )


@check("explainer.inception_cheaper_than_vgg")
def inception_cheaper_than_vgg(evidence: Evidence, claim: dict):
    inc = evidence.stat("inception_v3", 1.0, 299)
    vgg = evidence.stat("vgg16", 1.0, 224)
    fewer = (
        inc["trainable_params"] < vgg["trainable_params"] and inc["mult_adds"] < vgg["mult_adds"]
    )
    return ("supported" if fewer else "not_supported"), (
        f"Inception V3 (299 px): {inc['trainable_params'] / 1e6:.1f}M parameters, "
        f"{inc['mult_adds'] / 1e9:.2f}G mult-adds; VGG16 (224 px): "
        f"{vgg['trainable_params'] / 1e6:.1f}M, {vgg['mult_adds'] / 1e9:.2f}G (stats.csv)."
    )


@check("slides.problems_computationally_limited")
def computationally_limited(evidence: Evidence, claim: dict):
    v1 = _v1(evidence)
    heavy = [
        (LABELS[a], evidence.stat(a, 1.0, r)) for a, r in (("vgg16", 224), ("inception_v3", 299))
    ]
    text = "; ".join(
        f"{name} {s['mult_adds'] / v1['mult_adds']:.0f} times MobileNet V1's mult-adds and "
        f"{s['trainable_params'] / v1['trainable_params']:.1f} times its parameters"
        for name, s in heavy
    )
    return "partly", (
        f"{text} (stats.csv); what a limited platform can afford is not stated, so the claim "
        "holds only as a relative one."
    )


@check("dogs.tensorflow_implementation")
def keras_implementation(evidence: Evidence, claim: dict):
    stats = evidence.arch("stats")
    v1 = stats[stats["model"] == "mobilenet_v1"]
    equal = int((v1["keras_check"] == "equal").sum())
    verdict = "supported" if equal == len(v1) else "not_supported"
    return verdict, (
        f"Our MobileNet V1 builder has keras.applications' parameter count in {equal} of "
        f"{len(v1)} configurations (stats.csv): a check of Keras against itself, not of the "
        "document's runs."
    )


@check("mnv1_notes.count_gap_batch_norm")
def count_gap_batch_norm(evidence: Evidence, claim: dict):
    parts = []
    supported = True
    for arch, printed in (("mobilenet_v1", 4.24e6), ("mobilenet_v2", 3.47e6)):
        s = evidence.stat(arch, 1.0, 224, 1001)
        readings = {
            "all": s["params"],
            "trainable": s["trainable_params"],
            "batch norm folded": s["params_bn_folded"],
            "no batch norm": s["kernel_params"],
        }
        hits = [k for k, v in readings.items() if round(v / 1e4) == round(printed / 1e4)]
        supported &= bool(hits) and "all" not in hits
        shown = ", ".join(f"{k} {v:,.0f}" for k, v in readings.items())
        parts.append(
            f"{LABELS[arch]} (1,001 classes): {shown}; {printed / 1e6:.2f}M is "
            + (f"the count {' or '.join(hits)}" if hits else "none of them")
        )
    return ("supported" if supported else "partly"), "; ".join(parts) + " (stats.csv)."


# ----------------------------------------------------------------------------- recipes
def _recipes(evidence: Evidence, claim: dict) -> list[tuple[str, dict]]:
    from mobilenet_repro.analysis.claims import running_experiments

    out = []
    for exp in running_experiments(claim, evidence):
        name = evidence.experiments()[exp]["recipe"]
        out.append((exp, evidence.config["recipes"][name]))
    return out


@check("cifar_mnv2.rmsprop")
def rmsprop(evidence: Evidence, claim: dict):
    recipes = _recipes(evidence, claim)
    used = {exp: r["optimizer"] for exp, r in recipes}
    follows = all(o == "rmsprop" for o in used.values())
    text = ", ".join(f"{e}: {o}" for e, o in used.items())
    if follows:
        return "supported", f"Our runs of its network use RMSProp ({text})."
    return "not_supported", f"Our runs use another optimizer ({text}); see the recipe table."


@check("cifar_mnv2.warmup_cosine")
def warmup_cosine(evidence: Evidence, claim: dict):
    recipes = _recipes(evidence, claim)
    text = ", ".join(
        f"{e}: {r.get('warmup_epochs') or 0:g} warm-up epochs then {r['schedule']} over "
        f"{r.get('epochs')} epochs"
        for e, r in recipes
    )
    follows = all(
        r["schedule"] == "cosine" and ((r.get("warmup_epochs") or 0) > 0 or r.get("warmup_steps"))
        for _, r in recipes
    )
    return ("supported" if follows else "not_supported"), (
        f"Our runs of its network follow the shape ({text}); the peak rate, warm-up length and "
        "epochs are ours, since Fig. 5 gives no numbers."
    )


@check("cifar_mnv2.far_exceeds_contemporaries")
def far_exceeds_contemporaries(evidence: Evidence, claim: dict):
    return "not_testable", (
        "The document states no accuracy of its own and names no contemporary model's; our "
        "runs of its network give its accuracy here (the accuracy section), but 'far exceeds' "
        "has no number to test against."
    )


# -------------------------------------------------------------- trained comparisons
def _model_accuracies(evidence: Evidence, experiment: str) -> pd.DataFrame:
    runs = evidence.runs
    runs = runs[runs["experiment"] == experiment]
    if "test_images" not in runs:
        runs = runs.assign(test_images=math.nan)
    return (
        runs.groupby("model", sort=False)
        .agg(
            arch=("arch", "first"),
            alpha=("alpha", "first"),
            resolution=("resolution", "first"),
            params=("params", "first"),
            top1=("test_top1", "mean"),
            seeds=("seed", "count"),
            n=("test_images", "first"),
            classes=("classes", "first"),
        )
        .reset_index()
    )


def _relation(big: pd.Series, small: pd.Series) -> tuple[str, str]:
    """(outcome, text) of 'big is more accurate than small' with the test-set noise."""
    n1 = int(big["n"] * big["seeds"]) if big["n"] == big["n"] else 0
    n2 = int(small["n"] * small["seeds"]) if small["n"] == small["n"] else 0
    diff = (big["top1"] - small["top1"]) * 100
    if not (n1 and n2):
        return "tied", f"{diff:+.1f} points (no test-set size recorded)"
    lo, hi = difference_interval(big["top1"], n1, small["top1"], n2)
    text = (
        f"{big['model']} {big['top1']:.1%} against {small['model']} {small['top1']:.1%}: "
        f"{diff:+.1f} points, 95% interval {lo * 100:+.1f} to {hi * 100:+.1f} "
        f"({big['seeds']} and {small['seeds']} seeds of {int(big['n'])} test images)"
    )
    if lo > 0:
        return "holds", text
    if hi < 0:
        return "reversed", text
    return "tied", text


def _size_relation(evidence: Evidence, claim: dict, vary: str, analogue: bool):
    from mobilenet_repro.analysis.claims import running_experiments

    texts, outcomes = [], []
    for exp in running_experiments(claim, evidence):
        table = _model_accuracies(evidence, exp)
        table = table[table["arch"] == "mobilenet_v1"] if "arch" in table else table
        fixed = "alpha" if vary == "resolution" else "resolution"
        for _, group in table.groupby(fixed):
            if len(group) < 2:
                continue
            group = group.sort_values(vary)
            outcome, text = _relation(group.iloc[-1], group.iloc[0])
            outcomes.append(outcome)
            texts.append(f"{exp}: {text}")
    if not outcomes:
        return "not_testable", "No pair of MobileNet V1 runs differing only in " + vary + "."
    if all(o == "holds" for o in outcomes):
        verdict = "partly" if analogue else "supported"
    elif any(o == "reversed" for o in outcomes):
        verdict = "not_supported"
    else:
        verdict = "partly"
    words = {"holds": "holds", "tied": "tied within noise", "reversed": "reversed"}
    summary = ", ".join(sorted({words[o] for o in outcomes}))
    lead = (
        "On an analogue (another data set, trained from scratch), the relation "
        if analogue
        else "The relation "
    )
    return verdict, f"{lead}{summary}: " + "; ".join(texts) + "."


@check("mnv1_notes.smaller_less_accurate")
def smaller_less_accurate(evidence: Evidence, claim: dict):
    return _size_relation(evidence, claim, "params", analogue=False)


@check("dogs.accuracy_falls_with_size")
def accuracy_falls_with_size(evidence: Evidence, claim: dict):
    analogue = "stanford_dogs" not in set(evidence.runs.get("dataset", []))
    return _size_relation(evidence, claim, "params", analogue=analogue)


@check("dogs.accuracy_falls_with_resolution")
def accuracy_falls_with_resolution(evidence: Evidence, claim: dict):
    analogue = "stanford_dogs" not in set(evidence.runs.get("dataset", []))
    return _size_relation(evidence, claim, "resolution", analogue=analogue)


# -------------------------------------------------- the slides' plan (seed002 analyses)
def _seed002(evidence: Evidence, claim: dict, table: str) -> tuple[str, pd.DataFrame | None]:
    from mobilenet_repro.analysis.claims import running_experiments

    for exp in running_experiments(claim, evidence):
        frame = evidence.analysis(exp, table)
        if frame is not None:
            return exp, frame
    return "", None


def _miniature(exp: str, frame: pd.DataFrame) -> str:
    data = frame["dataset"].iloc[0] if "dataset" in frame else "its data"
    seeds = int(frame["seeds"].max()) if "seeds" in frame else 0
    return f"In miniature (experiment {exp}, {data}, {seeds} seed{'s' if seeds != 1 else ''})"


@check("slides.question_fully_trained")
def question_fully_trained(evidence: Evidence, claim: dict):
    exp, frame = _seed002(evidence, claim, "fully_trained")
    if frame is None:
        return "not_testable", "The plan's experiment produced no fully-trained table."
    answer = ", ".join(f"{r.model} {r.test_top1_mean:.1%}" for r in frame.itertuples())
    return "partly", f"{_miniature(exp, frame)}: test top-1 {answer} (fully_trained.csv)."


@check("slides.question_iterations")
def question_iterations(evidence: Evidence, claim: dict):
    exp, frame = _seed002(evidence, claim, "steps_to_accuracy")
    if frame is None:
        return "not_testable", "The plan's experiment produced no steps-to-accuracy table."
    target = float(frame["target"].iloc[0])
    answer = ", ".join(
        f"{r.model} {r.steps_mean:,.0f} steps"
        if r.reached == r.seeds
        else f"{r.model} not every seed"
        for r in frame.itertuples()
    )
    return "partly", (
        f"{_miniature(exp, frame)}, steps to {target:.0%} validation accuracy: {answer} "
        "(steps_to_accuracy.csv)."
    )


def _gaps(frame: pd.DataFrame) -> pd.DataFrame:
    smallest = frame[frame["per_class"] == frame["per_class"].min()]
    return smallest


@check("slides.question_small_dataset")
def question_small_dataset(evidence: Evidence, claim: dict):
    exp, frame = _seed002(evidence, claim, "training_set_size")
    if frame is None:
        return "not_testable", "The plan's experiment produced no training-set-size table."
    small = _gaps(frame)
    answer = ", ".join(f"{r.model} {r.test_top1_mean:.1%}" for r in small.itertuples())
    return "partly", (
        f"{_miniature(exp, frame)}, test top-1 on the smallest training set "
        f"({int(small['train_images'].iloc[0])} images): {answer} (training_set_size.csv)."
    )


def _is_mobilenet(model: str) -> bool:
    return "mobilenet" in model.lower()


@check(
    "slides.problems_large_data",
    "slides.problems_overfitting",
    "mnv1_notes.separable_less_overfitting",
)
def larger_networks_need_more_data(evidence: Evidence, claim: dict):
    exp, frame = _seed002(evidence, claim, "training_set_size")
    if frame is None:
        return "not_testable", "The plan's experiment produced no training-set-size table."
    small = _gaps(frame)
    mobile = small[[_is_mobilenet(m) for m in small["model"]]]
    others = small[[not _is_mobilenet(m) for m in small["model"]]]
    if mobile.empty or others.empty:
        return "not_testable", "The experiment lacks a MobileNet or a larger network."
    column = "gap_mean" if claim["id"] != "slides.problems_large_data" else "test_top1_mean"
    words = "train-test gap" if column == "gap_mean" else "test top-1"
    text = ", ".join(f"{r.model} {getattr(r, column):.1%}" for r in small.itertuples())
    better = (
        mobile[column].max() < others[column].min()
        if column == "gap_mean"
        else mobile[column].min() > others[column].max()
    )
    verdict = "partly" if better else "not_supported"
    return verdict, (
        f"{_miniature(exp, frame)}, {words} on the smallest training set: {text} "
        f"(training_set_size.csv); {'as claimed' if better else 'not as claimed'}, "
        "without an interval over so few seeds."
    )


@check("cifar_mnv2.low_compute_high_accuracy")
def low_compute_high_accuracy(evidence: Evidence, claim: dict):
    from mobilenet_repro.analysis.claims import running_experiments

    texts = []
    for exp in running_experiments(claim, evidence):
        for r in _model_accuracies(evidence, exp).itertuples():
            texts.append(f"{r.model}: {r.top1:.1%} test top-1 ({r.seeds} seeds)")
    cifar = evidence.stat("cifar_mobilenet_v2", 1.0, 32, 10)
    return "partly", (
        f"Its network costs {cifar['mult_adds'] / 1e6:.0f}M mult-adds at width 1.0 (stats.csv); "
        + ("; ".join(texts) + ". " if texts else "")
        + "'Low' and 'high' are not quantified, and no ablation of the four parts is run."
    )


# ------------------------------------------- the Stanford Dogs transfer protocol, as run
def _transfer(evidence: Evidence, claim: dict) -> list[tuple[str, dict, list[dict]]]:
    """(experiment, recipe, its models' configurations) of the runs testing the claim."""
    from mobilenet_repro.analysis.claims import running_experiments

    out = []
    for exp in running_experiments(claim, evidence):
        spec = evidence.experiments()[exp]
        models = [evidence.config["models"][m] for m in spec["models"]]
        out.append((exp, evidence.config["recipes"][spec["recipe"]], models))
    return out


def _on(evidence: Evidence, claim: dict) -> str:
    """Where the protocol ran: Stanford Dogs itself, or an analogue."""
    data = {
        d
        for exp, _, _ in _transfer(evidence, claim)
        for d in evidence.experiments()[exp]["datasets"]
    }
    sources = {evidence.config["datasets"][d]["source"] for d in data}
    return (
        ""
        if "stanford_dogs" in sources
        else f" (run on {', '.join(sorted(data))}, not Stanford Dogs)"
    )


def _recipe_claim(test, holds: str, fails: str):
    def recipe_as_written(evidence: Evidence, claim: dict):
        runs = _transfer(evidence, claim)
        ok = all(test(recipe, models) for _, recipe, models in runs)
        return ("supported" if ok else "not_supported"), (holds if ok else fails) + _on(
            evidence, claim
        ) + "."

    return recipe_as_written


check("dogs.preprocessing")(
    _recipe_claim(
        lambda r, m: r["augment"] == "none",
        "Our runs only resize the images and apply keras.applications' preprocess_input: "
        "no augmentation",
        "Our runs augment the training images, which the report does not",
    )
)
check("dogs.imagenet_weights")(
    _recipe_claim(
        lambda r, m: all(x.get("weights") == "imagenet" for x in m),
        "Every base starts from keras.applications' ImageNet weights (each run's metrics.json "
        "records the file and its sha256)",
        "Some base does not start from ImageNet weights",
    )
)
check("dogs.frozen_base")(
    _recipe_claim(
        lambda r, m: bool(r["freeze_base"]),
        "The base is frozen (batch norm in inference mode) and only the new head trains",
        "The base is not frozen",
    )
)
check("dogs.thirty_epochs")(
    _recipe_claim(
        lambda r, m: r["epochs"] == 30,
        "Every run trains 30 epochs",
        "Our runs do not train 30 epochs",
    )
)
check("dogs.optimizer_hyperparameters")(
    _recipe_claim(
        lambda r, m: r["optimizer"] == "adam",
        "Adam, whose settings are the named learning rate, beta_1 and beta_2; the values are "
        "Keras's defaults, chosen here since none is stated",
        "Our runs do not use Adam",
    )
)
check("dogs.dynamic_learning_rate")(
    _recipe_claim(
        lambda r, m: r["schedule"] != "constant",
        "The learning rate changes during training (one warm-up epoch then cosine decay, our "
        "choice: the schedule is not stated)",
        "Our runs keep the learning rate constant",
    )
)


@check("dogs.top_five_dense_layers")
def five_dense_layers(evidence: Evidence, claim: dict):
    return "not_supported", (
        "Our head is global average pooling and one dense layer: the five layers' widths are "
        f"not stated, so they are not built{_on(evidence, claim)}."
    )


def _curves(evidence: Evidence, claim: dict) -> pd.DataFrame | None:
    frames = [evidence.histories(exp) for exp, _, _ in _transfer(evidence, claim)]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return None
    return pd.concat(frames).groupby("epoch")[["accuracy", "val_accuracy"]].mean()


@check("dogs.curve_fast_first_7_epochs")
def fast_first_seven_epochs(evidence: Evidence, claim: dict):
    curve = _curves(evidence, claim)
    if curve is None or len(curve) < 8:
        return "not_testable", "No run of the protocol has 8 epochs or more."
    first, seventh, last = (curve["accuracy"].iloc[i] * 100 for i in (0, 6, -1))
    early, late = (seventh - first) / 6, (last - seventh) / max(1, len(curve) - 7)
    holds = early > 2 * late
    return ("partly" if holds else "not_supported"), (
        f"Training accuracy (mean over seeds) rises {early:.2f} points an epoch over epochs "
        f"1-7 and {late:.2f} after{_on(evidence, claim)}; "
        + (
            "fast then slow, as claimed, though not on its data set"
            if holds
            else "not faster at first"
        )
        + "."
    )


@check("dogs.train_accuracy_near_100")
def train_accuracy_near_100(evidence: Evidence, claim: dict):
    curve = _curves(evidence, claim)
    if curve is None or len(curve) < 10:
        return "not_testable", "No run of the protocol has 10 epochs or more."
    low = curve["accuracy"].iloc[9:].min() * 100
    verdict = "partly" if low >= 95 else "not_supported"
    return verdict, (
        f"From epoch 10 on, training accuracy (mean over seeds) is at least {low:.1f}%"
        f"{_on(evidence, claim)}: {'near' if low >= 95 else 'not near'} 100%; a frozen base "
        "with one dense layer has far fewer weights to fit with than their five."
    )


@check("dogs.validation_plateau")
def validation_plateau(evidence: Evidence, claim: dict):
    curve = _curves(evidence, claim)
    if curve is None or len(curve) < 8:
        return "not_testable", "No run of the protocol has 8 epochs or more."
    rise = (curve["val_accuracy"].iloc[-1] - curve["val_accuracy"].iloc[6]) * 100
    gap = (curve["accuracy"].iloc[-1] - curve["val_accuracy"].iloc[-1]) * 100
    holds = rise < 3 and gap > 0
    return ("partly" if holds else "not_supported"), (
        f"After epoch 7 validation accuracy rises {rise:+.1f} points to the last epoch, where it "
        f"is {gap:.1f} points below training accuracy{_on(evidence, claim)}."
    )
