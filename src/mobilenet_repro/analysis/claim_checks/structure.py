"""Kinds for structural claims: the layer graph (graph.csv) and the layer table of a built
network. Which network and what to count or test come from the claim's `check:` block."""

from __future__ import annotations

import pandas as pd

from mobilenet_repro.analysis.claims import Evidence
from mobilenet_repro.analysis.kinds import Finding, kind


def _verdict(holds: bool) -> str:
    return "reproduced" if holds else "not_reproduced"


def _hidden_activations(graph: pd.DataFrame) -> pd.Series:
    acts = graph["activation"].fillna("")
    return acts[(acts != "") & (acts != "softmax")]  # the classifier's softmax is no hidden one


@kind("graph_activations", required=("model", "allowed"))
def graph_activations(evidence: Evidence, params: dict, claim: dict) -> Finding:
    """Every nonlinearity before the softmax classifier is one of `allowed`."""
    acts = _hidden_activations(evidence.graph(params["model"])).value_counts()
    counts = {str(k): int(n) for k, n in acts.items()}
    holds = bool(counts) and set(counts) <= set(params["allowed"])
    return Finding(_verdict(holds), {"model": params["model"], "activations": counts})


@kind("graph_count", required=("model", "layers"), optional=("at_least", "at_most"))
def graph_count(evidence: Evidence, params: dict, claim: dict) -> Finding:
    """How many layers of each class in `layers` the network has: each at least `at_least`
    and at most `at_most`."""
    classes = evidence.graph(params["model"])["class"].value_counts()
    counts = {c: int(classes.get(c, 0)) for c in params["layers"]}
    holds = all(
        params.get("at_least", 0) <= n <= params.get("at_most", float("inf"))
        for n in counts.values()
    )
    return Finding(_verdict(holds), {"model": params["model"], "counts": counts})


@kind("graph_classes", required=("model", "present"), optional=("reference_omits",))
def graph_classes(evidence: Evidence, params: dict, claim: dict) -> Finding:
    """The network has a layer of every class in `present`. A class in `reference_omits` is
    one Keras's inference build leaves out although the paper's network has it (Inception
    V3's dropout): its absence is Keras's choice, not the document's error, so it does not
    count against the statement; our runs, built as Keras builds, deviate there."""
    classes = set(evidence.graph(params["model"])["class"])
    missing = [c for c in params["present"] if c not in classes]
    omitted = [c for c in missing if c in params.get("reference_omits", ())]
    lacking = [c for c in missing if c not in omitted]
    values = {"model": params["model"], "present": params["present"], "lacking": lacking}
    if omitted:
        values["omitted"] = omitted
    return Finding(_verdict(not lacking), values)


# ------------------------------------------------------------------ MobileNetV2 blocks
def _blocks(graph: pd.DataFrame) -> list[dict]:
    """Per bottleneck block: input and output shapes, stride and whether it adds its input."""
    shapes = dict(zip(graph["layer"], graph["output_shape"], strict=True))
    inbound = dict(zip(graph["layer"], graph["inbound"].fillna(""), strict=True))
    prefixes = [n[: -len("project")] for n in graph["layer"] if n.endswith("_project")]
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


def _residual(graph: pd.DataFrame, params: dict) -> tuple[bool, dict]:
    blocks = _blocks(graph)
    wrong = [b["block"] for b in blocks if b["adds"] != b["same_shape"]]
    stride2 = [b for b in blocks if b["stride"] == 2]
    wrong += [b["block"] for b in stride2 if b["adds"] and b["block"] not in wrong]
    adds = sum(b["adds"] for b in blocks)
    values = {"blocks": len(blocks), "adding": adds, "stride2": len(stride2), "breaking": wrong}
    return not wrong, values


def _projections(graph: pd.DataFrame, params: dict) -> tuple[bool, dict]:
    n, activated = _linear_projections(graph)
    return not activated, {"projections": n, "activated": activated}


def _projections_and_shortcuts(graph: pd.DataFrame, params: dict) -> tuple[bool, dict]:
    n, activated = _linear_projections(graph)
    adds = sum(b["adds"] for b in _blocks(graph))
    values = {"projections": n, "linear": n - len(activated), "shortcuts": adds}
    return not activated and adds > 0, values


def _three_convolutions(graph: pd.DataFrame, params: dict) -> tuple[bool, dict]:
    # A block with expansion factor 1 has nothing to expand: the MobileNetV2 paper's
    # implementation leaves its 1x1 expansion out, as Keras's does (only the first).
    blocks = _blocks(graph)
    others = [b["block"] for b in blocks if not b["expands"]]
    holds = not others or (len(others) <= 1 and bool(blocks) and not blocks[0]["expands"])
    return holds, {"blocks": len(blocks), "three": len(blocks) - len(others), "without": others}


