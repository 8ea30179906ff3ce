"""Check kinds: reusable tests that claims name in their `check:` (or `fidelity_check:`) block.

A kind is registered by name with the parameters it takes; each claim of claims.yaml that
uses it gives those parameters (numbers, thresholds, models), so a threshold lives beside the
statement it reads, not inside Python. A kind returns a `Finding`: an outcome and a dict of
structured values (numbers, counts, lists); the report's templates (report/templates/
content/evidence.j2, one macro per kind) turn them into the sentence a reader sees, so the
verdicts table holds no prose. Like the claim checks before them, this module never imports
the kinds: the caller imports the modules that register them (`analysis.claim_checks`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Finding:
    """A check's outcome with the values it read; `values` keys are stable per kind."""

    outcome: str
    values: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Kind:
    name: str
    fn: Callable  # fn(evidence, params, claim) -> Finding
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    choices: dict = field(default_factory=dict)  # parameter -> the values it may take


KINDS: dict[str, Kind] = {}
BLOCKS = ("check", "fidelity_check")  # the claim keys that name a kind


def kind(name: str, required=(), optional=(), choices=None):
    """Register `fn(evidence, params, claim) -> Finding` as the kind `name`; `choices` names
    the values a parameter may take (a kind's sub-tests), so a misspelt one fails when the
    registry is validated rather than when the claim is judged."""

    def register(fn: Callable) -> Callable:
        if name in KINDS:
            raise ValueError(f"check kind {name!r} registered twice: {KINDS[name].fn} and {fn}")
        KINDS[name] = Kind(name, fn, tuple(required), tuple(optional), dict(choices or {}))
        return fn

    return register


def params_of(block: dict) -> dict:
    return {k: v for k, v in block.items() if k != "kind"}


def validate_block(claim_id: str, key: str, block) -> None:
    """Refuse a block naming no registered kind, or lacking or adding a parameter."""
    where = f"claim {claim_id}: {key}"
    if not isinstance(block, dict) or "kind" not in block:
        raise ValueError(f"{where} must be a mapping with `kind`; got {block!r}")
    spec = KINDS.get(block["kind"])
    if spec is None:
        raise ValueError(
            f"{where} names kind {block['kind']!r}; registered kinds: {', '.join(sorted(KINDS))}"
        )
    given = set(params_of(block))
    missing = [p for p in spec.required if p not in given]
    unknown = sorted(given - set(spec.required) - set(spec.optional))
    if missing or unknown:
        raise ValueError(
            f"{where} (kind {spec.name}) received {sorted(given)}: "
            + (f"missing {missing}; " if missing else "")
            + (f"unknown {unknown}; " if unknown else "")
            + f"required {list(spec.required)}, optional {list(spec.optional)}"
        )
    for param, allowed in spec.choices.items():
        if param in block and block[param] not in allowed:
            raise ValueError(
                f"{where} (kind {spec.name}) has {param} {block[param]!r}; "
                f"allowed: {', '.join(map(str, allowed))}"
            )


def validate_checks(registry: dict) -> None:
    """Every `check:` and `fidelity_check:` block of the registry against the kinds."""
    for claim in registry["claims"]:
        for key in BLOCKS:
            if key in claim:
                validate_block(claim["id"], key, claim[key])


def run_kind(block: dict, evidence, claim: dict) -> Finding:
    finding = KINDS[block["kind"]].fn(evidence, params_of(block), claim)
    if not isinstance(finding, Finding):
        raise TypeError(f"kind {block['kind']} returned {finding!r}, not a Finding")
    return finding


def plain(value):
    """Values as JSON's own types: numpy scalars unwrapped, tuples and sets as lists, and a
    missing number (NaN) as null."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value) if isinstance(value, set | frozenset) else value
        return [plain(v) for v in items]
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def to_json(values: dict) -> str:
    return json.dumps(plain(values), allow_nan=False) if values else ""


def nested(kind_name: str, finding: Finding) -> dict:
    """A finding inside another's values (our runs' fidelity reading a reference check)."""
    return {"kind": kind_name, "outcome": finding.outcome, "values": finding.values}
