"""Report context: published accuracies are set beside our runs of the same thing."""

from __future__ import annotations


# ------------------------------------------------------- both outputs from one context
def full_context(tmp_path) -> dict:
    """A report context with every part filled (text from data is hostile on purpose)."""
    from conftest import NASTY

    svg = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>'
    figures = {}
    for name in ("a", "b", "c", "d", "e"):
        (tmp_path / f"{name}.svg").write_text(svg)
        figures[name] = {"png_data_uri": "data:image/png;base64,", "svg_path": f"/{name}.svg"}
    recipe = {"optimizer": "adam", "learning_rate": 0.002, "beta_1": 0.9, "beta_2": 0.999}
    recipe |= {"schedule": "cosine", "warmup_epochs": 1, "epochs": 12, "batch_size": 64}
    recipe |= {"augment": "flip_crop", "freeze_base": True}
    row = {"dataset": "digits", "label": "V1 " + NASTY, "alpha": "0.25", "resolution": 32}
    row |= {"params_m": "0.21", "mult_adds_m": "1,234.5", "top1": "91.7 ± 0.3", "seeds": 2}
    row |= {"train_seconds": "12.5", "images_per_second": "815", "interval": "90.9-92.4"}
    experiment = {"title": "Tiny " + NASTY, "description": "About " + NASTY, "seeds": [0, 7]}
    experiment |= {"recipe_name": "quick", "recipe": recipe, "rows": [row], "best": row}
    experiment |= {
        "datasets": ["digits"],
        "not_learned": [],
        "seed002": {},
        "published_marked": True,
    }
    ranking = {"dataset": "digits", "first": row, "second": row, "kind": "tied"}
    ranking |= {"diff": "+0.4", "interval": "-1.6 to +2.4"}
    experiment |= {"ranking": [ranking], "underpowered": True, "surprises": ["Net " + NASTY]}
    experiment["settings"] = [
        {"setting": "learning_rate", "name": "learning rate", "value": "0.002"}
        | {"origin": "chosen here", "note": NASTY}
    ]
    compared = {"dataset": "digits", "label": "V1 " + NASTY, "seeds": "2", "top1": "90.1 ± 0.5"}
    compared |= {"difference": "-1.6", "interval": "-9.0 to +5.8", "train_seconds": "30.2"}
    compared |= {"backend": "jax", "verdict": "inconclusive", "verdict_word": "inconclusive"}
    experiment |= {"backends": ["tensorflow", "jax"], "backend_comparison": {
        "reference": "tensorflow", "tolerance": "2", "rows": [compared],
        "finding": "Of 1 comparison, 1 inconclusive " + NASTY,
    }}  # fmt: skip
    experiment["figures"] = {
        "accuracy_vs_params": figures["a"],
        "accuracy_vs_mult_adds": figures["b"],
        "learning_curves": figures["c"],
        "lr_schedule": figures["d"],
    }
    dataset = {"name": "digits", "title": "Digits " + NASTY, "num_classes": 10}
    dataset["image_shape"] = [8, 8, 1]
    dataset |= {"counts": {"train": 1203, "val": 297, "test": 297}, "class_names": ["0", "1"]}
    dataset["counts_per_class"] = {s: {"0": 31, "1": 32} for s in ("train", "val", "test")}
    dataset["datasheet"] = [("Name", "Digits " + NASTY), ("Images", "train 1,203")]
    accuracy_row = {"label": "1.0 MobileNet-224", "published": "83.3%", "compared": True}
    accuracy_row |= {"run": "e/dogs/m", "run_name": "V1 on dogs " + NASTY}
    accuracy_row |= {"ours": "80.10 ± 1.00 (3 seeds)", "diff": "-3.20"}
    accuracy_row |= {"noise": "below", "noise_text": "below by 3.20 points " + NASTY}
    accuracy_row |= {"budget_text": "6.8% of their training budget", "network_text": "exact"}
    accuracy_row["data_text"] = "the published data set (Stanford Dogs)"
    return {
        "title": "Report " + NASTY,
        "authors": "pytest",
        "note": "Note " + NASTY,
        "generated": "2026-01-02 03:04 UTC",
        "git": {"commit": "0123456789abcdef", "dirty": True},
        "n_runs": 4,
        "n_experiments": 1,
        "n_models": 2,
        "n_datasets": 1,
        "total_train_minutes": "5.5",
        "device_hours": "0.18",
        "device_kind": "CPU core",
        "chance_margin": "5",
        "experiments": [experiment],
        "models": [
            {
                "label": NASTY,
                "arch": "mobilenet_v1",
                "architecture": "MobileNet V1",
                "alpha": 0.25,
                "resolution": 32,
                "weights": None,
            }
        ],
        "arch": None,
        "datasets": [dataset],
        "dataset_titles": {"digits": "Digits " + NASTY},
        "accuracy": {
            "n_compared": 1,
            "n_published": 6,
            "has_curves": True,
            "scorecard": [
                {"what": "architecture counts", "published": 41, "compared": 41}
                | {"reproduced": 30, "within_noise": 0, "differ": 11, "not_run": 0}
                | {"not_comparable": 0},
                None,
            ],
            "groups": [
                {
                    "caption": "T10 " + NASTY,
                    "source": "s1",
                    "url": "https://example.org/a_b#c",
                    "dataset": "dogs",
                    "metric": "best epoch " + NASTY,
                    "network": "theirs",
                    "recipe": "200 epochs; SGD",
                    "tolerance": "0.5",
                    "n_compared": 1,
                    "rows": [
                        accuracy_row,
                        {"label": "other", "published": "81.9%", "compared": False},
                    ],
                }
            ],
        },
        "hardware": {"cpu": "x86", "cpu_count": 16, "threads": 2, "gpus": [], "platform": "Linux"},
        "versions": {"keras": "3.5.0", "tensorflow": "2.18.1"},
        "benchmarks": [
            {"job": "train/e/d/m/seed0", "seconds": 61.25, "seconds_shown": "61.2"}
            | {"max_rss_mb": 1523.4}
        ],
        "config_yaml": "seeds: [0, 7]\nnote: " + NASTY + "\n",
        "published": {"sources": {"s1": {"title": "Paper " + NASTY, "url": "https://a.b/c_d"}}},
        "figures": {"accuracy_curves": figures["e"]},
    }


