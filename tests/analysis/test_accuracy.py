"""Verdicts of trained accuracies against published ones (src/mobilenet_repro/accuracy.py)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from mobilenet_repro import paths
from mobilenet_repro.analysis.accuracy import (
    budget_verdict,
    compare,
    data_verdict,
    network_verdict,
    noise_verdict,
    reference_rows,
    scorecard,
)
from mobilenet_repro.report.accuracy import (
    budget_words,
    data_words,
    network_words,
    noise_words,
)

PUBLISHED = yaml.safe_load(paths.PUBLISHED.read_text(encoding="utf-8"))


def _noise_row(v: dict, tolerance: float, test_images: int | None = None) -> dict:
    """A noise verdict as its verdicts.csv cells, for the report's sentence."""
    return {
        "ours_values": json.dumps(v["values"]),
        "diff_points": v["diff"],
        "diff_low": v["low"],
        "diff_high": v["high"],
        "tolerance_points": tolerance,
        "noise": v["noise"],
        "test_images": test_images,
        "not_comparable_reasons": json.dumps(v["not_comparable_reasons"]),
    }


def _budget_row(b: dict, mean: float) -> dict:
    return {**b, "ours_mean": mean}


def test_within_tolerance_is_reproduced():
    v = noise_verdict([93.6, 93.9], published=93.79, tolerance=0.5)
    assert v["noise"] == "reproduced" and v["values"] == [93.6, 93.9]
    text = noise_words(_noise_row(v, 0.5))
    assert "reproduced" in text and "±0.5" in text


def test_test_set_noise_decides_with_the_number_of_test_images():
    # 77.4% against 77.2% over 359 test images: one image is 0.28 points, so a tie.
    tied = noise_verdict([77.4], published=77.2 - 0.6, tolerance=0.5, test_images=359)
    assert tied["noise"] == "within_noise" and tied["low"] <= 0 <= tied["high"]
    text = noise_words(_noise_row(tied, 0.5, 359))
    assert "tied within the test-set noise" in text and "over 359 test images" in text
    # The same gap over 10,000 images, three seeds: it is outside the noise.
    v = noise_verdict([85.2, 85.3, 85.1], published=86.5, tolerance=0.5, test_images=10_000)
    assert v["noise"] == "below" and v["high"] < 0
    assert "85.20 ± 0.10% (3 seeds" in noise_words(_noise_row(v, 0.5, 10_000))


def test_outside_tolerance_but_inside_seed_spread_is_noise():
    v = noise_verdict([92.0, 94.4, 93.0], published=94.0, tolerance=0.5)
    assert v["n"] == 3 and v["std"] == pytest.approx(1.2055, abs=1e-3)
    assert v["noise"] == "within_noise"
    assert "within run-to-run noise" in noise_words(_noise_row(v, 0.5))


def test_below_and_above_say_by_how_much():
    below = noise_verdict([85.0, 85.2], published=92.88, tolerance=0.5)
    above = noise_verdict([95.0, 95.1], published=92.88, tolerance=0.5)
    assert below["noise"] == "below" and below["diff"] == pytest.approx(-7.78)
    assert above["noise"] == "above" and above["diff"] == pytest.approx(2.17)
    assert "below by 7.78 points" in noise_words(_noise_row(below, 0.5))
    assert "above by 2.17 points" in noise_words(_noise_row(above, 0.5))


def test_one_seed_is_one_seed_never_a_zero_spread():
    v = noise_verdict([88.0], published=92.88, tolerance=0.5)
    assert v["std"] is None and v["n"] == 1
    text = noise_words(_noise_row(v, 0.5))
    assert "one seed" in text and "± 0.00" not in text
    assert "noise is not measured" in text
    # A spread over one seed can never make a difference 'within noise'.
    assert noise_verdict([92.0], 92.88, 0.5)["noise"] == "below"


def test_budget_fraction_and_curve_at_our_epoch_count():
    recipe = {"epochs": 200, "train_images": 50000}
    curve = {e: 40.0 + e * 0.2 for e in range(1, 201)}
    b = budget_verdict(15, 45000, recipe, mean=88.0, curve=curve)
    assert b["budget_fraction"] == pytest.approx(15 * 45000 / (200 * 50000))
    assert b["their_epochs"] == 200 and b["their_images"] == 50000
    assert b["curve_at_our_epochs"] == pytest.approx(43.0)
    assert b["curve_diff_points"] == pytest.approx(45.0)
    assert b["curve_reaches_ours_at"] is None  # the curve tops out at 80%
    text = budget_words(_budget_row(b, 88.0))
    assert "6.8% of their training budget" in text and "after 15 epochs" in text
    assert "never reaches our 88.00%" in text
    b50 = budget_verdict(15, 45000, recipe, mean=50.0, curve=curve)
    assert b50["curve_reaches_ours_at"] == 50
    assert "first reaches our 50.00% at epoch 50" in budget_words(_budget_row(b50, 50.0))


