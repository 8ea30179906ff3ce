"""Claims registry and its verdict rules: every claim judged, the document's arithmetic
evaluated safely, untestable claims saying what they need."""

from __future__ import annotations

import pandas as pd
import pytest

from mobilenet_repro.analysis import claim_checks  # noqa: F401 - registers the checks
from mobilenet_repro.analysis.claims import (
    CHECKS,
    Evidence,
    _arithmetic,
    judge,
    load_claims,
)
from mobilenet_repro.analysis.noise import wilson


def test_registry_ids_are_unique_and_every_check_names_a_claim():
    claims = load_claims()["claims"]
    ids = [c["id"] for c in claims]
    assert len(ids) == len(set(ids))
    assert set(CHECKS) <= set(ids)


@pytest.mark.parametrize(
    "expression", ["__import__('os').system('true')", "open('/etc/passwd')", "(1).__class__"]
)
def test_arithmetic_refuses_anything_but_numbers(expression):
    with pytest.raises((ValueError, NameError)):
        _arithmetic(expression)


def test_arithmetic_of_the_documents():
    assert _arithmetic("round(1/1024 + 1/9, 3) == 0.112")
    assert not _arithmetic("round(3.47 / 4.24 * 100) == 80")  # 82: the tutorial's slip


def test_a_claim_nothing_here_runs_says_what_it_needs(tmp_path):
    claim = {"id": "x.y", "testable_in": [], "needs": "ImageNet and GPU-weeks"}
    evidence = Evidence(arch_dir=tmp_path, config={"name": "default", "experiments": {}})
    verdict, text, _ = judge(claim, evidence)
    assert verdict == "not_testable" and "ImageNet and GPU-weeks" in text
    claim = {"id": "x.z", "testable_in": ["config/paper.yaml"], "needs": None,
             "experiments": {"config/paper.yaml": ["stanford_dogs"]}}  # fmt: skip
    verdict, text, _ = judge(claim, evidence)
    assert verdict == "not_testable" and "config/paper.yaml" in text


def test_printed_numbers_are_summarised_from_the_architecture_verdicts(tmp_path):
    pd.DataFrame(
        [
            {"table": "t", "row": "A", "column": "Params", "quantity": "params",
             "published_text": "4.2M", "ours_text": "4.23", "matches": True},
            {"table": "t", "row": "B", "column": "Params", "quantity": "params",
             "published_text": "3.4M", "ours_text": "3.50", "matches": False},
        ]
    ).to_csv(tmp_path / "verdicts.csv", index=False)  # fmt: skip
    pd.DataFrame(columns=["table", "row", "column", "matches"]).to_csv(
        tmp_path / "structures.csv", index=False
    )
    claim = {"id": "x.p", "testable_in": ["config/config.yaml"],
             "tested_by": [{"published": "t", "column": "params"}]}  # fmt: skip
    evidence = Evidence(arch_dir=tmp_path, config={"name": "default", "experiments": {}})
    verdict, text, _ = judge(claim, evidence)
    assert verdict == "partly"
    assert "1 of 2 printed values match" in text and "printed 3.4M, ours 3.50" in text


def test_wilson_interval_of_a_test_accuracy():
    low, high = wilson(8520, 10_000)
    assert low == pytest.approx(0.8450, abs=5e-4) and high == pytest.approx(0.8588, abs=5e-4)
    low, high = wilson(0, 10)
    assert low == pytest.approx(0.0, abs=1e-12) and 0.27 < high < 0.29


def test_the_documents_names_are_the_ones_the_docs_define():
    """The report names the source documents as docs/source-documents.md does (one name
    each, never a file number that reads like a random seed)."""
    from conftest import ROOT

    table = (ROOT / "docs/source-documents.md").read_text()
    for doc in load_claims()["documents"].values():
        assert f"| {doc['title']} | `{doc['file']}` |" in table, doc["title"]
