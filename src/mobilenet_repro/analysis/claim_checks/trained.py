"""Checks of trained claims: recipes, comparisons with test-set noise, the slides' plan
and the Stanford Dogs transfer protocol as run."""

from __future__ import annotations

import math

import pandas as pd

from mobilenet_repro.analysis.claims import Evidence, check, running_experiments
from mobilenet_repro.analysis.noise import difference_interval


# ----------------------------------------------------------------------------- recipes
def _recipes(evidence: Evidence, claim: dict) -> list[tuple[str, dict]]:
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
