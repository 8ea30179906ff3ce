"""Number provenance and the Changes section: records, their comparison, both outputs."""

from __future__ import annotations

import json

import jinja2
import pytest

from mobilenet_repro.report.changes import (
    FORMAT,
    compare,
    keep_record,
    load_record,
    previous_record,
)
from mobilenet_repro.report.numbers import Number, Recorder, parse_value, sourced


def entry(label, value, kind="result", runs=("e/d/m/seed0",), section="Results"):
    return {
        "section": section,
        "label": label,
        "value": value,
        "number": None if kind == "verdict" else parse_value(value),
        "source": "results/x.csv",
        "field": label,
        "runs": list(runs),
        "fingerprints": [],
        "kind": kind,
    }


def run_record(lr=0.002, metrics="aaa", data="d1", keras="3.15.1", threads=1):
    return {
        "fingerprint": f"fp{lr}",
        "spec": {"experiment": "e", "dataset": "d", "model_id": "m", "seed": 0}
        | {"recipe": {"learning_rate": lr, "epochs": 1}},
        "metrics": "results/runs/e/d/m/seed0/metrics.json",
        "metrics_sha256": metrics,
        "data_sha256": data,
        "versions": {"keras": keras},
        "hardware": {"threads": threads},
    }


def make(numbers, runs, files=None):
    """A record as report/build.py writes it."""
    files = files or {"src/a.py": {"group": "code", "sha256": "1"}}
    about = {"format": FORMAT, "generated": "then", "commit": "c0ffee"}
    return about | {"numbers": numbers, "runs": runs, "files": files}


def test_parse_value_reads_the_first_printed_number():
    assert parse_value("91.7 ± 0.3") == 91.7
    assert parse_value("+1,234") == 1234
    assert parse_value("−3.5") == -3.5
    assert parse_value("-") is None
    assert parse_value("1.2e-05") == 1.2e-05


def test_numbers_show_their_source_on_hover_and_are_recorded_under_their_heading():
    recorder = Recorder()
    env = jinja2.Environment(autoescape=True, finalize=recorder.html)
    top1 = Number("91.7 ± 0.3", "e: m on d: test top-1 (%)", "results/t.csv", "test_top1_mean")
    rows = sourced([{"n": "12", "name": "<b>"}], {"n": "count"}, "f.csv", lambda r, k: "n")
    html = env.from_string(
        "<h2>Results</h2><h3>Tiny &amp; small</h3><p>{{ a }} {{ b }}</p><h2>Other</h2>{{ c }}"
    ).render(a=top1, b="plain 7", c=rows[0]["n"])
    assert 'title="e: m on d: test top-1 (%) | results/t.csv: test_top1_mean">91.7 ± 0.3<' in html
    assert "plain 7" in html  # not a Number: printed as before, not recorded
    entries = recorder.record(html)
    assert [(e["section"], e["value"], e["number"]) for e in entries] == [
        ("Results › Tiny & small", "91.7 ± 0.3", 91.7),
        ("Other", "12", 12.0),
    ]
    assert rows[0]["name"] == "<b>"  # only the named fields become Numbers
    with pytest.raises(ValueError, match="kind 'mystery' is not one of"):
        Number("1", "x", "f", "g", kind="mystery")


def test_first_build_has_nothing_to_compare_with(tmp_path):
    assert previous_record(None, tmp_path / "previous/numbers.json") == (None, None)
    assert compare(None, make([], {}))["first"] is True


