"""Claim-by-claim verdicts: every claim of the registry (claims.yaml) judged on this run's outputs.

Every claim has a type, and the type decides what a verdict can be (claims.yaml `types` and
`rules`, which the report prints): a *result* (a number or relation the document reports) is
reproduced, not reproduced, inconclusive, not comparable as run or not run here; a *design*
statement (what the network or protocol is) is checked against an independent reference
where one exists, and our runs' fidelity to it is recorded apart, never as a verdict on the
document; an *erratum* is listed with the reading the pipeline uses, and the cells it names
are read that way wherever a published table is compared; the document's own *arithmetic*
holds or fails; an *opinion* is not checkable as stated. A claim's own test is the check
kind its `check:` block names (and `fidelity_check:` for our runs' fidelity), registered in
`kinds.KINDS` by the `claim_checks` modules (this module never imports them, the caller
does). Every verdict comes with the kind that gave it and its values; the report words them.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd
import yaml

from mobilenet_repro.analysis.kinds import Finding, nested, run_kind, to_json, validate_checks
from mobilenet_repro.formatting import as_bool
from mobilenet_repro.paths import CLAIMS, RUNS_DIR

# Every claim has one type, and each type its own outcomes (claims.yaml `types`): only a
# result's verdict is a reproduction outcome; a design statement is checked against its
# reference where one exists and, apart from that, our runs' fidelity to it is recorded.
TYPES = ("result", "design", "erratum", "arithmetic", "opinion")
RESULT = ("reproduced", "not_reproduced", "inconclusive", "not_comparable", "not_run")
REFERENCE = ("reproduced", "not_reproduced", "not_run", "no_reference")
# A design statement's independent references (claims.yaml `fields.reference`): Keras's
# application as built here, or the counts a network's original paper prints for it (a
# network Keras does not have, built here as the statement says).
INDEPENDENT = ("keras", "paper")
# A reference that exists but that nothing here can reach (a protocol in another group's code
# or data): the statement is "not run here", with what checking it would take, never "no
# reference to check".
UNREACHED = "elsewhere"
FIDELITY = ("followed", "deviated", "not_run")
OUTCOMES = {
    "result": RESULT,
    "design": REFERENCE,
    "erratum": ("erratum",),
    "arithmetic": ("holds", "fails"),
    "opinion": ("not_checkable",),
}
VERDICTS = tuple(dict.fromkeys(v for outcomes in OUTCOMES.values() for v in outcomes))
VERDICT_WORDS = {
    "reproduced": "reproduced",
    "not_reproduced": "not reproduced",
    "inconclusive": "inconclusive",
    "not_comparable": "not comparable as run",
    "not_run": "not run here",
    "no_reference": "no reference to check",
    "erratum": "erratum",
    "holds": "arithmetic holds",
    "fails": "arithmetic fails",
    "not_checkable": "not checkable as stated",
    "followed": "followed",
    "deviated": "deviated",
}
COLUMNS = [
    "id",
    "document",
    "section",
    "type",
    "kind",
    "quote",
    "statement",
    "verdict",
    "check_kind",
    "values",
    "fidelity",
    "fidelity_kind",
    "fidelity_values",
    "errata",
    "consistency_only",
    "sources",
]

# Kinds the engine itself gives, from the claim's own fields rather than a `check:` block:
# the report renders them like registered kinds (report/templates/content/evidence.j2).
RULE_KINDS = (
    "opinion",  # not checkable, with the claim's `why`
    "erratum",  # the claim's `reading`
    "arithmetic",  # the document's own arithmetic, with the claim's `worked`
    "not_run",  # nothing in this configuration tests it: what it would take
    "no_check",  # this configuration could test it, but no check reads it yet
    "no_reference",  # a design statement with no independent reference
    "printed_values",  # the claim's published tables (`tested_by`) at the printed precision
    "no_run_uses_it",  # fidelity: no run of this configuration uses the statement
    "runs_follow",  # fidelity: our runs build the architecture as the reference is built
    "builder",  # fidelity: our builder's network checked as a reference would be
)
NO_CHECK = "no_check"


def load_claims(path: Path | str = CLAIMS) -> dict:
    return yaml.safe_load(Path(path).read_text())


@dataclass
class Evidence:
    """The output files a verdict may read, loaded on first use.

    `arch_dir` is the architecture stage's folder; `runs_csv` the runs table (None: no runs);
    `analysis_dir` the folder of the analyses' <experiment>/ folders (None: none); `runs_dir`
    the training runs' folder (paths.RUNS_DIR); `config` the checked configuration, whose
    experiments say which claims its runs can test.
    """

    arch_dir: Path
    config: dict
    runs_csv: Path | None = None
    analysis_dir: Path | None = None
    accuracy_csv: Path | None = None
    runs_dir: Path = Path(RUNS_DIR)
    known_configs: frozenset = frozenset()  # the configuration files the registry names
    _cache: dict = field(default_factory=dict, repr=False)
    # The output files read since the last `reading()`: a verdict's sources, recorded beside
    # it instead of being written into its sentence.
    read: set = field(default_factory=set, repr=False)
    errata_read: set = field(default_factory=set, repr=False)

    def reading(self) -> set:
        self.read, self.errata_read = set(), set()
        return self.read

    def arch(self, key: str) -> pd.DataFrame:
        self.read.add((Path(self.arch_dir) / f"{key}.csv").as_posix())
        if key not in self._cache:
            # Printed values stay as printed ("3.50", not 3.5).
            text = {"published_text": str, "ours_text": str, "published": str, "ours": str}
            self._cache[key] = pd.read_csv(Path(self.arch_dir) / f"{key}.csv", dtype=text)
        return self._cache[key]

    @property
    def runs(self) -> pd.DataFrame:
        if self.runs_csv is not None:
            self.read.add(Path(self.runs_csv).as_posix())
        return self._runs

    @cached_property
    def _runs(self) -> pd.DataFrame:
        if self.runs_csv is None or not Path(self.runs_csv).exists():
            from mobilenet_repro.analysis.results import RUNS_COLUMNS

            return pd.DataFrame(columns=[*RUNS_COLUMNS, "arch", "classes", "test_images"])
        return pd.read_csv(self.runs_csv)

    def analysis(self, experiment: str, table: str) -> pd.DataFrame | None:
        if self.analysis_dir is None:
            return None
        path = Path(self.analysis_dir) / experiment / f"{table}.csv"
        if not path.exists():
            return None
        self.read.add(path.as_posix())
        return pd.read_csv(path)

    def histories(self, experiment: str) -> pd.DataFrame:
        """Every history.csv of an experiment's runs, with the run's folder as `run`."""
        root = Path(self.runs_dir) / experiment
        files = sorted(root.rglob("history.csv"))
        self.read.update(p.as_posix() for p in files)
        frames = [pd.read_csv(p).assign(run=str(p.parent.relative_to(root))) for p in files]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def experiments(self) -> dict:
        return self.config.get("experiments", {})

    def graph(self, arch: str) -> pd.DataFrame:
        graph = self.arch("graph")
        return graph[(graph["model"] == arch) & (graph["head"] == "own")]

    def stat(self, arch: str, alpha: float, resolution: int, classes: int = 1000) -> pd.Series:
        stats = self.arch("stats")
        rows = stats[
            (stats["model"] == arch)
            & (stats["alpha"] == alpha)
            & (stats["resolution"] == resolution)
            & (stats["classes"] == classes)
            & (stats["head"] == "own")
        ]
        if rows.empty:
            raise LookupError(f"stats.csv has no {arch} {alpha} {resolution} px {classes}")
        return rows.iloc[0]


# --------------------------------------------------------------------------- the rules
def config_file(config: dict) -> str:
    """The repository's file of a configuration: config/config.yaml for the default, else
    config/<name>.yaml (which may not exist: a user's or a test's configuration)."""
    name = config.get("name", "default")
    return "config/config.yaml" if name == "default" else f"config/{name}.yaml"


def running_experiments(claim: dict, evidence: Evidence) -> list[str]:
    """The claim's experiments that this configuration runs: those listed for its file; for
    a configuration the registry never names (a user's, a test's), those of any file."""
    mapping = claim.get("experiments") or {}
    own = config_file(evidence.config)
    if own in mapping:
        wanted = set(mapping[own])
    elif own in evidence.known_configs:
        wanted = set()
    else:
        wanted = {e for ids in mapping.values() for e in ids}
    return sorted(wanted & set(evidence.experiments()))


def _needs(claim: dict) -> dict:
    """What testing a claim would take: the claim's `needs` and the configurations that
    test it (the report words it)."""
    return {"needs": _text(claim.get("needs")), "testable_in": list(claim.get("testable_in") or [])}


def _text(value) -> str:
    return " ".join(str(value or "").split())


def _arithmetic(expression: str) -> bool:
    """Evaluate the registry's arithmetic: numbers, operators, round/all/abs and tuples only."""
    tree = ast.parse(expression, mode="eval")
    allowed = (
        ast.Expression, ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.Compare, ast.Call, ast.Name,
        ast.Load, ast.Constant, ast.Tuple, ast.List, ast.GeneratorExp, ast.comprehension,
        ast.Store, ast.operator, ast.unaryop, ast.cmpop, ast.boolop,
    )  # fmt: skip
    for node in ast.walk(tree):
        if not isinstance(node, allowed):
            raise ValueError(f"arithmetic {expression!r}: {type(node).__name__} not allowed")
    names = {"round": round, "all": all, "abs": abs, "any": any}
    return bool(eval(compile(tree, "<claim>", "eval"), {"__builtins__": {}, **names}))  # noqa: S307


