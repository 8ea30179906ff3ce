"""Checks of structural claims: the layer graph (graph.csv) and the layer table."""

from __future__ import annotations

import pandas as pd

from mobilenet_repro.analysis.claims import Evidence, check

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
            return "reproduced", (
                f"Every nonlinearity of the built {LABELS[arch]} before its softmax "
                f"classifier is ReLU6 ({text})."
            )
        return "not_reproduced", f"The built {LABELS[arch]} uses {text}."

    return relu6_everywhere


check("cifar_mnv2.relu6")(_relu6_only("cifar_mobilenet_v2"))
check("explainer.relu6")(_relu6_only("mobilenet_v2"))
check("mnv1_notes.relu6")(_relu6_only("mobilenet_v1"))


@check("dogs.relu_except_final")
def rectifier_except_classifier(evidence: Evidence, claim: dict):
    # The MobileNets paper, whose wording the document repeats, also says ReLU for the
    # clipped ReLU6 its implementation (and Keras's) uses: a rectifier either way.
    acts = _hidden_activations(evidence.graph("mobilenet_v1")).value_counts()
    text = ", ".join(f"{n} {kind}" for kind, n in acts.items())
    if set(acts.index) <= {"relu", "relu6"}:
        return "reproduced", (
            f"Every layer of Keras's MobileNet V1 before its softmax classifier has a rectifier "
            f"({text}): ReLU6 is the clipped ReLU that the MobileNets paper's implementation "
            "uses under the name ReLU."
        )
    return "not_reproduced", f"Keras's MobileNet V1 uses {text} before its softmax classifier."


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
            f"none of its {len(stride2)} stride-2 blocks does"
        )
        if wrong or any(b["adds"] for b in stride2):
            return "not_reproduced", f"Blocks {', '.join(wrong)} break the rule."
        return "reproduced", text + "."

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
            "not_reproduced",
            f"{len(activated)} of {n} projections are followed by a nonlinearity.",
        )
    return "reproduced", (
        f"None of the {n} projection convolutions of the built MobileNetV2 is followed by a "
        "nonlinearity (batch norm only); its expansion and depthwise convolutions are followed "
        "by batch norm and ReLU6."
    )


@check("explainer.v2_two_features")
def linear_bottlenecks_and_shortcuts(evidence: Evidence, claim: dict):
    graph = evidence.graph("mobilenet_v2")
    n, activated = _linear_projections(graph)
    adds = sum(b["adds"] for b in _blocks(graph))
    verdict = "reproduced" if not activated and adds else "not_reproduced"
    return verdict, (
        f"The built MobileNetV2 has {n - len(activated)} linear projections of {n} and "
        f"{adds} shortcut additions between bottlenecks."
    )


