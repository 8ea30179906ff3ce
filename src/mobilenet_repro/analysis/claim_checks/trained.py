"""Kinds for trained claims and training protocols: our runs' fidelity to a recipe,
relations between accuracies with the test set's noise, the slides' plan and the Stanford
Dogs learning curves as run. A result measured on other data, another network or budget
than the claim's is not comparable as run, with both the difference and our numbers."""

from __future__ import annotations

import math

import pandas as pd

from mobilenet_repro.analysis.claims import Evidence, running_experiments
from mobilenet_repro.analysis.kinds import Finding, kind
from mobilenet_repro.analysis.noise import (
    MIN_SEEDS_FOR_STD,
    combined_interval,
    means_difference,
)
from mobilenet_repro.training.diagnosis import learned


def _models(evidence: Evidence, exp: str) -> list[dict]:
    return [evidence.config["models"][m] for m in evidence.experiments()[exp]["models"]]


def _datasets(evidence: Evidence, experiments) -> list[str]:
    return sorted({d for exp in experiments for d in evidence.experiments()[exp]["datasets"]})


def _sources(evidence: Evidence, experiments) -> set[str]:
    datasets = evidence.config["datasets"]
    return {datasets[d]["source"] for d in _datasets(evidence, experiments)}


# ----------------------------------------------------------------------------- recipes
def _recipe_follows(recipe: dict, models: list[dict], params: dict) -> bool:
    if params.get("followable") is False:
        return False
    ok = all(recipe.get(k) == v for k, v in (params.get("equals") or {}).items())
    ok &= all(recipe.get(k) != v for k, v in (params.get("differs") or {}).items())
    if params.get("positive"):
        ok &= any((recipe.get(k) or 0) > 0 for k in params["positive"])
    ok &= all(m.get(k) == v for m in models for k, v in (params.get("models") or {}).items())
    return bool(ok)


@kind(
    "recipe",
    required=("followed", "deviated"),
    optional=("equals", "differs", "positive", "models", "followable", "data"),
)
def recipe(evidence: Evidence, params: dict, claim: dict) -> Finding:
    """Fidelity: every recipe of the claim's experiments has the `equals` settings, not the
    `differs` ones, one of the `positive` settings above zero, and models with the `models`
    settings (`followable: false`: the statement cannot be built as written). `followed` and
    `deviated` are the report's words for each outcome; `data` the source the statement is
    about, where our runs may use an analogue."""
    experiments = running_experiments(claim, evidence)
    if not experiments:
        return Finding("not_run", {})
    keys = [*(params.get("equals") or {}), *(params.get("differs") or {})]
    keys += params.get("positive") or []
    runs, ok = [], True
    for exp in experiments:
        name = evidence.experiments()[exp]["recipe"]
        settings = evidence.config["recipes"][name]
        ok &= _recipe_follows(settings, _models(evidence, exp), params)
        runs.append(
            {"experiment": exp, "recipe": name, "settings": {k: settings.get(k) for k in keys}}
        )
    values = {"runs": runs}
    if params.get("data") and params["data"] not in _sources(evidence, experiments):
        values["run_on"] = _datasets(evidence, experiments)
    return Finding("followed" if ok else "deviated", values)


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
            dataset=("dataset", "first"),
            alpha=("alpha", "first"),
            resolution=("resolution", "first"),
            params=("params", "first"),
            top1=("test_top1", "mean"),
            top1_values=("test_top1", list),
            seeds=("seed", "count"),
            n=("test_images", "first"),
            classes=("classes", "first"),
        )
        .reset_index()
    )


