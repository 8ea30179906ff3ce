"""Claims registry and its verdict rules: every claim typed and judged by its type's rules,
the document's arithmetic evaluated safely, errata read once, our deviations never charged
to the documents, and relations between accuracies judged with the test set's noise."""

from __future__ import annotations

import pandas as pd
import pytest

from mobilenet_repro.analysis import claim_checks  # noqa: F401 - registers the checks
from mobilenet_repro.analysis.claim_checks.trained import _relation
from mobilenet_repro.analysis.claims import (
    INDEPENDENT,
    OUTCOMES,
    TYPES,
    UNREACHED,
    Evidence,
    _arithmetic,
    _errata,
    judge,
    load_claims,
)
from mobilenet_repro.analysis.noise import wilson

DEFAULT = {"name": "default", "experiments": {}}


def test_registry_ids_are_unique_typed_and_every_check_names_a_claim():
    registry = load_claims()
    claims = registry["claims"]
    ids = [c["id"] for c in claims]
    assert len(ids) == len(set(ids))
    assert {c["type"] for c in claims} <= set(TYPES)
    assert set(registry["types"]) == set(TYPES)
    for c in claims:
        if c["type"] == "design":
            assert c.get("reference") in (*INDEPENDENT, UNREACHED, "none"), c["id"]
        if c.get("reference") == "paper":  # the paper's counts of the network built here
            assert c.get("arch") and "check" in c, c["id"]
        if c["type"] == "erratum":
            assert c.get("reading"), c["id"]
        if c["type"] == "opinion":
            assert c.get("why"), c["id"]
        if c["type"] == "arithmetic":  # the document's numbers, or an identity over built layers
            assert c.get("arithmetic") or c.get("check"), c["id"]
    # A check of the reference and a fidelity check only where the type has them.
    assert {c["type"] for c in claims if "fidelity_check" in c} == {"design"}
    assert {c["type"] for c in claims if "check" in c} <= {"result", "design", "arithmetic"}


@pytest.mark.parametrize(
    "expression", ["__import__('os').system('true')", "open('/etc/passwd')", "(1).__class__"]
)
def test_arithmetic_refuses_anything_but_numbers(expression):
    with pytest.raises((ValueError, NameError)):
        _arithmetic(expression)


def test_arithmetic_is_listed_as_checked_never_as_a_reproduction(tmp_path):
    evidence = Evidence(arch_dir=tmp_path, config=DEFAULT)
    holds = judge({"id": "x.a", "type": "arithmetic", "arithmetic": "3*3 + 3*3 == 18"}, evidence)
    slip = {"id": "x.b", "type": "arithmetic", "arithmetic": "round(3.47 / 4.24 * 100) == 80"}
    fails = judge(slip, evidence)
    assert holds["verdict"] == "holds" and holds["check_kind"] == "arithmetic"
    assert fails["verdict"] == "fails" and fails["values"]["holds"] is False


def test_opinions_and_errata_are_not_findings(tmp_path):
    evidence = Evidence(arch_dir=tmp_path, config=DEFAULT)
    opinion = judge({"id": "x.o", "type": "opinion", "why": "No number is given."}, evidence)
    assert opinion["verdict"] == "not_checkable"
    assert opinion["values"] == {"why": "No number is given."}
    erratum = judge({"id": "x.e", "type": "erratum", "reading": "Stride 1."}, evidence)
    assert erratum["verdict"] == "erratum" and erratum["values"] == {"reading": "Stride 1."}


def test_a_result_nothing_here_runs_says_what_it_needs(tmp_path):
    evidence = Evidence(arch_dir=tmp_path, config=DEFAULT)
    claim = {"id": "x.y", "type": "result", "testable_in": [], "needs": "ImageNet and GPU-weeks"}
    out = judge(claim, evidence)
    assert out["verdict"] == "not_run" and out["values"]["needs"] == "ImageNet and GPU-weeks"
    claim = {"id": "x.z", "type": "result", "testable_in": ["config/paper.yaml"], "needs": None,
             "experiments": {"config/paper.yaml": ["stanford_dogs"]}}  # fmt: skip
    out = judge(claim, evidence)
    assert out["verdict"] == "not_run" and out["values"]["testable_in"] == ["config/paper.yaml"]