def _errata(claim: dict, registry_claims: dict) -> list[dict]:
    """The errata (misprints, contradictions) whose cells the claim's published tables hold."""
    tables = {t["published"] for t in _tables(claim)}
    return [
        e
        for e in registry_claims.values()
        if e.get("type") == "erratum"
        and any(cell["table"] in tables for cell in e.get("cells") or [])
    ]


def _tables(claim: dict) -> list[dict]:
    items = claim.get("tested_by") or []
    return [t for t in (items if isinstance(items, list) else []) if isinstance(t, dict)]


def _in_erratum(errata: list[dict], table: str, row, column: str) -> dict | None:
    for e in errata:
        for cell in e.get("cells") or []:
            rows = cell.get("rows")
            if (
                cell["table"] == table
                and cell.get("column", column) == column
                and (rows is None or str(row) in [str(r) for r in rows])
            ):
                return e
    return None


def _published_cells(claim: dict, evidence: Evidence, errata: list[dict]) -> dict:
    """The claim's published tables at the printed precision: cells compared and matched,
    those that differ, and the errata whose cells were read as they say."""
    matched, total, off, corrected = 0, 0, [], []
    for table in _tables(claim):
        # A column names a quantity of the count comparisons (params matches every
        # parameter convention, trainable_params too); structures have none.
        for key in ("verdicts",) if table.get("column") else ("verdicts", "structures"):
            frame = evidence.arch(key)
            part = frame[frame["table"] == table["published"]]
            if table.get("rows"):
                part = part[part["row"].isin(table["rows"])]
            if table.get("column"):
                part = part[part["quantity"].astype(str).str.contains(table["column"])]
            col = "quantity" if key == "verdicts" else "column"
            for r in part.itertuples():
                erratum = _in_erratum(errata, table["published"], r.row, getattr(r, col))
                # An erratum's cell that our build matches anyway is compared like any other,
                # so the counts here agree with the appendix's "cells differ".
                if erratum is not None and not as_bool(r.matches):
                    # A misprinted cell is read as the erratum says, never held against the
                    # document a second time.
                    corrected.append(erratum["id"])
                    continue
                total += 1
                if as_bool(r.matches):
                    matched += 1
                elif key == "verdicts":
                    # Another count of the same network that the printed value does match
                    # (without batch norm, folded...): the reader sees the convention at once.
                    also = getattr(r, "also_matches", "")
                    cell = {"row": str(r.row), "quantity": str(r.quantity),
                            "printed": str(r.published_text), "ours": str(r.ours_text)}  # fmt: skip
                    if isinstance(also, str) and also:
                        cell["also"] = also.split(";")
                    off.append(cell)
                else:
                    off.append({"row": str(r.row), "column": str(r.column)})
    return {
        "matched": matched,
        "compared": total,
        "differing": off,
        "errata": sorted(set(corrected)),
        "corrected": len(corrected),
    }


