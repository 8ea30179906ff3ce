"""The report's claims: every claim of the registry with its verdict (check_claims' verdicts.csv).

Judging is the check_claims rule's (analysis.claims); this arranges its table for the
templates: the rules and the types' verdicts as the registry defines them, the scorecard
(only results count as reproduction outcomes; design statements against their reference,
our fidelity, errata, arithmetic and opinions each on a line of their own, and consistency
checks of Keras against itself apart from the documents' results), the claims by document,
the fidelity table and the errata. Every count and verdict is a Number naming the file and
the claim, so a change of verdict between builds is reported.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from mobilenet_repro.analysis.claims import FIDELITY, OUTCOMES, VERDICT_WORDS, load_claims
from mobilenet_repro.formatting import as_bool
from mobilenet_repro.paths import CLAIMS
from mobilenet_repro.report.numbers import Number

TYPE_WORDS = {
    "result": "results",
    "design": "design statements",
    "erratum": "errata",
    "arithmetic": "the documents' own arithmetic",
    "opinion": "opinions",
}
# True: the document's claim stands; False: it does not; None: neither (not judged, or a
# statement about our runs rather than the document).
GOOD = {"reproduced": True, "not_reproduced": False, "holds": True, "fails": False}


def _count(n: int, source: str, label: str) -> Number:
    return Number(str(n), label, source, "verdict", kind="count")


def _text(value) -> str:
    return " ".join(str(value or "").split())


def _line(what: str, part: pd.DataFrame, column: str, outcomes, source: str, words=None) -> dict:
    words = {**VERDICT_WORDS, **(words or {})}
    return {
        "what": what,
        "all": _count(len(part), source, f"{what}: all"),
        "counts": [
            (words[v], _count(int((part[column] == v).sum()), source, f"{what}: {v}"))
            for v in outcomes
        ],
    }


# Agreement of a count the document copied from Keras with Keras is consistency, never a
# reproduction: its line says so in its own words.
CONSISTENCY_WORDS = {"reproduced": "consistent", "not_reproduced": "inconsistent"}


def _verdict(r, source: str, column: str = "verdict") -> Number:
    """A claim's verdict in words; a consistency check's in the scorecard's words for it."""
    words = VERDICT_WORDS
    if column == "verdict" and as_bool(r["consistency_only"]):
        words = VERDICT_WORDS | CONSISTENCY_WORDS
    return Number(words[r[column]], r["id"], source, column, kind="verdict")


def _values(text: str) -> dict:
    return json.loads(text) if text else {}


def _said(check_kind: str, values: str) -> str:
    """What a not-run claim's evidence says (content/evidence.j2 `not_run`): its claim's
    `needs` where it has one, else the configurations that test it; "" for any other."""
    if check_kind != "not_run":
        return ""
    v = _values(values)
    return json.dumps([v.get("reason"), v.get("needs") or v.get("testable_in")])


def _claim(r, source: str, shared: set, entry: dict) -> dict:
    """A claim for the templates: its verdict with the kind that gave it and the values it
    found, which content/evidence.j2 words (a not-run claim of `shared` is said once, in
    its document's group); `entry` is the claim's registry entry (its check parameters)."""
    return {
        "id": r["id"],
        "section": r["section"],
        "quote": r["quote"],
        "statement": r["statement"],
        "type": r["type"],
        "verdict_word": _verdict(r, source),
        "good": GOOD.get(r["verdict"]),
        "outcome": r["verdict"],
        "check_kind": "" if r["id"] in shared else r["check_kind"],
        "values": _values(r["values"]),
        "fidelity": _verdict(r, source, "fidelity") if r["fidelity"] else "",
        "fidelity_outcome": r["fidelity"],
        "fidelity_kind": r["fidelity_kind"],
        "fidelity_values": _values(r["fidelity_values"]),
        "claim": entry,
        "consistency_only": r["consistency_only"],
        # Results that count in the scorecard: consistency checks are Keras's own.
        "scored_result": r["type"] == "result" and not r["consistency_only"],
    }