def test_a_changed_learning_rate_moves_that_runs_numbers_and_says_why():
    old = make(
        [
            entry("e: m on d: test top-1 (%)", "80.1"),
            entry("e: m on d: train s", "9.5", kind="runtime"),
            entry("f: n on d: test top-1 (%)", "70.0", runs=["f/d/n/seed0"]),
            entry("t: row: verdict", "matches", kind="verdict"),
        ],
        {"e/d/m/seed0": run_record(), "gone/d/m/seed0": run_record()},
    )
    new = make(
        [
            entry("e: m on d: test top-1 (%)", "84.3"),
            entry("e: m on d: train s", "9.9", kind="runtime"),
            entry("f: n on d: test top-1 (%)", "70.0", runs=["f/d/n/seed0"]),
            entry("t: row: verdict", "differs", kind="verdict"),
        ],
        {"e/d/m/seed0": run_record(lr=0.004, metrics="bbb"), "new/d/m/seed0": run_record()},
    )
    changes = compare(old, new, 0.0, "old.json")
    assert [(c["label"], c["old"], c["new"], c["diff"]) for c in changes["moved"]] == [
        ("e: m on d: test top-1 (%)", "80.1", "84.3", "+4.2")
    ]
    assert [c["label"] for c in changes["runtimes"]] == ["e: m on d: train s"]
    assert [(c["old"], c["new"]) for c in changes["flipped"]] == [("matches", "differs")]
    assert changes["runs_added"] == ["new/d/m/seed0"]
    assert changes["runs_removed"] == ["gone/d/m/seed0"]
    assert changes["n_unchanged"] == 1
    [run] = changes["changed_runs"]
    assert run["run"] == "e/d/m/seed0"
    assert run["reasons"] == ["configuration recipe.learning_rate: 0.002 → 0.004"]


def test_changes_within_the_tolerance_count_as_unchanged():
    old = make([entry("a", "100.0"), entry("b", "50.0")], {})
    new = make([entry("a", "100.4"), entry("b", "51.0")], {})
    changes = compare(old, new, tolerance=0.01)
    assert changes["n_within_tolerance"] == 1
    assert [c["label"] for c in changes["moved"]] == ["b"]
    assert [c["label"] for c in compare(old, new, 0.0)["moved"]] == ["a", "b"]


def test_why_a_run_changed_names_data_versions_hardware_and_code():
    old = make([], {"e/d/m/seed0": run_record()})
    files = {"src/a.py": {"group": "code", "sha256": "2"}}
    files["report/templates/x.j2"] = {"group": "template", "sha256": "3"}
    new = make(
        [],
        {"e/d/m/seed0": run_record(metrics="b", data="d2", keras="3.16.0", threads=2)},
        files,
    )
    [run] = compare(old, new)["changed_runs"]
    reasons = "; ".join(run["reasons"])
    assert "data set d: checksum d1 → d2" in reasons
    assert 'version keras: "3.15.1" → "3.16.0"' in reasons
    assert "hardware threads: 1 → 2" in reasons
    assert "code src/a.py changed" in reasons
    assert "x.j2" not in reasons  # a template never changes a run
    assert sorted(f["path"] for f in compare(old, new)["files"]) == [
        "report/templates/x.j2",
        "src/a.py",
    ]
    same = compare(old, make([], {"e/d/m/seed0": run_record(metrics="c")}))
    assert "re-trained with the same configuration" in same["changed_runs"][0]["reasons"][0]


def test_sources_compare_without_their_configurations_folder():
    """A record of another configuration, or one written when the derived files were shared
    (results/summary/...), compares number by number with this configuration's."""
    label = "e: m on d: test top-1 (%)"

    def at(source, value):
        return {**entry(label, value), "source": source}

    new = make([at("results/derived/default/analysis/e/results_table.csv", "84.3")], {})
    for source in (
        "results/analysis/e/results_table.csv",
        "results/derived/cifar10-cpu/analysis/e/results_table.csv",
    ):
        changes = compare(make([at(source, "80.1")], {}), new)
        assert changes["n_compared"] == 1 and [m["old"] for m in changes["moved"]] == ["80.1"]
    elsewhere = compare(make([at("results/derived/default/x.csv", "80.1")], {}), new)
    assert elsewhere["n_compared"] == 0  # another file is another number