def test_a_type_cannot_get_another_types_verdict(tmp_path):
    evidence = Evidence(arch_dir=tmp_path, config=DEFAULT)
    with pytest.raises(ValueError, match="type 'finding'"):
        judge({"id": "x.t", "type": "finding"}, evidence)
    assert set(OUTCOMES["result"]).isdisjoint({"followed", "deviated", "erratum", "holds"})


COUNT_COLUMNS = ["table", "row", "column", "quantity", "published_text", "ours_text", "matches"]


def _tables(tmp_path, counts, structures=()):
    pd.DataFrame(counts, columns=COUNT_COLUMNS).to_csv(tmp_path / "verdicts.csv", index=False)
    pd.DataFrame(list(structures), columns=["table", "row", "column", "matches"]).to_csv(
        tmp_path / "structures.csv", index=False
    )


def test_printed_numbers_match_or_not_at_the_printed_precision(tmp_path):
    _tables(
        tmp_path,
        [
            {"table": "t", "row": "A", "column": "Params", "quantity": "params",
             "published_text": "4.2M", "ours_text": "4.23", "matches": True},
            {"table": "t", "row": "B", "column": "Params", "quantity": "params",
             "published_text": "3.4M", "ours_text": "3.50", "matches": False},
        ],
    )  # fmt: skip
    claim = {"id": "x.p", "type": "result", "testable_in": ["config/config.yaml"],
             "tested_by": [{"published": "t", "column": "params"}]}  # fmt: skip
    out = judge(claim, Evidence(arch_dir=tmp_path, config=DEFAULT))
    assert out["verdict"] == "not_reproduced" and out["check_kind"] == "printed_values"
    assert out["values"]["matched"] == 1 and out["values"]["compared"] == 2
    differing = {"row": "B", "quantity": "params", "printed": "3.4M", "ours": "3.50"}
    assert out["values"]["differing"] == [differing]


def test_a_misprinted_cell_is_read_as_its_erratum_says_and_judged_once(tmp_path):
    _tables(
        tmp_path,
        [],
        [("body", 0, "Stride", True), ("body", 1, "Stride", True), ("body", 2, "Stride", False)],
    )
    erratum = {"id": "doc.last_stride", "type": "erratum", "reading": "stride 1",
               "cells": [{"table": "body", "column": "Stride", "rows": [2]}]}  # fmt: skip
    table_claim = {"id": "doc.body", "type": "design", "reference": "keras",
                   "testable_in": ["config/config.yaml"],
                   "tested_by": [{"published": "body"}]}  # fmt: skip
    registry = {c["id"]: c for c in (erratum, table_claim)}
    errata = _errata(table_claim, registry)
    out = judge(table_claim, Evidence(arch_dir=tmp_path, config=DEFAULT), errata)
    assert out["verdict"] == "reproduced"  # never downgraded by the misprint
    assert out["values"]["compared"] == 2 and out["errata"] == "doc.last_stride"
    # Without the erratum the same cell would count against it.
    alone = judge(table_claim, Evidence(arch_dir=tmp_path, config=DEFAULT))
    assert alone["verdict"] == "not_reproduced"


def test_a_design_of_the_documents_own_network_is_fidelity_not_support(tmp_path):
    _tables(tmp_path, [], [("cifar", 0, "Repeats", True), ("cifar", 1, "Repeats", False)])
    claim = {"id": "doc.tables", "type": "design", "reference": "none",
             "testable_in": ["config/config.yaml"],
             "tested_by": [{"published": "cifar"}]}  # fmt: skip
    out = judge(claim, Evidence(arch_dir=tmp_path, config=DEFAULT))
    assert out["verdict"] == "no_reference"
    assert out["fidelity"] == "deviated" and out["fidelity_kind"] == "builder"
    assert out["fidelity_values"]["check"]["values"]["matched"] == 1