def _published(claim: dict, evidence: Evidence, errata: list[dict]) -> Finding | None:
    """A claim's published numbers against the built networks, at the printed precision."""
    if not _tables(claim):
        return None
    cells = _published_cells(claim, evidence, errata)
    if cells["compared"] == 0:
        return None
    # The errata it read cells through, for the claims index.
    evidence.errata_read.update(cells["errata"])
    return Finding("reproduced" if not cells["differing"] else "not_reproduced", cells)


def _not_run(claim: dict, evidence: Evidence) -> Finding | None:
    """`not_run` with what it would take, when nothing in this configuration tests the claim."""
    has_experiments = bool(claim.get("experiments"))
    if has_experiments and not running_experiments(claim, evidence):
        return Finding("not_run", {"reason": "not_in_this_configuration", **_needs(claim)})
    if not has_experiments and not claim.get("testable_in"):
        return Finding("not_run", {"reason": "nothing_produces_it", **_needs(claim)})
    return None


def _run_check(claim: dict, evidence: Evidence) -> Finding:
    return run_kind(claim["check"], evidence, claim)


def _judge_result(claim: dict, evidence: Evidence, errata: list[dict]) -> tuple[str, Finding]:
    if skip := _not_run(claim, evidence):
        return "not_run", skip
    if "check" in claim:
        return claim["check"]["kind"], _run_check(claim, evidence)
    if published := _published(claim, evidence, errata):
        return "printed_values", published
    outputs = [
        t if isinstance(t, str) else f"published table {t['published']}"
        for t in (claim.get("tested_by") or [])
    ]
    return NO_CHECK, Finding("not_run", {"outputs": outputs})