def _relation(big: pd.Series, small: pd.Series) -> tuple[str, dict]:
    """(holds, reversed, tied or few_seeds; the values) of 'big is more accurate than small'.

    The interval is the test set's: every seed predicts the same test images, so a mean
    over seeds is still a proportion over `n` images, not over n x seeds independent ones.
    Seeds vary too, so a relation needs MIN_SEEDS_FOR_STD seeds of each model."""
    values = {"big": str(big["model"]), "big_top1": float(big["top1"])}
    values |= {"small": str(small["model"]), "small_top1": float(small["top1"])}
    values["difference"] = float((big["top1"] - small["top1"]) * 100)
    n1 = int(big["n"]) if big["n"] == big["n"] else 0
    n2 = int(small["n"]) if small["n"] == small["n"] else 0
    if not (n1 and n2):
        return "tied", values | {"test_images": None}
    lo, hi = means_difference(big["top1_values"], n1, small["top1_values"], n2)
    values |= {"low": float(lo * 100), "high": float(hi * 100), "test_images": n1}
    values |= {"big_seeds": int(big["seeds"]), "small_seeds": int(small["seeds"])}
    if lo <= 0 <= hi:
        return "tied", values
    if min(int(big["seeds"]), int(small["seeds"])) < MIN_SEEDS_FOR_STD:
        return "few_seeds", values
    return ("holds" if lo > 0 else "reversed"), values


def _verdict(outcomes: list[str]) -> str:
    if outcomes and all(o == "holds" for o in outcomes):
        return "reproduced"
    if any(o == "reversed" for o in outcomes):
        return "not_reproduced"
    return "inconclusive"


def _label(evidence: Evidence, model: str) -> str:
    return (evidence.config.get("models", {}).get(model) or {}).get("label") or model


def _titles(evidence: Evidence, experiments) -> list[str]:
    datasets = evidence.config["datasets"]
    return sorted({datasets[d].get("title") or d for d in _datasets(evidence, experiments)})


@kind("relation", required=("arch", "vary", "data"), choices={"vary": ("params", "resolution")})
def relation(evidence: Evidence, params: dict, claim: dict) -> Finding:
    """Within each experiment, the runs of `arch` that differ only in `vary` (params or
    resolution): the larger more accurate than the smaller, by the interval of the
    difference. On data other than the claim's (`data`, a source), not comparable as run."""
    pairs, experiments = [], running_experiments(claim, evidence)
    for exp in experiments:
        table = _model_accuracies(evidence, exp)
        table = table[table["arch"] == params["arch"]]
        table["model"] = [_label(evidence, m) for m in table["model"]]
        fixed = "alpha" if params["vary"] == "resolution" else "resolution"
        for _, group in table.groupby(fixed):
            if len(group) < 2:
                continue
            group = group.sort_values(params["vary"])
            outcome, values = _relation(group.iloc[-1], group.iloc[0])
            pairs.append(values | {"outcome": outcome})
    values = {"arch": params["arch"], "vary": params["vary"], "pairs": pairs}
    if not pairs:
        return Finding("not_run", values)
    if params["data"] not in _sources(evidence, experiments):
        return Finding("not_comparable", values | {"ours": _titles(evidence, experiments)})
    return Finding(_verdict([p["outcome"] for p in pairs]), values)


# -------------------------------------------------- the slides' plan (seed002 analyses)
def _analysis_table(evidence: Evidence, claim: dict, table: str):
    for exp in running_experiments(claim, evidence):
        frame = evidence.analysis(exp, table)
        if frame is not None:
            return exp, frame
    return "", None


def _is_mobilenet(model: str) -> bool:
    return "mobilenet" in model.lower()


MINIATURE_SOURCES = {"sklearn_digits"}  # scikit-learn's 8x8 digits, upsampled


def _narrowed(evidence: Evidence, exp: str) -> list[str]:
    """The experiment's networks run at less than full width, by label: the plan compares the
    full networks, so for our fidelity to it a narrower one is a deviation (for a result it
    is not, as long as the widths keep the full networks' parameter order)."""
    models = evidence.config.get("models", {})
    names = evidence.experiments().get(exp, {}).get("models", [])
    return [_label(evidence, m) for m in names if float(models.get(m, {}).get("alpha", 1.0)) < 1]


def _plan_differences(evidence: Evidence, exp: str) -> dict:
    """How the plan's comparison as run here differs from a comparison of the architectures:
    miniature data, or a 'large' network that is not larger. Too few seeds is not among them:
    it leaves a like-for-like comparison inconclusive (`_fewest_seeds`), not incomparable."""
    out = {}
    if _sources(evidence, [exp]) & MINIATURE_SOURCES:
        out["miniature_data"] = True
    table = _model_accuracies(evidence, exp)
    mobile = table[[_is_mobilenet(m) for m in table["model"]]]
    others = table[[not _is_mobilenet(m) for m in table["model"]]]
    if len(mobile) and len(others):
        big = mobile.loc[mobile["params"].idxmax()]
        smaller = others[others["params"] <= big["params"]]
        if len(smaller):
            out["not_larger"] = [
                {"model": _label(evidence, r.model), "params": float(r.params)}
                for r in smaller.itertuples()
            ]
            out["largest_mobilenet"] = {
                "model": _label(evidence, big["model"]),
                "params": float(big["params"]),
            }
    return out