def test_budget_unknown_schedule_and_curve_too_short():
    unknown = budget_verdict(15, 45000, None, 80.0)
    assert unknown["budget_fraction"] is None
    assert "not stated" in budget_words(_budget_row(unknown, 80.0))
    b = budget_verdict(30, 100, {"epochs": 20}, 80.0, curve={1: 10.0, 20: 50.0})
    assert b["budget_fraction"] == pytest.approx(1.5) and b["curve_last_epoch"] == 20
    assert b["curve_at_our_epochs"] is None
    text = budget_words(_budget_row(b, 80.0))
    assert text.startswith("the full budget or more") and "stops at epoch 20" in text


def test_exact_or_family_says_what_differs():
    exact = network_verdict("exact")
    assert exact == {"relation": "exact", "network_differences": []}
    assert network_words(exact).startswith("exact")
    family = network_verdict("family", ["a 1x1 convolution to 1280 channels"])
    assert family["network_differences"] == ["a 1x1 convolution to 1280 channels"]
    row = {**family, "network_differences": json.dumps(family["network_differences"])}
    text = network_words(row)
    assert text.startswith("family") and "1280" in text
    with pytest.raises(ValueError, match="received 'cousin'"):
        network_verdict("cousin")


def test_a_copy_of_the_data_is_named_as_such():
    official = data_verdict("cifar10", {"source": "cifar10"})
    jpeg = data_verdict(
        "cifar10",
        {
            "source": "image_folder",
            "title": "CIFAR-10 (JPEG copy)",
            "compare_as": {"source": "cifar10", "note": "JPEG round trip"},
        },
    )
    assert official["data_relation"] == "published"
    assert jpeg == {
        "data_relation": "stand_in",
        "data_title": "CIFAR-10 (JPEG copy)",
        "data_note": "JPEG round trip",
    }
    published = {"dataset_published": "cifar10"}
    assert data_words({**official, **published}) == "the published data set (CIFAR-10)"
    text = data_words({**jpeg, **published})
    assert "copy standing in for CIFAR-10" in text and "JPEG round trip" in text


def test_published_cifar10_references_are_complete():
    rows = [r for r in reference_rows(PUBLISHED) if r["dataset"] == "cifar10"]
    assert {r["text"] for r in rows} >= {"92.88", "93.72", "93.79", "94.22", "94.43%", "93.91%"}
    for r in rows:
        assert r["recipe"]["epochs"] and r["recipe"]["optimizer"]
        if r["relation"] == "exact":  # the published network itself, rebuilt
            assert r["ours"]["arch"] == "chenyaofo_mobilenet_v2" and not r["differences"]
        else:
            assert r["relation"] == "family" and r["differences"]
    assert sum(r["relation"] == "exact" for r in rows) == 4  # chenyaofo's four widths
    x05 = next(r for r in rows if r["text"] == "92.88")
    assert len(x05["curve"]) == 200 and x05["curve"][200] == pytest.approx(92.61)


RUN_COLUMNS = ["experiment", "dataset", "model", "arch", "alpha", "resolution", "seed"]
RUN_COLUMNS += ["test_top1", "epochs", "train_images"]


def _runs(top1s, dataset="cifar10_jpeg", alpha=0.5, epochs=15):
    return pd.DataFrame(
        [
            {
                "experiment": "e",
                "dataset": dataset,
                "model": f"m{alpha}",
                "arch": "cifar_mobilenet_v2",
                "alpha": alpha,
                "resolution": 32,
                "seed": i,
                "test_top1": t,
                "epochs": epochs,
                "train_images": 45000,
            }
            for i, t in enumerate(top1s)
        ],
        columns=RUN_COLUMNS,
    )


def test_compare_matches_the_copy_and_lists_the_rest_as_not_run():
    config = {
        "datasets": {
            "cifar10_jpeg": {
                "source": "image_folder",
                "title": "CIFAR-10 (JPEG copy)",
                "compare_as": {"source": "cifar10", "note": "JPEG"},
            }
        }
    }
    table = compare(PUBLISHED, _runs([0.88, 0.89]), config)
    compared = table[table["status"] == "compared"]
    assert list(compared["published_text"]) == ["92.88"]
    row = compared.iloc[0]
    # A relative of our network trained for 6.8% of their budget: no reproduced/differs.
    assert row["noise"] == "not_comparable" and row["seeds"] == 2
    assert json.loads(row["not_comparable_reasons"]) == ["network", "budget"]
    assert json.loads(row["ours_values"]) == pytest.approx([88.0, 89.0])
    assert row["budget_fraction"] == pytest.approx(15 * 45000 / (200 * 50000))
    assert row["relation"] == "family" and json.loads(row["network_differences"])
    assert row["data_relation"] == "stand_in" and row["data_note"] == "JPEG"
    # No column of the analysis is a sentence: the report layer words them.
    assert not [c for c in table.columns if c.endswith("_text") and c != "published_text"]
    text = noise_words(row)
    assert "not comparable as run (a different network" in text
    assert "6.8% of their training budget" in text
    assert "88.00% and 89.00% (two seeds" in text  # two seeds: both values
    assert network_words(row).startswith("family") and "JPEG" in data_words(row)
    card = scorecard(None, table)["accuracy"]
    assert card["compared"] == 1 and card["differ"] == 0 and card["not_comparable"] == 1
    assert card["not_run"] == card["published"] - 1
    # Without compare_as the JPEG copy is not CIFAR-10 and nothing is compared.
    config["datasets"]["cifar10_jpeg"].pop("compare_as")
    assert (compare(PUBLISHED, _runs([0.88]), config)["status"] == "not_run").all()