def _documents(table: pd.DataFrame, registry: dict, source: str) -> list[dict]:
    """Each document with its claims; what a claim not run here would take is often the same
    for many claims, so it is said once per document with the claims it applies to."""
    by_id = {c["id"]: c for c in registry["claims"]}
    said = zip(table["check_kind"], table["values"], strict=True)
    table = table.assign(said=[_said(k, v) for k, v in said])
    repeated = table[table["said"] != ""]["said"].value_counts()
    repeated = set(repeated[repeated > 1].index)
    own = table[~table["consistency_only"].astype(bool)]
    documents = []
    for key, doc in registry["documents"].items():
        part = table[table["document"] == key]
        shared = part[part["said"].isin(repeated)]
        documents.append(
            {
                "key": key,
                "title": doc["title"],
                "title_cap": doc["title"][0].upper() + doc["title"][1:],
                "description": _text(doc["description"]),
                "claims": [
                    _claim(r, source, set(shared["id"]), by_id.get(r["id"], {}))
                    for _, r in part.iterrows()
                ],
                "not_run_groups": [
                    {
                        "kind": "not_run",
                        "values": _values(group["values"].iloc[0]),
                        "claim": by_id[group["id"].iloc[0]],
                        "ids": list(group["id"]),
                    }
                    for _, group in shared.groupby("said", sort=False)
                ],
                # Consistency checks are Keras's own, counted apart as in the scorecard, so
                # that the columns sum to the scorecard's lines.
                "by_type": [
                    _count(
                        int(((own["type"] == t) & (own["document"] == key)).sum()),
                        source,
                        f"{key}: {t}",
                    )
                    for t in TYPE_WORDS
                ]
                + [_count(int(part["consistency_only"].sum()), source, f"{key}: consistency")],
            }
        )
    return documents


def _scorecard(table: pd.DataFrame, source: str) -> list[dict]:
    """One line per kind of outcome: only results are reproduction outcomes."""
    own = table[~table["consistency_only"]]
    of_type = lambda t: own[own["type"] == t]  # noqa: E731
    design = of_type("design")
    return [
        _line("results of the documents", of_type("result"), "verdict", OUTCOMES["result"], source),
        _line(
            "design statements, against an independent reference where one exists",
            design,
            "verdict",
            ("reproduced", "not_reproduced", "not_run", "no_reference"),
            source,
        ),
        _line(
            "our fidelity to design statements",
            design[design["fidelity"] != ""],
            "fidelity",
            FIDELITY,
            source,
        ),
        _line(
            "arithmetic of the documents",
            of_type("arithmetic"),
            "verdict",
            OUTCOMES["arithmetic"],
            source,
        ),  # fmt: skip
        _line("errata", of_type("erratum"), "verdict", OUTCOMES["erratum"], source),
        _line("opinions", of_type("opinion"), "verdict", OUTCOMES["opinion"], source),
        _line(
            "claims checked only for consistency (the document prints Keras's own counts)",
            table[table["consistency_only"]],
            "verdict",
            ("reproduced", "not_reproduced"),
            source,
            CONSISTENCY_WORDS,
        ),
    ]


def _fidelity(table: pd.DataFrame, registry: dict, source: str) -> list[dict]:
    by_id = {c["id"]: c for c in registry["claims"]}
    return [
        {
            "statement": r["statement"],
            "document": registry["documents"][r["document"]]["title"],
            "fidelity": _verdict(r, source, "fidelity"),
            "outcome": r["fidelity"],
            "kind": r["fidelity_kind"],
            "values": _values(r["fidelity_values"]),
            "claim": by_id.get(r["id"], {}),
        }
        for _, r in table[table["fidelity"] != ""].iterrows()
    ]


def _errata(table: pd.DataFrame, registry: dict) -> list[dict]:
    by_id = {c["id"]: c for c in registry["claims"]}
    errata = []
    for _, r in table[table["type"] == "erratum"].iterrows():
        readers = table[table["errata"].str.split(";").map(lambda ids, i=r["id"]: i in ids)]
        errata.append(
            {
                "id": r["id"],
                "document": registry["documents"][r["document"]]["title"],
                "section": r["section"],
                "statement": r["statement"],
                "reading": _text(by_id[r["id"]].get("reading")),
                "readers": list(readers["id"]),
            }
        )
    return errata


def _types(registry: dict) -> list[dict]:
    return [
        {
            "type": t,
            "words": TYPE_WORDS[t],
            "what": _text(spec["what"]),
            "verdicts": [(VERDICT_WORDS[v], _text(m)) for v, m in spec["verdicts"].items()],
            "fidelity": [(VERDICT_WORDS[v], _text(m)) for v, m in spec.get("fidelity", {}).items()],
        }
        for t, spec in registry["types"].items()
    ]


def claims_context(path: Path | str | None, registry_path: Path | str = CLAIMS) -> dict:
    """The claims section's values: rules, scorecard, claims by document, fidelity, errata."""
    if path is None or not Path(path).is_file():
        return {}
    source = Path(path).as_posix()
    registry = load_claims(registry_path)
    table = pd.read_csv(path, keep_default_na=False)
    table["consistency_only"] = table["consistency_only"].map(as_bool)
    scorecard = _scorecard(table, source)
    return {
        "n": _count(len(table), source, "claims: all"),
        "documents": _documents(table, registry, source),
        "type_words": [*TYPE_WORDS.values(), "claims checked for consistency only"],
        "scorecard": scorecard,
        "results": scorecard[0],
        "types": _types(registry),
        "rules": [_text(r) for r in registry["rules"]],
        "precision_rule": _text(registry["precision_rule"]),
        "fidelity": _fidelity(table, registry, source),
        "errata": _errata(table, registry),
        "source": source,
    }