def test_html_and_pdf_say_the_same_things(tmp_path):
    """One context, two outputs: the same headings in the same order, the same numbers."""
    from conftest import NASTY, assert_same_report

    from mobilenet_repro.report.render import environments, render

    context = full_context(tmp_path)
    html_env, typ_env = environments()
    html = html_env.get_template("report.html.j2").render(**context)
    typ = typ_env.get_template("report.typ.j2").render(**context)
    assert_same_report(html, typ)
    assert "1,234.5" in html and "1\\,234\\.5" in typ
    assert html.index(">Scorecard</h") < html.index(">Method</h")
    headings = ("Scorecard", "Method", "Experimental setup", "Results", "Reproducibility")
    for heading in (*headings, "Datasheets", "Accuracies against the published ones"):
        assert f">{heading}</h" in html and f"= {heading}\n" in typ

    render(context, tmp_path / "r.html", tmp_path / "r.pdf", root=tmp_path)  # Typst compiles
    from pypdf import PdfReader

    text = "".join(p.extract_text() for p in PdfReader(tmp_path / "r.pdf").pages)
    assert "".join(NASTY.split()) in "".join(text.split())


def test_a_model_at_chance_is_marked_and_never_called_the_most_accurate(tmp_path):
    from mobilenet_repro.report.render import environments

    context = full_context(tmp_path)
    exp = context["experiments"][0]
    row = {**exp["rows"][0], "label": "Chance net", "top1": "10.4 ± 0.3 (did not learn)"}
    exp |= {"rows": [row], "best": None, "not_learned": ["Chance net (digits)"], "ranking": []}
    html_env, typ_env = environments()
    for env in (html_env, typ_env):
        name = "report.html.j2" if env is html_env else "report.typ.j2"
        text = " ".join(env.get_template(name).render(**context).split())
        assert "most accurate" not in text
        assert "no model learned: every test top-1 is within 5 points of chance" in text
        assert "did not learn" in text


def test_model_settings_rows_only_recorded_origins():
    """A model's settings join "Where each setting came from" only where the configuration
    records their origin; with several models each row names its model."""
    from mobilenet_repro.report.results import model_settings_rows

    why = {"from": "chosen", "note": "the budget"}
    narrow = {"arch": "cifar_mobilenet_v2", "alpha": 0.5, "label": "narrow"}
    narrow["origins"] = {"alpha": why}
    plain = {"arch": "vgg16", "alpha": 1.0}
    (row,) = model_settings_rows({"n": narrow})
    assert row == {"setting": "alpha", "name": "width multiplier", "value": "0.5"} | {
        "origin": "chosen here",
        "note": "the budget",
    }
    rows = model_settings_rows({"n": narrow, "p": plain})
    assert [r["name"] for r in rows] == ["narrow: width multiplier"]
    assert model_settings_rows({"p": plain}) == []