def test_compare_with_refuses_what_is_not_a_record(tmp_path):
    with pytest.raises(FileNotFoundError, match="compare_with: .*does not exist"):
        load_record(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ValueError, match="is not JSON"):
        load_record(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text(json.dumps({"metrics": 1}))
    with pytest.raises(ValueError, match="is not a report record"):
        load_record(tmp_path / "other.json")


def test_each_build_keeps_its_record_for_the_next(tmp_path):
    numbers = tmp_path / "numbers.json"
    numbers.write_text(json.dumps(make([entry("a", "1")], {})))
    previous = tmp_path / "previous/numbers.json"
    keep_record(numbers, previous)
    numbers.unlink()  # Snakemake deletes the outputs before the next build's job
    old, path = previous_record(None, previous)
    assert old["numbers"][0]["value"] == "1" and path == previous.as_posix()
    other, _ = previous_record(str(previous), tmp_path / "elsewhere.json")  # compare_with
    assert other == old


def test_a_render_never_replaces_the_record_it_compares_with(tmp_path):
    """The render writes numbers.json only: a render that outlives a killed Snakemake must not
    become the record the next build compares with (the workflow's keep_report_record job
    copies a record there once Snakemake has taken the report as finished)."""
    from test_report import full_context

    from mobilenet_repro.report.build import build_report

    previous = tmp_path / "previous/numbers.json"
    previous.parent.mkdir()
    old = make([entry("e: m on d: test top-1 (%)", "80.1")], {"e/d/m/seed0": run_record()})
    previous.write_text(json.dumps(old))
    kept = previous.read_bytes()
    out = tmp_path / "out"
    out.mkdir()
    record = build_report(
        full_context(tmp_path),
        out / "report.html",
        out / "report.pdf",
        out / "numbers.json",
        {"e/d/m/seed0": run_record(lr=0.004, metrics="b")},
        previous=previous,
        root=tmp_path,
    )
    assert previous.read_bytes() == kept
    assert json.loads((out / "numbers.json").read_text()) == record
    html = (out / "report.html").read_text()
    assert "recipe.learning_rate: 0.002 → 0.004" in html  # compared with the kept record
    keep_record(out / "numbers.json", previous)  # what keep_report_record does afterwards
    assert json.loads(previous.read_text()) == record


def test_both_outputs_show_the_changes_and_the_audit(tmp_path):
    from conftest import assert_same_report
    from test_report import full_context

    from mobilenet_repro.report.audit import audit_context
    from mobilenet_repro.report.build import tolerance_text
    from mobilenet_repro.report.render import environments, render

    old = make([entry("e: m on d: test top-1 (%)", "80.1")], {"e/d/m/seed0": run_record()})
    new = make(
        [entry("e: m on d: test top-1 (%)", "84.3")],
        {"e/d/m/seed0": run_record(lr=0.004, metrics="b")},
    )
    audit = tmp_path / "audit.csv"
    audit.write_text(
        "run,file,field,kind,original,audit,difference,identical\n"
        "e/d/m/seed0,metrics.json,test_top1,result,0.8,0.8,0.0,True\n"
        "f/d/m/seed0,metrics.json,test_top1,result,0.8,0.9,0.1,False\n"
        "f/d/m/seed0,metrics.json,hardware.threads,context,1,2,1,False\n"
    )
    for changes in (compare(None, new), compare(old, new, 0.0, "old/numbers.json")):
        context = full_context(tmp_path)
        context["changes"] = {
            **changes,
            "tolerance_text": tolerance_text(0.0),
            "previous": "results/report/default/previous/numbers.json",
        }
        context["audit"] = audit_context(audit)
        html_env, typ_env = environments()
        html = html_env.get_template("report.html.j2").render(**context)
        typ = typ_env.get_template("report.typ.j2").render(**context)
        assert_same_report(html, typ)
        assert ">Changes since the previous report</h" in html
        assert ">Determinism audit</h" in html and "identical" in html
        assert "1 of 1 fields differ" in html and "hardware.threads: 1 → 2" in html
    assert "Nothing to compare with" not in html
    assert "recipe.learning_rate: 0.002 → 0.004" in html
    assert "recipe\\.learning\\_rate\\: 0\\.002 → 0\\.004" in typ
    render(context, tmp_path / "r.html", tmp_path / "r.pdf", root=tmp_path)  # Typst compiles
    context.pop("audit")
    html = environments()[0].get_template("report.html.j2").render(**context)
    assert "Not run." in html