def test_a_network_keras_lacks_is_judged_on_its_papers_counts(tmp_path):
    """The shallow MobileNet V1 against the MobileNets paper's Table 5, on the default run's
    architecture tables: reproduced, naming the count that matched; no run trains it."""
    from conftest import ROOT

    from mobilenet_repro.validation import load_config

    claim = next(c for c in load_claims()["claims"] if c["id"] == "mnv1_notes.shallow_variant")
    arch_dir = ROOT / "tests/analysis/default_run/report/architectures"
    config = load_config(ROOT / "config/config.yaml")
    out = judge(claim, Evidence(arch_dir=arch_dir, config=config))
    assert (out["verdict"], out["check_kind"]) == ("reproduced", "printed_counts")
    counts = {k["quantity"]: k for k in out["values"]["counts"]}
    assert counts["trainable_params"]["ours"] == 2_887_976
    assert counts["trainable_params"]["printed"] == "2.9"
    assert round(counts["mult_adds"]["ours"] / 1e6) == 307
    assert (out["fidelity"], out["fidelity_kind"]) == ("not_run", "runs_follow")
    # Counts the paper does not print are not reproduced; without the row, not run.
    verdicts = pd.read_csv(arch_dir / "verdicts.csv")
    shallow = verdicts["table"] == "howard2017_table5"
    verdicts.loc[shallow & (verdicts["quantity"] == "mult_adds"), "matches"] = False
    verdicts.to_csv(tmp_path / "verdicts.csv", index=False)
    assert judge(claim, Evidence(arch_dir=tmp_path, config=config))["verdict"] == "not_reproduced"
    verdicts[~shallow].to_csv(tmp_path / "verdicts.csv", index=False)
    assert judge(claim, Evidence(arch_dir=tmp_path, config=config))["verdict"] == "not_run"


def _recipe_config(**recipe):
    """A user's configuration (a file the registry never names) with one experiment, named
    as the default configuration's experiment of the CIFAR-10 MobileNetV2."""
    return {
        "name": "mine",
        "datasets": {"d": {"source": "sklearn_digits", "title": "Handwritten digits"}},
        "models": {"m": {"arch": "cifar_mobilenet_v2"}},
        "recipes": {
            "r": {"optimizer": "rmsprop", "schedule": "cosine", "warmup_epochs": 1, **recipe}
        },
        "experiments": {"cifar_mobilenetv2": {"datasets": ["d"], "models": ["m"], "recipe": "r"}},
    }  # fmt: skip


def test_following_a_recipe_is_fidelity_and_departing_is_a_deviation(tmp_path):
    claim = next(c for c in load_claims()["claims"] if c["id"] == "cifar_mnv2.rmsprop")
    out = judge(claim, Evidence(arch_dir=tmp_path, config=_recipe_config()))
    assert out["verdict"] == "no_reference" and out["fidelity"] == "followed"
    out = judge(claim, Evidence(arch_dir=tmp_path, config=_recipe_config(optimizer="sgd")))
    assert out["verdict"] == "no_reference" and out["fidelity"] == "deviated"
    out = judge(claim, Evidence(arch_dir=tmp_path, config=DEFAULT | {"name": "mine"}))
    assert out["fidelity"] == "not_run"


def test_how_they_trained_a_network_no_run_trains_is_not_run_here():
    """A recipe statement about one network (the Stanford Dogs report imported Keras's
    MobileNet V1 unchanged): our builders' agreement with Keras is fidelity only where a run
    of this configuration trains that network (a reviewer's audit of the 15-epoch report)."""
    from conftest import ROOT

    from mobilenet_repro.validation import load_config

    claim = next(c for c in load_claims()["claims"] if c["id"] == "dogs.tensorflow_implementation")
    arch_dir = ROOT / "tests/analysis/default_run/report/architectures"
    config = load_config(ROOT / "config/config.yaml")  # trains MobileNet V1
    out = judge(claim, Evidence(arch_dir=arch_dir, config=config))
    assert out["fidelity"] == "followed"
    out = judge(claim, Evidence(arch_dir=arch_dir, config=_recipe_config()))
    assert (out["fidelity"], out["fidelity_kind"]) == ("not_run", "runs_follow")


def _runs(tmp_path, rows):
    path = tmp_path / "runs.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _run(model, seed, top1, params, alpha=1.0, resolution=224, n=1000):
    return {"experiment": "cifar_mobilenetv2", "dataset": "d", "model": model,
            "arch": "mobilenet_v1", "alpha": alpha, "resolution": resolution, "seed": seed,
            "params": params, "test_top1": top1, "test_images": n, "classes": 10}  # fmt: skip