def _fewest_seeds(evidence: Evidence, exp: str) -> int:
    """The fewest seeds any (model, data set) of the experiment ran."""
    runs = evidence.runs[evidence.runs["experiment"] == exp]
    return int(runs.groupby(["model", "dataset"])["seed"].nunique().min()) if len(runs) else 0


def _rows(frame: pd.DataFrame, evidence: Evidence, columns) -> list[dict]:
    return [
        {"model": _label(evidence, r["model"])} | {c: r[c] for c in columns}
        for _, r in frame.iterrows()
    ]


PLAN_TABLES = {  # the plan's questions: the analysis table answering each, and its columns
    "fully_trained": ("test_top1_mean",),
    "steps_to_accuracy": ("steps_mean", "reached", "seeds", "target"),
    "training_set_size": ("test_top1_mean", "gap_mean", "train_images", "per_class"),
}


@kind("plan_question", required=("table",), choices={"table": PLAN_TABLES})
def plan_question(evidence: Evidence, params: dict, claim: dict) -> Finding:
    """Fidelity: the slides' plan asks a question; the analysis `table` of its experiment
    answers it, followed where nothing differs from a comparison of the architectures."""
    table = params["table"]
    exp, frame = _analysis_table(evidence, claim, table)
    if frame is None:
        return Finding("not_run", {"table": table})
    if table == "training_set_size":
        frame = frame[frame["per_class"] == frame["per_class"].min()]
    differences = _plan_differences(evidence, exp)
    if narrowed := _narrowed(evidence, exp):
        differences["narrowed"] = narrowed
    values = {"table": table, "experiment": exp, "seeds": _fewest_seeds(evidence, exp)}
    values["title"] = evidence.experiments()[exp].get("title") or exp
    values |= {"rows": _rows(frame, evidence, PLAN_TABLES[table]), "differences": differences}
    capped = 0
    if table == "fully_trained" and {"stopped_early", "seeds"} <= set(frame.columns):
        # A run the step cap stopped was not trained until early stopping: not "fully
        # trained" as the plan asks, whatever its accuracy.
        capped = int((frame["seeds"] - frame["stopped_early"]).sum())
        values |= {"capped": capped, "runs": int(frame["seeds"].sum())}
        values["max_steps"] = int(frame["max_steps"].max()) if "max_steps" in frame else None
    return Finding("deviated" if differences or capped else "followed", values)


def _with_drop(frame: pd.DataFrame) -> pd.DataFrame:
    """Each model's test top-1 lost from the largest training set to the smallest (`drop`)."""
    ends = frame.sort_values("per_class").groupby("model")["test_top1_mean"]
    drop = (ends.last() - ends.first()).rename("drop")
    return frame.join(drop, on="model")


def _ends(frame: pd.DataFrame, model: str) -> tuple[pd.Series, pd.Series]:
    """`model`'s rows on the smallest and the largest training set."""
    rows = frame[frame["model"] == model].sort_values("per_class")
    return rows.iloc[0], rows.iloc[-1]


def _terms(frame: pd.DataFrame, model: str, measure: str) -> list[tuple] | None:
    """`measure` of `model` as signed means for `noise.combined_interval`: its test top-1 or
    train-test gap on the smallest training set, or its test top-1 on the largest minus that
    on the smallest (`drop`). None without the test images behind the accuracies."""
    small, large = _ends(frame, model)
    images = small.get("test_images")
    if images is None or images != images:
        return None

    def term(row, column, sign=1):
        mean, std = row[f"{column}_mean"], row[f"{column}_std"]
        return (sign, mean, std, int(row["seeds"]), row["test_top1_mean"], int(images))

    if measure == "drop":
        return [term(large, "test_top1"), term(small, "test_top1", -1)]
    return [term(small, measure.removesuffix("_mean"))]


