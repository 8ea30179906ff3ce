"""The report's claims: every claim of the registry with its verdict (check_claims' verdicts.csv).

Judging is the check_claims rule's (analysis.claims); this only arranges its table for the
templates: claims by document, the count of each verdict (consistency checks, which compare
a library with itself, on a line of their own), and each verdict as a Number of kind
"verdict" naming the file and the claim, so a change of verdict between builds is reported.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mobilenet_repro.analysis.claims import VERDICT_WORDS, VERDICTS, load_claims
from mobilenet_repro.formatting import as_bool
from mobilenet_repro.paths import CLAIMS
from mobilenet_repro.report.numbers import Number

KIND_WORDS = {
    "architecture_count": "architecture counts and structure",
    "cost_formula": "cost formulas",
    "comparison": "comparisons between networks",
    "trained_accuracy": "trained accuracies and learning curves",
    "recipe": "training recipes",
    "qualitative": "qualitative statements",
}
GOOD = {"supported": True, "partly": None, "not_supported": False, "not_testable": None}


def _count(n: int, source: str, label: str) -> Number:
    return Number(str(n), label, source, "verdict", kind="count")


def claims_context(path: Path | str | None, registry_path: Path | str = CLAIMS) -> dict:
    """Documents with their claims, and the scorecard of claims by verdict."""
    if path is None or not Path(path).is_file():
        return {}
    source = Path(path).as_posix()
    registry = load_claims(registry_path)
    table = pd.read_csv(path, keep_default_na=False)
    table["consistency_only"] = table["consistency_only"].map(as_bool)
    documents = []
    for key, doc in registry["documents"].items():
        part = table[table["document"] == key]
        claims = []
        for r in part.itertuples():
            word = Number(VERDICT_WORDS[r.verdict], r.id, source, "verdict", kind="verdict")
            claims.append(
                {
                    "id": r.id,
                    "section": r.section,
                    "quote": r.quote,
                    "statement": r.statement,
                    "verdict": r.verdict,
                    "verdict_word": word,
                    "good": GOOD[r.verdict],
                    "evidence": r.evidence,
                    "consistency_only": r.consistency_only,
                }
            )
        documents.append(
            {
                "key": key,
                "title": doc["title"],
                "title_cap": doc["title"][0].upper() + doc["title"][1:],
                "description": " ".join(doc["description"].split()),
                "claims": claims,
                "counts": {
                    v: _count(int((part["verdict"] == v).sum()), source, f"{key}: {v}")
                    for v in VERDICTS
                },
            }
        )
    checked = table[~table["consistency_only"]]
    consistency = table[table["consistency_only"]]
    scorecard = []
    for what, part in (("claims of the documents", checked), ("consistency checks", consistency)):
        row = {"what": what, "all": _count(len(part), source, f"{what}: all")}
        for v in VERDICTS:
            row[v] = _count(int((part["verdict"] == v).sum()), source, f"{what}: {v}")
        scorecard.append(row)
    by_kind = []
    for kind, words in KIND_WORDS.items():
        part = checked[checked["kind"] == kind]
        if len(part):
            by_kind.append(
                {
                    "kind": words,
                    "all": _count(len(part), source, f"{kind}: all"),
                    **{
                        v: _count(int((part["verdict"] == v).sum()), source, f"{kind}: {v}")
                        for v in VERDICTS
                    },
                }
            )
    return {
        "by_kind": by_kind,
        "n": len(table),
        "documents": documents,
        "scorecard": scorecard,
        "words": VERDICT_WORDS,
        "meanings": {v: " ".join(registry["verdicts"][v].split()) for v in VERDICTS},
        "precision_rule": " ".join(registry["precision_rule"].split()),
        "source": source,
    }