def _batch_norm_after_conv(graph: pd.DataFrame, params: dict) -> tuple[bool, dict]:
    classes = dict(zip(graph["layer"], graph["class"], strict=True))
    convs = [n for n, c in classes.items() if c in ("Conv2D", "DepthwiseConv2D")]
    followed = set()
    for layer, inbound in zip(graph["layer"], graph["inbound"].fillna(""), strict=True):
        if classes[layer] == "BatchNormalization":
            followed.update(inbound.split(";"))
    missing = [c for c in convs if c not in followed]
    return not missing, {"convolutions": len(convs), "missing": missing}


def _blocks_then_tail(graph: pd.DataFrame, params: dict) -> tuple[bool, dict]:
    graph = graph.reset_index(drop=True)
    last_block = max(i for i, n in enumerate(graph["layer"]) if n.endswith("_project_BN"))
    wanted = params["tail"]
    tail = [c for c in graph["class"].iloc[last_block + 1 :] if c in wanted]
    tail = [c for i, c in enumerate(tail) if i == 0 or c != tail[i - 1]]
    blocks = len(_blocks(graph))
    return blocks == params["blocks"] and tail[: len(wanted)] == wanted, {
        "blocks": blocks,
        "tail": tail,
    }


def _expansion(graph: pd.DataFrame, params: dict) -> tuple[bool, dict]:
    shapes = dict(zip(graph["layer"], graph["output_shape"], strict=True))
    inbound = dict(zip(graph["layer"], graph["inbound"].fillna(""), strict=True))
    widths = [
        int(shapes[name].split("x")[-1])
        for name in graph["layer"]
        if name.endswith("_expand")
        and int(shapes[inbound[name].split(";")[0]].split("x")[-1]) == params["channels_in"]
    ]
    values = {"channels_in": params["channels_in"], "blocks": len(widths)}
    values["widths"] = sorted(set(widths))
    return bool(widths) and set(widths) == {params["channels_out"]}, values


# A property of a bottleneck network's graph: f(graph, params) -> (holds, values).
PROPERTIES = {
    "residual_where_shapes_agree": (_residual, ()),
    "linear_projections": (_projections, ()),
    "linear_projections_and_shortcuts": (_projections_and_shortcuts, ()),
    "three_convolutions_per_block": (_three_convolutions, ()),
    "batch_norm_after_every_convolution": (_batch_norm_after_conv, ()),
    "blocks_then_tail": (_blocks_then_tail, ("blocks", "tail")),
    "expansion": (_expansion, ("channels_in", "channels_out")),
}


@kind(
    "graph_property",
    required=("model", "property"),
    optional=("blocks", "tail", "channels_in", "channels_out"),
    choices={"property": PROPERTIES},
)
def graph_property(evidence: Evidence, params: dict, claim: dict) -> Finding:
    """A property of the network's layer graph, named by `property` (PROPERTIES), with the
    parameters that property takes."""
    test, needs = PROPERTIES[params["property"]]
    missing = [p for p in needs if p not in params]
    if missing:
        raise ValueError(
            f"claim {claim['id']}: graph property {params['property']} needs {missing}"
        )
    holds, values = test(evidence.graph(params["model"]), params)
    return Finding(_verdict(holds), {"model": params["model"], **values})


def _v1_layer_kinds(evidence: Evidence, model: str) -> dict:
    """How many layers of each kind (conv, depthwise, pointwise, dense) the model has at
    width 1.0 and 224 px."""
    layers = evidence.arch("layers")
    rows = layers[
        (layers["model"] == model) & (layers["alpha"] == 1.0)
        & (layers["resolution"] == 224) & (layers["classes"] == 1000)
    ]  # fmt: skip
    counts = rows["kind"].value_counts()
    return {k: int(counts.get(k, 0)) for k in ("conv", "depthwise", "pointwise", "dense")}


@kind("layer_kinds", required=("model", "standard"))
def layer_kinds(evidence: Evidence, params: dict, claim: dict) -> Finding:
    """`standard` ordinary convolutions (the first layer), then depthwise convolutions each
    followed by a pointwise one."""
    counts = _v1_layer_kinds(evidence, params["model"])
    holds = counts["conv"] == params["standard"] and counts["depthwise"] == counts["pointwise"] > 0
    return Finding(_verdict(holds), {"model": params["model"], "counts": counts})


@kind("layer_total", required=("model", "total"))
def layer_total(evidence: Evidence, params: dict, claim: dict) -> Finding:
    """The layers as a table of the network lists them: convolutions, the average pool, the
    fully connected layers and the softmax."""
    counts = _v1_layer_kinds(evidence, params["model"])
    convs = counts["conv"] + counts["depthwise"] + counts["pointwise"]
    graph = evidence.graph(params["model"])
    pooled = int(graph["class"].isin(["GlobalAveragePooling2D", "AveragePooling2D"]).any())
    total = convs + counts["dense"] + pooled + 1  # the softmax
    values = {"model": params["model"], "convolutions": convs, "dense": counts["dense"]}
    values |= {"pooling": pooled, "total": total}
    return Finding(_verdict(total == params["total"]), values)