def test_an_accuracy_relation_on_other_data_is_not_comparable_as_run(tmp_path):
    runs = _runs(tmp_path, [_run("big", s, 0.9, 4e6) for s in range(3)]
                 + [_run("small", s, 0.5, 1e6, alpha=0.25) for s in range(3)])  # fmt: skip
    config = _recipe_config()
    claim = {"id": "mnv1_notes.smaller_less_accurate", "type": "result",
             "testable_in": ["config/config.yaml"],
             "experiments": {"config/mine.yaml": ["cifar_mobilenetv2"]},
             "check": {"kind": "relation", "arch": "mobilenet_v1", "vary": "params",
                       "data": "imagenet"}}  # fmt: skip
    out = judge(claim, Evidence(arch_dir=tmp_path, config=config, runs_csv=runs))
    assert out["verdict"] == "not_comparable"
    assert out["values"]["ours"] == ["Handwritten digits"]


def _model(top1, seeds, n=1000, name="a", spread=0.002):
    values = [top1 + spread * (i - (seeds - 1) / 2) for i in range(seeds)]
    return pd.Series({"model": name, "top1": top1, "top1_values": values, "seeds": seeds, "n": n})


def test_a_relation_uses_the_test_set_once_and_needs_three_seeds():
    # 2 points apart on 1,000 images: inside the noise whatever the number of seeds (pooling
    # 5 seeds as 5,000 independent predictions would have called it a finding).
    outcome, values = _relation(_model(0.62, 5), _model(0.60, 5, name="b"))
    assert outcome == "tied" and values["test_images"] == 1000
    # Far apart, but two seeds measure no seed-to-seed spread: not yet a finding.
    assert _relation(_model(0.9, 2), _model(0.5, 2, name="b"))[0] == "few_seeds"
    assert _relation(_model(0.9, 3), _model(0.5, 3, name="b"))[0] == "holds"
    assert _relation(_model(0.5, 3), _model(0.9, 3, name="b"))[0] == "reversed"


def test_seeds_add_their_spread_from_three_and_never_count_as_more_images():
    from mobilenet_repro.analysis.noise import interval_text, mean_interval, means_difference

    # Two seeds: each seed's own interval over the test images, never one over 2n images.
    text = interval_text([0.85, 0.86], 10_000)
    assert "one per seed" in text and "20,000" not in text
    # Three identical seeds: the test set's interval, no narrower.
    low, high = mean_interval([0.85] * 3, 10_000)
    assert high - low == pytest.approx(2 * 1.96 * (0.85 * 0.15 / 10_000) ** 0.5, rel=1e-3)
    # Seeds that disagree widen it; two seeds add nothing (their spread is not measured).
    assert mean_interval([0.80, 0.85, 0.90], 10_000)[0] < low
    narrow = means_difference([0.9, 0.9], 359, [0.5, 0.5], 359)
    assert narrow == pytest.approx(means_difference([0.9], 359, [0.5], 359))


def test_wilson_interval_of_a_test_accuracy():
    low, high = wilson(8520, 10_000)
    assert low == pytest.approx(0.8450, abs=5e-4) and high == pytest.approx(0.8588, abs=5e-4)
    low, high = wilson(0, 10)
    assert low == pytest.approx(0.0, abs=1e-12) and 0.27 < high < 0.29


def test_cheap_claims_are_run_here():
    from mobilenet_repro.analysis.claim_checks.numerics import (
        bn_folding,
        group_conv,
        relu_collapse_errors,
    )

    errors = relu_collapse_errors()
    assert errors[2] > errors[30] and errors[3] > errors[15]
    assert bn_folding(8, 16, 32, 1e-9)[0]
    holds, values = group_conv(16, 64, 3, 2)
    assert holds and 2 * values["split"]["weights"] == values["whole"]["weights"]


def test_the_documents_names_are_the_ones_the_docs_define():
    """The report names the source documents as docs/source-documents.md does (one name
    each, never a file number that reads like a random seed)."""
    from conftest import ROOT

    table = (ROOT / "docs/source-documents.md").read_text()
    for doc in load_claims()["documents"].values():
        assert f"| {doc['title']} | `{doc['file']}` |" in table, doc["title"]