def _judge_design(claim: dict, evidence: Evidence, errata: list[dict]) -> tuple[str, Finding]:
    """A design statement against its independent reference (Keras's build, or the counts
    the network's original paper prints), if it has one."""
    if claim.get("reference") == UNREACHED:
        return "not_run", Finding("not_run", {"reason": "nothing_produces_it", **_needs(claim)})
    if claim.get("reference") not in INDEPENDENT:
        return "no_reference", Finding("no_reference", {"why": _text(claim.get("why"))})
    if "check" in claim:
        return claim["check"]["kind"], _run_check(claim, evidence)
    if published := _published(claim, evidence, errata):
        return "printed_values", published
    return NO_CHECK, Finding("not_run", {"outputs": []})


REFERENCE_SIDE = {"mobilenet_v1": 224, "mobilenet_v2": 224, "inception_v3": 299, "vgg16": 224}


def _trained_models(evidence: Evidence, arch: str) -> list[dict]:
    """The configured models of `arch` that this configuration's experiments train."""
    models = evidence.config.get("models", {})
    used = {m for exp in evidence.experiments().values() for m in exp.get("models", [])}
    return [models[m] for m in sorted(used) if models.get(m, {}).get("arch") == arch]


def _runs_follow(claim: dict, evidence: Evidence) -> Finding:
    """Fidelity of our runs to a statement about one architecture (`arch`): followed when
    they build it as the reference is built, deviated where the statement depends on a
    width or input size (`depends_on`) that our runs change, not run when none trains it."""
    arch = claim["arch"]
    models = _trained_models(evidence, arch)
    if not models:
        return Finding("not_run", {"arch": arch})
    depends = claim.get("depends_on") or []
    sides = sorted({int(m.get("resolution", 0)) for m in models})
    alphas = sorted({float(m.get("alpha", 1.0)) for m in models})
    values = {"arch": arch, "resolutions": sides, "alphas": alphas, "differs_in": []}
    if "resolution" in depends and arch in REFERENCE_SIDE and sides != [REFERENCE_SIDE[arch]]:
        values["differs_in"].append("resolution")
        values["reference_resolution"] = REFERENCE_SIDE[arch]
    if "width" in depends and alphas != [1.0]:
        values["differs_in"].append("width")
    return Finding("deviated" if values["differs_in"] else "followed", values)


