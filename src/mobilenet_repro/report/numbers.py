"""Every number in the report with where it came from: `Number`, and the record of a build.

A `Number` is the text the report prints (a `str`, so templates use it as they would any
string) that also carries its provenance: a label that names it, the file and field it was
read from, the runs it derives from and their configuration fingerprints. The report's
context builders make them where they format a value (`sourced` for a table of rows); the
HTML environment's finalize hook (`Recorder.html`) wraps each one it prints in a span whose
title names the source (shown on hover, offline) and records the appearance; `Recorder.record`
then assigns each appearance the heading above it. The result is results/report/<name>/numbers.json.

Kinds: "result" (a measured or derived number), "runtime" (wall-clock times, throughput and
memory of jobs: they change with every rerun and with the machine's load), "count" (how many
of something), "config" (a value of the configuration), "environment" (package versions,
hardware), "published" (a number from report/published.yaml), "verdict" (a word, not a
number, whose flips are reported).

Not recorded: the build's date and commit, ids and names that contain digits (model ids,
labels, job names), the configuration's YAML listing, the configured models' table (an echo
of the configuration), and numbers inside sentences quoted from report/published.yaml or a
data set's manifest (notes, citations, datasheet fields): those files are their source.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from html import unescape

from markupsafe import Markup, escape

KINDS = ("result", "runtime", "count", "config", "environment", "published", "verdict")
# The first number in a printed value ("85.2 ± 0.3" -> 85.2, "+1,234" -> 1234, "-" -> None).
_FIRST_NUMBER = re.compile(r"[+\-−]?\d[\d,]*(?:\.\d+)?(?:[eE][+\-]?\d+)?")


def parse_value(text: str) -> float | None:
    """The first number in a printed value, as a float; None when there is none."""
    found = _FIRST_NUMBER.search(str(text))
    if not found:
        return None
    value = float(found.group().replace(",", "").replace("−", "-"))
    return value if math.isfinite(value) else None


class Number(str):
    """A value as the report prints it, with its provenance (see the module docstring)."""

    label: str
    source: str
    field: str
    runs: tuple[str, ...]
    fingerprints: tuple[str, ...]
    kind: str

    def __new__(
        cls,
        text,
        label: str,
        source: str,
        field: str,
        runs: Iterable[str] = (),
        fingerprints: Iterable[str] = (),
        kind: str = "result",
    ):
        if kind not in KINDS:
            raise ValueError(f"Number kind {kind!r} is not one of {', '.join(KINDS)}")
        self = super().__new__(cls, str(text))
        self.label = str(label)
        self.source = str(source)
        self.field = str(field)
        self.runs = tuple(runs)
        self.fingerprints = tuple(f for f in fingerprints if f)
        self.kind = kind
        return self

    def __reduce__(self):  # copies and pickles keep the provenance
        args = (str(self), self.label, self.source, self.field, self.runs, self.fingerprints)
        return (Number, (*args, self.kind))

    @property
    def tooltip(self) -> str:
        """What the HTML shows on hover: the label, the file and field, the fingerprints."""
        text = f"{self.label} | {self.source}: {self.field}"
        if self.fingerprints:
            text += f" | config fingerprint {', '.join(self.fingerprints)}"
        return text

    def entry(self, section: str) -> dict:
        """This appearance as one entry of numbers.json."""
        return {
            "section": section,
            "label": self.label,
            "value": str(self),
            "number": None if self.kind == "verdict" else parse_value(self),
            "source": self.source,
            "field": self.field,
            "runs": list(self.runs),
            "fingerprints": list(self.fingerprints),
            "kind": self.kind,
        }


def sourced(
    rows: list[dict],
    fields: dict[str, str],
    source: str,
    label,
    runs=None,
    fingerprints=None,
    kind: str = "result",
    kinds: dict[str, str] | None = None,
) -> list[dict]:
    """Turn `fields` (context key -> source field) of each row into Numbers, in place.

    `label(row, key)` names one number; `runs(row)` and `fingerprints(row)` give the runs it
    derives from; `kinds` overrides `kind` per context key. Returns the rows.
    """
    for row in rows:
        for key, field in fields.items():
            if key not in row or isinstance(row[key], Number):
                continue
            row[key] = Number(
                row[key],
                label=label(row, key),
                source=source,
                field=field,
                runs=runs(row) if runs else (),
                fingerprints=fingerprints(row) if fingerprints else (),
                kind=(kinds or {}).get(key, kind),
            )
    return rows


# ----------------------------------------------------------------------------- recording
_HEADING = re.compile(r"<h([2-6])>(.*?)</h\1>", re.S)
_SPAN = re.compile(r'<span class="n" data-n="(\d+)"')
_TAG = re.compile(r"<[^>]+>")


class Recorder:
    """Collects the Numbers one HTML rendering prints (install `html` as its finalize)."""

    def __init__(self):
        self.printed: list[Number] = []

    def html(self, value):
        """Jinja finalize: a Number becomes a span titled with its source, and is recorded."""
        if not isinstance(value, Number):
            return value
        self.printed.append(value)
        index = len(self.printed) - 1
        return Markup(
            f'<span class="n" data-n="{index}" title="{escape(value.tooltip)}">'
            f"{escape(str(value))}</span>"
        )

    def record(self, html: str) -> list[dict]:
        """Each printed Number with the heading path above it (e.g. "Results › Tiny")."""
        events = [(m.start(), "h", m) for m in _HEADING.finditer(html)]
        events += [(m.start(), "n", m) for m in _SPAN.finditer(html)]
        path: list[str] = []
        entries = []
        for _, kind, match in sorted(events, key=lambda e: e[0]):
            if kind == "h":
                level = int(match.group(1)) - 1
                title = " ".join(unescape(_TAG.sub("", match.group(2))).split())
                path = path[: level - 1] + [title]
            else:
                number = self.printed[int(match.group(1))]
                entries.append(number.entry(" › ".join(path) or "Title and abstract"))
        return entries