def _unusable(frame, models, measure: str, labels) -> dict:
    """Why a pair says nothing about `measure`: a network that fit none of its training
    images (its gap is no over-fitting), or that did not learn where the measure reads its
    test top-1 (the smallest set; for `drop` the largest, where it has to have learned
    something to lose). Empty when both are usable."""
    classes = int(frame["classes"].iloc[0])
    end, column, outcome = 0, "test_top1_mean", "did_not_learn"
    if measure == "gap_mean":
        column, outcome = "train_top1_mean", "did_not_fit"
    elif measure == "drop":
        end = 1
    stuck = [m for m in models if not learned(_ends(frame, m)[end][column], classes)]
    return {"outcome": outcome, "unfit": [labels(m) for m in stuck]} if stuck else {}


def _pair(frame, mobile: str, other: str, measure: str, labels) -> dict:
    """Whether `mobile` does better than `other` on `measure` (a smaller gap or drop, a higher
    test top-1), by the 95% interval of the difference. Not judged (`_unusable`) where a
    network fit or learned nothing, nor (`no_interval`) without the test images."""
    first, second = (other, mobile) if measure in ("gap_mean", "drop") else (mobile, other)
    a, b = _terms(frame, first, measure), _terms(frame, second, measure)
    values = {"mobile": labels(mobile), "other": labels(other)}
    if a is None or b is None:
        return values | {"outcome": "no_interval"}
    flipped = [(-sign, *rest) for sign, *rest in b]
    low, high = combined_interval([*a, *flipped])  # symmetric about the difference
    values |= {"difference": (low + high) * 50, "low": low * 100, "high": high * 100}
    if unusable := _unusable(frame, (mobile, other), measure, labels):
        return values | unusable
    if low != low or high != high:
        return values | {"outcome": "no_interval"}
    if low <= 0 <= high:
        return values | {"outcome": "tied"}
    # The fewest seeds behind any mean of the difference (drop reads two training sets).
    if min(t[3] for t in (*a, *b)) < MIN_SEEDS_FOR_STD:
        return values | {"outcome": "few_seeds"}
    return values | {"outcome": "holds" if low > 0 else "reversed"}


@kind(
    "small_data_relation",
    required=("measure",),
    choices={"measure": ("gap_mean", "test_top1_mean", "drop")},
)
def small_data_relation(evidence: Evidence, params: dict, claim: dict) -> Finding:
    """On the plan's smallest training set, each MobileNet against each larger network: a
    smaller train-test gap (`measure: gap_mean`), a higher test top-1 (`test_top1_mean`) or
    less test top-1 lost from the largest training set (`drop`), by the 95% interval of the
    difference (seeds and test set; `noise.combined_interval`). Reproduced where every pair
    holds, not reproduced where one is reversed, inconclusive otherwise; on a miniature or
    with a 'larger' network that is not larger, not comparable as run."""
    exp, frame = _analysis_table(evidence, claim, "training_set_size")
    measure = params["measure"]
    if frame is None:
        return Finding("not_run", {"measure": measure, "missing": "table"})
    frame = _with_drop(frame)
    small = frame[frame["per_class"] == frame["per_class"].min()]
    mobile = small[[_is_mobilenet(m) for m in small["model"]]]
    others = small[[not _is_mobilenet(m) for m in small["model"]]]
    if mobile.empty or others.empty:
        return Finding("not_run", {"measure": measure, "missing": "model"})
    better = (
        mobile[measure].max() < others[measure].min()
        if measure in ("gap_mean", "drop")
        else mobile[measure].min() > others[measure].max()
    )
    seeds = _fewest_seeds(evidence, exp)
    values = {"measure": measure, "rows": _rows(small, evidence, (measure,))}
    values |= {"as_claimed": better, "seeds": seeds}
    differences = _plan_differences(evidence, exp)
    if differences:
        return Finding("not_comparable", values | {"differences": differences})
    # Like for like in what the claim is about: the networks keep the full ones' parameter
    # order (checked by _plan_differences), said with the counts beside each verdict.
    sizes = _model_accuracies(evidence, exp).sort_values("params")
    values["order"] = [
        {"model": _label(evidence, r.model), "params": float(r.params)} for r in sizes.itertuples()
    ]
    values["narrowed"] = bool(_narrowed(evidence, exp))
    pairs = [
        _pair(frame, m, o, measure, lambda name: _label(evidence, name))
        for m in mobile["model"]
        for o in others["model"]
    ]
    values["pairs"] = pairs
    if measure != "drop":  # the drop spans the sizes; the others are read at each
        values["other_sizes"] = _other_sizes(frame, mobile["model"], others["model"], measure,
                                             lambda name: _label(evidence, name))  # fmt: skip
    return Finding(_verdict([p["outcome"] for p in pairs]), values)