def _three_convolutions(arch: str):
    def expansion_depthwise_projection(evidence: Evidence, claim: dict):
        blocks = _blocks(evidence.graph(arch))
        three = [b for b in blocks if b["expands"]]
        if len(three) == len(blocks):
            return "reproduced", (
                f"All {len(blocks)} bottleneck blocks of the built {LABELS[arch]} have a 1x1 "
                "expansion, a 3x3 depthwise and a 1x1 projection convolution."
            )
        others = [b["block"] for b in blocks if not b["expands"]]
        # A block with expansion factor 1 has nothing to expand: the MobileNetV2 paper's
        # implementation leaves its 1x1 expansion out, as Keras's does.
        verdict = (
            "reproduced"
            if len(others) <= 1 and blocks and not blocks[0]["expands"]
            else ("not_reproduced")
        )
        return verdict, (
            f"{len(three)} of the {len(blocks)} bottleneck blocks of the built {LABELS[arch]} "
            "have a 1x1 expansion, a 3x3 depthwise and a 1x1 projection convolution; the "
            "first, with expansion factor 1, has no expansion convolution, as in the "
            "MobileNetV2 paper's implementation."
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
        return "not_reproduced", f"{', '.join(missing)} have no batch norm after them."
    return "reproduced", (
        f"Each of the {len(convs)} convolutions of the built CIFAR-10 MobileNetV2 feeds a "
        "batch-normalization layer."
    )


@check("cifar_mnv2.no_dropout")
def no_dropout(evidence: Evidence, claim: dict):
    # The graph is what the builder makes of any configuration (its builder has no dropout
    # argument, so a model's `dropout` setting does not reach it).
    n = int((evidence.graph("cifar_mobilenet_v2")["class"] == "Dropout").sum())
    if n:
        return (
            "not_reproduced",
            f"The built CIFAR-10 MobileNetV2 has {n} dropout layers.",
        )
    return "reproduced", "The built CIFAR-10 MobileNetV2 has no dropout layer."


@check("dogs.dropout_and_batch_norm")
def dropout_and_batch_norm(evidence: Evidence, claim: dict):
    classes = evidence.graph("mobilenet_v1")["class"].value_counts()
    drop, bn = int(classes.get("Dropout", 0)), int(classes.get("BatchNormalization", 0))
    verdict = "reproduced" if drop and bn else "not_reproduced"
    return verdict, (
        f"Keras's MobileNet V1 as built here has {drop} dropout layer before its classifier "
        f"and {bn} batch-normalization layers: a check of Keras against itself."
    )


@check("explainer.inception_layers")
def inception_layer_types(evidence: Evidence, claim: dict):
    classes = set(evidence.graph("inception_v3")["class"])
    wanted = ["Conv2D", "AveragePooling2D", "MaxPooling2D", "Dense", "BatchNormalization"]
    words = {
        "Conv2D": "convolutions",
        "AveragePooling2D": "average pooling",
        "MaxPooling2D": "max pooling",
        "Dense": "a fully connected classifier",
        "BatchNormalization": "batch normalization",
    }
    lacking = [words[c] for c in wanted if c not in classes]
    if lacking:
        return "not_reproduced", f"Keras's Inception V3 has no {', '.join(lacking)}."
    if "Dropout" not in classes:
        # Keras's application is an inference build: it leaves out the paper's dropout
        # before the classifier (TF-slim's Inception V3 has it).
        return "not_reproduced", (
            "Keras's Inception V3 has convolutions, average and max pooling, batch "
            "normalization and a fully connected classifier, but no dropout layer: its "
            "inference build leaves out the dropout before the classifier that the Inception V3 "
            "paper's implementation has."
        )
    return "reproduced", (
        "Keras's Inception V3 has convolutions, average and max pooling, dropout, batch "
        "normalization and a fully connected classifier."
    )


@check("mnv1_notes.v2_17_blocks")
def seventeen_blocks(evidence: Evidence, claim: dict):
    graph = evidence.graph("mobilenet_v2").reset_index(drop=True)
    blocks = _blocks(graph)
    last_block = max(i for i, n in enumerate(graph["layer"]) if n.endswith("_project_BN"))
    tail = [c for c in graph["class"].iloc[last_block + 1 :] if c in TAIL_CLASSES]
    tail = [c for i, c in enumerate(tail) if i == 0 or c != tail[i - 1]]
    holds = len(blocks) == 17 and tail[:3] == ["Conv2D", "GlobalAveragePooling2D", "Dense"]
    return ("reproduced" if holds else "not_reproduced"), (
        f"Keras's MobileNetV2 has {len(blocks)} bottleneck blocks, then "
        + ", ".join(TAIL_CLASSES[c] for c in tail)
        + "."
    )


TAIL_CLASSES = {
    "Conv2D": "a convolution",
    "GlobalAveragePooling2D": "global average pooling",
    "Dense": "a fully connected classifier",
}


def _v1_layer_kinds(evidence: Evidence) -> pd.Series:
    """How many layers of each kind (conv, depthwise, pointwise, dense) 1.0 MobileNet-224 has."""
    layers = evidence.arch("layers")
    v1 = layers[
        (layers["model"] == "mobilenet_v1") & (layers["alpha"] == 1.0)
        & (layers["resolution"] == 224) & (layers["classes"] == 1000)
    ]  # fmt: skip
    return v1["kind"].value_counts()


@check("slides.depthwise_factorization", "slides.v1_first_layer_full")
def depthwise_factorization(evidence: Evidence, claim: dict):
    kinds = _v1_layer_kinds(evidence)
    conv, dw, pw = (int(kinds.get(k, 0)) for k in ("conv", "depthwise", "pointwise"))
    verdict = "reproduced" if conv == 1 and dw == pw > 0 else "not_reproduced"
    return verdict, (
        f"1.0 MobileNet-224 has {conv} standard convolution (the first layer) and {dw} "
        f"depthwise convolutions, each followed by a 1x1 pointwise one ({pw})."
    )


def _expansion(channels_in: int, channels_out: int):
    """'A block with `channels_in` input channels expands them to `channels_out`': on every
    such block of Keras's MobileNetV2, the expansion convolution's output channels."""

    def expansion(evidence: Evidence, claim: dict):
        graph = evidence.graph("mobilenet_v2")
        shapes = dict(zip(graph["layer"], graph["output_shape"], strict=True))
        inbound = dict(zip(graph["layer"], graph["inbound"].fillna(""), strict=True))
        widths = [
            int(shapes[name].split("x")[-1])
            for name in graph["layer"]
            if name.endswith("_expand")
            and int(shapes[inbound[name].split(";")[0]].split("x")[-1]) == channels_in
        ]
        if not widths:
            return "not_reproduced", f"Keras's MobileNetV2 has no block with {channels_in} inputs."
        holds = set(widths) == {channels_out}
        return ("reproduced" if holds else "not_reproduced"), (
            f"Each of the {len(widths)} blocks of Keras's MobileNetV2 with {channels_in} input "
            f"channels expands them to {', '.join(str(w) for w in sorted(set(widths)))}."
        )

    return expansion


check("explainer.expansion_64_to_384")(_expansion(64, 384))
check("mnv1_notes.v2_expansion_24_to_144")(_expansion(24, 144))


@check("mnv1_notes.v1_30_layers")
def thirty_layers(evidence: Evidence, claim: dict):
    # Table 1 lists 30 rows: the convolutions, the average pool, the fully connected layer and
    # the softmax; the MobileNets paper counts 28 (convolutions and the fully connected layer).
    kinds = _v1_layer_kinds(evidence)
    convs = sum(int(kinds.get(k, 0)) for k in ("conv", "depthwise", "pointwise"))
    dense = int(kinds.get("dense", 0))
    graph = evidence.graph("mobilenet_v1")
    pooled = int(graph["class"].isin(["GlobalAveragePooling2D", "AveragePooling2D"]).any())
    total = convs + dense + pooled + 1  # the softmax, a layer of Table 1
    return ("reproduced" if total == 30 else "not_reproduced"), (
        f"Keras's MobileNet V1 has {convs} convolutions, {pooled} average pool, {dense} fully "
        f"connected layer and a softmax: {total} layers when pooling and softmax count, as the "
        f"rows of Table 1 do ({convs + dense} by the MobileNets paper's count of weighted layers)."
    )