def _judge_fidelity(
    claim: dict, evidence: Evidence, errata: list[dict], reference: tuple[str, Finding]
) -> tuple[str, Finding] | None:
    """Did our runs (or our builder) follow a design statement: never a verdict on the
    document. A statement about the document's own network is followed when our builder's
    network satisfies it (the same check that would test a reference) and our runs do not
    change what it depends on. `reference` is the claim's reference check, as judged."""
    if claim.get("reference") == UNREACHED and "fidelity_check" not in claim:
        return "no_run_uses_it", Finding("not_run", {})
    if "fidelity_check" in claim:
        if claim.get("experiments") and not running_experiments(claim, evidence):
            return "no_run_uses_it", Finding("not_run", {})
        return claim["fidelity_check"]["kind"], run_kind(claim["fidelity_check"], evidence, claim)
    if claim.get("reference") in INDEPENDENT:
        if not claim.get("arch"):
            return None
        runs = _runs_follow(claim, evidence)
        check_kind, check = reference
        lacks = check.outcome == "not_reproduced" or check.values.get("omitted")
        if runs.outcome == "followed" and "check" in claim and lacks:
            # Our runs use the reference's builder: what it lacks, they lack too.
            values = {"runs": runs.values, "check": nested(check_kind, check)}
            return "builder", Finding("deviated", values)
        return "runs_follow", runs
    if "check" in claim:
        check_kind, check = claim["check"]["kind"], _run_check(claim, evidence)
    elif published := _published(claim, evidence, errata):
        check_kind, check = "printed_values", published
    else:
        return None
    values = {"check": nested(check_kind, check)}
    runs = _runs_follow(claim, evidence) if claim.get("arch") else None
    if runs and runs.outcome == "not_run" and claim.get("kind") == "recipe":
        # How the authors trained a network: only a run of it can follow that, so with
        # none in this configuration there is no fidelity to judge (a reviewer's audit).
        return "runs_follow", runs
    if runs and check.outcome == "reproduced" and runs.outcome == "deviated":
        return "builder", Finding("deviated", {**values, "runs": runs.values})
    outcome = {"reproduced": "followed", "not_reproduced": "deviated"}.get(check.outcome, "not_run")
    return "builder", Finding(outcome, values)


def _judge_rule(claim: dict) -> tuple[str, Finding]:
    """An opinion, an erratum or the document's own arithmetic: decided by the claim's fields."""
    if claim["type"] == "opinion":
        why = claim.get("why") or claim.get("needs") or "it names no number or relation"
        return "opinion", Finding("not_checkable", {"why": _text(why)})
    if claim["type"] == "erratum":
        reading = _text(claim.get("reading") or claim.get("note"))
        return "erratum", Finding("erratum", {"reading": reading})
    holds = _arithmetic(claim["arithmetic"])
    values = {"holds": holds, "worked": _text(claim.get("worked"))}
    return "arithmetic", Finding("holds" if holds else "fails", values)