def _other_sizes(frame, mobiles, others, measure: str, labels) -> list[dict]:
    """The pairs beyond the noise on the larger training sets, which the verdict does not read
    (it reads the smallest): said beside it, whichever way they point."""
    out = []
    for per_class, part in frame.groupby("per_class"):
        if per_class == frame["per_class"].min():
            continue
        for m in mobiles:
            for o in others:
                pair = _pair(part, m, o, measure, labels)
                if pair["outcome"] in ("holds", "reversed"):
                    out.append(pair | {"per_class": int(per_class)})
    return out


# ------------------------------------------- the Stanford Dogs learning curves, as run
def _curves(evidence: Evidence, claim: dict) -> pd.DataFrame | None:
    frames = [evidence.histories(exp) for exp in running_experiments(claim, evidence)]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return None
    return pd.concat(frames).groupby("epoch")[["accuracy", "val_accuracy"]].mean()


def _fast_then_slow(curve: pd.DataFrame, params: dict) -> tuple[bool, dict]:
    """Training accuracy rises `factor` times faster an epoch up to epoch `until` than after."""
    until = params["until"]
    first, mid, last = (curve["accuracy"].iloc[i] * 100 for i in (0, until - 1, -1))
    early = (mid - first) / (until - 1)
    late = (last - mid) / max(1, len(curve) - until)
    return early > params["factor"] * late, {"until": until, "early": early, "late": late}


def _near_100(curve: pd.DataFrame, params: dict) -> tuple[bool, dict]:
    """Training accuracy at least `at_least` (%) from epoch `from_epoch` on."""
    low = float(curve["accuracy"].iloc[params["from_epoch"] - 1 :].min() * 100)
    return low >= params["at_least"], {"from_epoch": params["from_epoch"], "lowest": low}


def _plateau(curve: pd.DataFrame, params: dict) -> tuple[bool, dict]:
    """After epoch `after`, validation accuracy moves less than `rise` points, ending
    below training accuracy."""
    after = params["after"]
    rise = float((curve["val_accuracy"].iloc[-1] - curve["val_accuracy"].iloc[after - 1]) * 100)
    gap = float((curve["accuracy"].iloc[-1] - curve["val_accuracy"].iloc[-1]) * 100)
    return rise < params["rise"] and gap > 0, {"after": after, "rise": rise, "gap": gap}


SHAPES = {"fast_then_slow": _fast_then_slow, "near_100": _near_100, "plateau": _plateau}


@kind(
    "curve_shape",
    required=("shape", "min_epochs", "data"),
    optional=("until", "factor", "from_epoch", "at_least", "after", "rise"),
    choices={"shape": SHAPES},
)
def curve_shape(evidence: Evidence, params: dict, claim: dict) -> Finding:
    """A learning curve's shape (SHAPES), on the mean over seeds of our runs' histories.
    The document's curves come from its five-layer head on its data (`data`); our runs
    train one dense layer, so at best not comparable as run, saying whether ours agrees."""
    curve = _curves(evidence, claim)
    if curve is None or len(curve) < params["min_epochs"]:
        return Finding("not_run", {"min_epochs": params["min_epochs"]})
    holds, values = SHAPES[params["shape"]](curve, params)
    values = {"shape": params["shape"], "as_theirs": holds, **values}
    experiments = running_experiments(claim, evidence)
    if params["data"] not in _sources(evidence, experiments):
        values["run_on"] = _datasets(evidence, experiments)
    return Finding("not_comparable", values)