def test_scorecard_counts_architecture_cells():
    arch = pd.DataFrame(
        {"verdict": ["matches within rounding", "matches within 1%", "differs by +711M (+14.2%)"]}
    )
    card = scorecard(arch, compare(PUBLISHED, _runs([]), {"datasets": {}}))
    assert card["architecture"] == {
        "published": 3,
        "compared": 3,
        "reproduced": 2,
        "within_noise": 0,
        "differ": 1,
        "not_comparable": 0,
        "not_run": 0,
    }
    assert card["accuracy"]["compared"] == 0


def test_curves_figure_without_any_compared_run(tmp_path):
    from mobilenet_repro.analysis.accuracy_figures import plot_curves

    verdicts = compare(PUBLISHED, _runs([]), {"datasets": {}})
    plot_curves(verdicts, PUBLISHED, [], tmp_path / "c.png", tmp_path / "c.svg")
    assert (tmp_path / "c.png").stat().st_size > 1000 and (tmp_path / "c.svg").exists()


def test_stanford_dogs_rows_match_the_same_architecture_width_and_resolution():
    config = {"datasets": {"dogs": {"source": "stanford_dogs"}, "digits": {"source": "x"}}}
    rows = [
        ["e", "dogs", "m224", "mobilenet_v1", 1.0, 224, 0, 0.80, 30, 12000],
        ["e", "dogs", "m224", "mobilenet_v1", 1.0, 224, 1, 0.82, 30, 12000],
        ["e", "digits", "m224d", "mobilenet_v1", 1.0, 224, 0, 0.99, 30, 1000],  # other data
        ["e", "dogs", "m160", "mobilenet_v1", 1.0, 160, 0, 0.70, 30, 12000],  # no published row
    ]
    table = compare(PUBLISHED, pd.DataFrame(rows, columns=RUN_COLUMNS), config)
    hit = table[(table["reference"] == "seed001_table10") & (table["status"] == "compared")]
    assert list(hit["label"]) == ["1.0 MobileNet-224"]
    row = hit.iloc[0]
    assert row["published_text"] == "83.3%" and row["run"] == "e/dogs/m224"
    assert row["ours_mean"] == pytest.approx(81.0) and row["ours_std"] == pytest.approx(
        1.4142, 1e-3
    )
    assert row["diff_points"] == pytest.approx(-2.3)
    # 2.3 points inside 2 x 1.41, but a std over two seeds says little: no test-set size
    # here either, so nothing makes it noise.
    assert row["noise"] == "below"
    assert row["relation"] == "exact" and json.loads(row["network_differences"]) == []
    assert pd.isna(row["budget_fraction"]) and "not stated" in budget_words(row)
    assert (table["status"] == "compared").sum() == 2  # seed 001's own table has it too


def test_a_run_tested_with_extra_views_is_compared_on_one_view():
    """A published accuracy is of one view of each test image: a run tested with its mirror
    image and shifted copies is compared on the same weights' single view, the tested
    number given beside it, and their curve is read against the single view too."""
    from mobilenet_repro.analysis.results import test_views
    from mobilenet_repro.report.accuracy import views_words

    metrics = {
        "test_top1": 0.8797,
        "tested_variant": "raw_flip_translate",
        "test_top1_variants": {"raw": 0.8696, "raw_flip": 0.8792, "raw_flip_translate": 0.8797},
    }
    assert test_views(metrics) == ("flip_translate", 0.8696)
    assert test_views({"test_top1": 0.5}) == ("", 0.5)  # before test-time views existed
    assert test_views(
        {
            "test_top1": 0.85,
            "tested_variant": "ema_flip",
            "test_top1_variants": {"ema": 0.84, "raw": 0.86},
        }
    ) == ("flip", 0.84)
    runs = _runs([0.8797, 0.8815]).assign(
        test_views="flip_translate", test_top1_single=[0.8696, 0.8705]
    )
    config = {
        "datasets": {
            "cifar10_jpeg": {"source": "image_folder", "compare_as": {"source": "cifar10"}}
        }
    }
    row = compare(PUBLISHED, runs, config).query("status == 'compared'").iloc[0]
    assert json.loads(row["ours_values"]) == pytest.approx([86.96, 87.05])
    assert row["ours_tested_mean"] == pytest.approx(88.06)
    assert row["curve_diff_points"] == pytest.approx(row["ours_mean"] - row["curve_at_our_epochs"])
    words = views_words(row)
    assert "one view of each test image, as published" in words
    assert "mirror image and shifted copies" in words and "88.06% (+1.05 points" in words
    assert "(one view)" in budget_words(row) and "points below our 87.0" in budget_words(row)
    assert (
        views_words(compare(PUBLISHED, _runs([0.88]), config).query("status == 'compared'").iloc[0])
        == ""
    )