def _judge_identity(claim: dict, evidence: Evidence) -> tuple[str, Finding]:
    """A cost formula or ratio that our counter computes with the same algebra: its check
    over the built layers shows the identity holds, which is arithmetic, not a measurement
    that could have failed to reproduce (a reviewer's audit: counted apart from results)."""
    found = _run_check(claim, evidence)
    outcome = {"reproduced": "holds", "not_reproduced": "fails"}.get(found.outcome)
    if outcome is None:
        raise ValueError(f"claim {claim['id']}: identity check gave {found.outcome!r}")
    # The kind's own outcome stays with its values: its sentence is worded by it.
    values = {**found.values, "identity": True, "check_outcome": found.outcome}
    return claim["check"]["kind"], Finding(outcome, values)


def judge(claim: dict, evidence: Evidence, errata: list[dict] = ()) -> dict:
    """One claim's verdict under its type's rules (claims.yaml `types`), with the kind that
    gave it and its values."""
    kind = claim.get("type")
    if kind not in TYPES:
        raise ValueError(f"claim {claim['id']} has type {kind!r}; allowed: {', '.join(TYPES)}")
    evidence.errata_read = set()
    out = {"fidelity": "", "fidelity_kind": "", "fidelity_values": {}}
    if kind == "arithmetic" and "check" in claim:
        check_kind, finding = _judge_identity(claim, evidence)
    elif kind in ("opinion", "erratum", "arithmetic"):
        check_kind, finding = _judge_rule(claim)
    elif kind == "result":
        check_kind, finding = _judge_result(claim, evidence, errata)
    else:
        check_kind, finding = _judge_design(claim, evidence, errata)
        fidelity = _judge_fidelity(claim, evidence, errata, (check_kind, finding))
        if fidelity is not None:
            fidelity_kind, found = fidelity
            out.update(
                fidelity=found.outcome, fidelity_kind=fidelity_kind, fidelity_values=found.values
            )
    out.update(verdict=finding.outcome, check_kind=check_kind, values=finding.values)
    allowed = OUTCOMES[kind]
    if out["verdict"] not in allowed:
        raise ValueError(
            f"claim {claim['id']} ({kind}) got verdict {out['verdict']!r} from kind "
            f"{check_kind}; allowed: {allowed}"
        )
    if out["fidelity"] and out["fidelity"] not in FIDELITY:
        raise ValueError(f"claim {claim['id']}: fidelity {out['fidelity']!r} not in {FIDELITY}")
    out["errata"] = ";".join(sorted(evidence.errata_read))
    return out


def judge_all(registry: dict, evidence: Evidence) -> pd.DataFrame:
    """One row per claim of the registry, in its order."""
    validate_checks(registry)
    evidence.known_configs = frozenset(
        f
        for claim in registry["claims"]
        for f in [*(claim.get("testable_in") or []), *(claim.get("experiments") or {})]
    )
    by_id = {c["id"]: c for c in registry["claims"]}
    rows = []
    for claim in registry["claims"]:
        read = evidence.reading()
        result = judge(claim, evidence, _errata(claim, by_id))
        rows.append(
            {
                "id": claim["id"],
                "document": claim["document"],
                "section": claim["section"],
                "type": claim["type"],
                "kind": claim["kind"],
                "quote": _text(claim["quote"]),
                "statement": claim["statement"],
                "verdict": result["verdict"],
                "check_kind": result["check_kind"],
                "values": to_json(result["values"]),
                "fidelity": result["fidelity"],
                "fidelity_kind": result["fidelity_kind"],
                "fidelity_values": to_json(result["fidelity_values"]),
                "errata": result["errata"],
                "consistency_only": bool(claim.get("consistency_only")),
                "sources": ";".join(sorted(read)),
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)
