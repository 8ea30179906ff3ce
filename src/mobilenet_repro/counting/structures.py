"""The seed documents' architecture tables, derived from our built models, cell by cell."""

from __future__ import annotations

import re

import pandas as pd

from mobilenet_repro.counting.published import structure_spec

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
    """Every cell of the seed documents' architecture tables beside the one from our model."""
    out = []
    for st in published.get("structures", []):
        spec = structure_spec(st)
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
