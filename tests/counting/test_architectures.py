"""The architecture stage: grid, published numbers, verdicts, tables, seed 000's readings."""

from __future__ import annotations

import math

import keras
import pandas as pd
import pytest
from conftest import assert_same_report

from mobilenet_repro import paths
from mobilenet_repro.counting import cifar_readings, measure, structures
from mobilenet_repro.counting import grid as G
from mobilenet_repro.counting import published as pub
from mobilenet_repro.counting.figure import plot_madds_vs_params
from mobilenet_repro.counting.stage import run_stage
from mobilenet_repro.models.catalog import ARCHITECTURES
from mobilenet_repro.report.counting import report_context


@pytest.fixture(autouse=True)
def _fresh_session():
    yield
    keras.backend.clear_session(free_memory=False)


def layers_of(spec: G.Spec) -> pd.DataFrame:
    rows = measure.layer_rows(measure.build(spec))
    ident = {"model": spec.arch, "alpha": spec.alpha, "resolution": spec.resolution}
    return pd.DataFrame([{**ident, "classes": spec.classes, "head": spec.head, **r} for r in rows])


# ----------------------------------------------------------------------------- grid
def test_grid_covers_the_papers_configurations():
    grid = {(a, al, r) for a, al, r, _ in G.GRID}
    for alpha in (1.0, 0.75, 0.5, 0.25):
        assert ("mobilenet_v1", alpha, 224) in grid
    for res in (224, 192, 160, 128):
        assert ("mobilenet_v1", 1.0, res) in grid
    for entry in [
        ("mobilenet_v2", 1.0, 224),
        ("inception_v3", 1.0, 299),
        ("resnet50_v2", 1.0, 224),
        ("vgg16", 1.0, 224),
        ("cifar_mobilenet_v2", 1.0, 32),
    ]:
        assert entry in grid
    # chenyaofo's network is a published run's, not a source document's; its counts are
    # checked against that run's log in tests/training/test_calibration_recipe.py. The
    # shallow MobileNet V1 is counted once, for the MobileNets paper's Table 5.
    others = {"chenyaofo_mobilenet_v2", "mobilenet_v1_shallow"}
    assert {a for a, *_ in G.GRID} == set(ARCHITECTURES) - others


def test_grid_specs_at_imagenet_and_data_set_class_counts():
    specs = G.grid_specs([10, 120, 10, None])
    assert {s.classes for s in specs} == {10, 120, 1000}
    assert len(specs) == 3 * len(G.GRID)


def test_configured_specs_use_the_data_sets_class_counts():
    models = {
        "a": {"arch": "mobilenet_v1", "alpha": 0.5, "resolution": 32, "classes": None},
        "b": {"arch": "vgg16", "alpha": 1.0, "resolution": 64, "classes": 7, "weights": "imagenet"},
        "unused": {"arch": "mobilenet_v2", "alpha": 1.0, "resolution": 32, "classes": None},
    }
    experiments = {"e": {"models": ["a", "b"], "datasets": ["digits", "folder"]}}
    classes = {"digits": 10, "folder": None}
    got = {(s, m, d) for s, m, d in G.configured_specs(models, experiments, classes)}
    assert (G.Spec("mobilenet_v1", 0.5, 32, 10), "a", "digits") in got
    assert not any(m == "a" and d == "folder" for _, m, d in got)  # class count unknown
    assert (G.Spec("vgg16", 1.0, 64, 7, "transfer"), "b", "folder") in got
    assert (G.Spec("mobilenet_v2", 1.0, 32, 10), "unused", "digits") in got


def test_transfer_head_is_pooling_and_dense():
    own = measure.build(G.Spec("vgg16", 1.0, 64, 7))
    transfer = measure.build(G.Spec("vgg16", 1.0, 64, 7, "transfer"))
    assert transfer.output_shape == own.output_shape == (None, 7)
    assert transfer.count_params() == 14_714_688 + 512 * 7 + 7  # base + new dense layer


# ----------------------------------------------------------------------------- published
@pytest.mark.parametrize(
    "text,value,half_unit",
    [
        ("4.2M", 4.2, 0.05),
        ("569", 569, 0.5),
        ("1,184,746", 1184746, 0.5),
        ("84%", 0.84, 0.005),
        ("0.112", 0.112, 0.0005),
        ("2.60", 2.6, 0.005),
        ("300", 300, 5),  # a round number: its last zero is not significant
        ("5000", 5000, 50),
        ("320", 320, 0.5),
        ("25,613,800", 25613800, 0.5),  # grouped: every digit printed on purpose
    ],
)
def test_parse_published(text, value, half_unit):
    v, h = pub.parse_published(text)
    assert math.isclose(v, value) and math.isclose(h, half_unit)


def test_parse_published_rejects_text():
    with pytest.raises(ValueError, match="cannot read a number"):
        pub.parse_published("about four million")


def test_published_yaml_is_complete_and_consistent():
    published = pub.load_published()
    cells = pub.published_cells(published)
    assert len(cells) > 30
    for c in cells:
        assert c["source"] in published["sources"], c
        assert c["spec"].arch in ARCHITECTURES, c
        assert c["abs_tol"] >= 0
    # The short name other report code reads is the same cell as in the table.
    stated = published["seed000"]["cifar_mobilenet_v2_trainable_params"]
    assert stated["value"] == 1_184_746
    assert pub.stated_cifar_params(published) == 1_184_746
    for st in published["structures"]:
        assert st["derive"] in structures.DERIVERS
        assert all(len(r) == len(st["columns"]) for r in structures.expand_rows(st["rows"]))


def test_published_value_must_agree_with_its_text(tmp_path):
    bad = {
        "sources": {"s": {"title": "t"}},
        "tables": [
            {
                "id": "t",
                "source": "s",
                "columns": {"p": {"quantity": "params"}},
                "rows": [
                    {
                        "label": "r",
                        "model": {"arch": "vgg16", "resolution": 224, "classes": 1000},
                        "p": {"text": "1,000", "value": 1001},
                    }
                ],
            }
        ],
    }
    with pytest.raises(ValueError, match="disagrees with text"):
        pub.published_cells(bad)


def _stats(**values):
    row = {
        "model": "mobilenet_v1",
        "alpha": 1.0,
        "resolution": 224,
        "classes": 1000,
        "head": "own",
        "params": 4_253_864,
        "trainable_params": 4_231_976,
        "params_bn_folded": 4_221_032,
        "kernel_params": 4_210_088,
        "params_bn_depthwise_only": 4_235_912,
        "mult_adds": 568_740_352,
    }
    return pd.DataFrame([{**row, **values}])


def _published(cells, unit=1.0e6, tolerance="rounding"):
    return {
        "sources": {"s": {"title": "t"}},
        "tables": [
            {
                "id": "t",
                "source": "s",
                "columns": {
                    q: {"quantity": q, "unit": unit, "tolerance": tolerance} for q in cells
                },
                "rows": [
                    {
                        "label": "V1",
                        "model": {"arch": "mobilenet_v1", "resolution": 224, "classes": 1000},
                        **cells,
                    }
                ],
            }
        ],
    }


def test_verdict_matches_within_rounding_and_names_other_readings():
    v = pub.verdict_rows(_stats(), pd.DataFrame(), _published({"trainable_params": "4.2"}))
    (r,) = v.to_dict("records")
    assert r["matches"] and r["verdict"] == "matches within rounding (±50k)"
    # 4.25M rounds to 4.3M
    assert r["also_matches"] == "params_bn_folded;kernel_params;params_bn_depthwise_only"
    assert r["ours_text"] == "4.23"


def test_verdict_differs_and_says_by_how_much():
    v = pub.verdict_rows(
        _stats(), pd.DataFrame(), _published({"mult_adds": "575"}, tolerance={"relative": 0.01})
    )
    (r,) = v.to_dict("records")
    assert not r["matches"]
    assert r["verdict"] == "differs by -6.26M (-1.1%)"
    v = pub.verdict_rows(
        _stats(), pd.DataFrame(), _published({"mult_adds": "569"}, tolerance={"relative": 0.01})
    )
    assert v["matches"].all() and v["verdict"].iloc[0] == "matches within ±1%"


def test_verdict_needs_the_configuration_computed():
    with pytest.raises(KeyError, match="no statistics computed"):
        pub.verdict_rows(_stats(classes=10), pd.DataFrame(), _published({"params": "4.25"}))


# ------------------------------------------------------------------ structure tables
def test_cells_match():
    assert structures.cells_match("3×3×32 dw", "3x3x32  dw")
    assert structures.cells_match("—", "-")
    assert structures.cells_match("1000", "k")
    assert not structures.cells_match("Conv dw / s1", "Conv dw / s2")


def _structure(sid):
    return next(s for s in pub.load_published()["structures"] if s["id"] == sid)


def test_v1_body_matches_seed_004_but_its_misprinted_stride():
    st = _structure("seed004_v1_body")
    ours = structures.derive_v1_body(layers_of(G.Spec("mobilenet_v1", 1.0, 224, 1000)))
    printed = structures.expand_rows(st["rows"])
    assert len(ours) == len(printed)
    differ = [
        (i, j)
        for i, (o, p) in enumerate(zip(ours, printed, strict=True))
        for j in range(3)
        if not structures.cells_match(o[j], p[j])
    ]
    assert differ == [(25, 0)]  # printed "Conv dw / s2" on a 7x7 input; stride 1 in fact
    assert ours[25][0] == "Conv dw / s1"


def test_v2_structure_matches_seeds_002_003():
    st = _structure("seed003_v2_structure")
    ours = structures.derive_v2_stages(layers_of(G.Spec("mobilenet_v2", 1.0, 224, 1000)))
    printed = structures.expand_rows(st["rows"])
    assert len(ours) == len(printed)
    for o, p in zip(ours, printed, strict=True):
        assert all(structures.cells_match(a, b) for a, b in zip(o, p, strict=True)), (o, p)


def test_cifar_tables_differ_from_seed_000_only_in_spatial_size():
    st = _structure("seed000_tables")
    ours = structures.derive_cifar_stages(layers_of(G.Spec("cifar_mobilenet_v2", 1.0, 32, 10)))
    printed = structures.expand_rows(st["rows"])
    assert len(ours) == len(printed)
    size = st["columns"].index("Input size")
    for o, p in zip(ours, printed, strict=True):
        for j, (a, b) in enumerate(zip(o, p, strict=True)):
            assert structures.cells_match(a, b) or j == size, (o, p)
    assert ours[0][size] == "32×32" and printed[0][size] == "28×28"


# --------------------------------------------------------------- seed 000's readings
@pytest.mark.parametrize("rid", list(cifar_readings.CIFAR_READINGS))
def test_closed_form_equals_keras_for_each_reading(rid):
    _, reading = cifar_readings.CIFAR_READINGS[rid]
    assert cifar_readings.closed_form_params(reading) == cifar_readings.count_built(
        lambda: cifar_readings.build_cifar_reading(reading)
    )


def test_tables_reading_is_our_builder():
    from mobilenet_repro.models.catalog import CifarMobileNetV2

    counts = cifar_readings.count_built(CifarMobileNetV2)
    assert (
        counts
        == cifar_readings.closed_form_params(cifar_readings.CifarReading())
        == (1_788_458, 1_760_362)
    )


def test_closed_form_equals_keras_for_combined_deviations():
    reading = cifar_readings.CifarReading(
        batch_norm=False, conv_bias=True, in_channels=1, repeats_delta=-1, first_expansion=1,
        expand_from="output", last_conv=1280,
    )  # fmt: skip
    assert cifar_readings.closed_form_params(reading) == cifar_readings.count_built(
        lambda: cifar_readings.build_cifar_reading(reading)
    )


def test_no_searched_reading_gives_seed_000s_count():
    # Recorded in the report; if a reading is found, the report says which.
    space = cifar_readings.reading_search_space()
    assert len(space) == 192
    assert all(1_184_746 not in cifar_readings.closed_form_params(r) for r in space)


# ------------------------------------------------------------------- stage and report
MINI_PUBLISHED = """
sources:
  seed000: {title: "seed 000"}
  seed004: {title: "seed 004"}
tables:
  - id: seed000_params
    source: seed000
    caption: "stated"
    columns: {params: {label: "trainable parameters", quantity: trainable_params}}
    rows:
      - label: "CIFAR"
        model: {arch: cifar_mobilenet_v2, alpha: 1.0, resolution: 32, classes: 10}
        params: {text: "1,184,746", value: 1184746}
  - id: seed004_versions
    source: seed004
    caption: "versions"
    columns:
      mult_adds: {label: "MACs", quantity: mult_adds, unit: 1.0e+6, tolerance: {relative: 0.01}}
      params: {label: "params", quantity: trainable_params, unit: 1.0e+6}
    rows:
      - label: "MobileNet V1"
        model: {arch: mobilenet_v1, alpha: 1.0, resolution: 224, classes: 1000}
        mult_adds: "569"
        params: "4.24"
  - id: seed004_ratio
    source: seed004
    caption: "ratio"
    columns: {ratio: {label: "ratio", quantity: separable_ratio}}
    rows:
      - label: "N = 1024"
        model: {arch: mobilenet_v1, alpha: 1.0, resolution: 224, classes: 1000}
        pair: {kernel: 3, out_channels: 1024}
        ratio: "0.112"
structures:
  - id: seed000_tables
    source: seed000
    caption: "tables"
    model: {arch: cifar_mobilenet_v2, alpha: 1.0, resolution: 32, classes: 10}
    derive: cifar_stages
    columns: ["Layer", "Input feature maps", "Input size", "t", "n", "s", "c"]
    rows:
      - ["Image", "3", "28×28", "—", "—", "—", "—"]
"""


@pytest.fixture(scope="module")
def stage(tmp_path_factory):
    out = tmp_path_factory.mktemp("architectures")
    published = out / "published.yaml"
    published.write_text(MINI_PUBLISHED, encoding="utf-8")
    configured = [(G.Spec("mobilenet_v1", 0.25, 32, 10), "tiny", "digits")]
    run_stage(
        out,
        configured=configured,
        dataset_classes={"digits": 10},
        published_path=published,
        grid=False,
        log=lambda msg: None,
    )
    yield out
    keras.backend.clear_session(free_memory=False)


def test_stage_writes_every_file(stage):
    for name in paths.ARCHITECTURE_FILES.values():
        assert (stage / name).exists(), name
    stats = pd.read_csv(stage / "stats.csv")
    for col in [
        "model",
        "alpha",
        "resolution",
        "classes",
        "params",
        "trainable_params",
        "mult_adds",
    ]:
        assert col in stats.columns
    v1 = stats[(stats["model"] == "mobilenet_v1") & (stats["resolution"] == 224)].iloc[0]
    assert (v1["params"], v1["mult_adds"]) == (4_253_864, 568_740_352)
    assert v1["keras_check"] == "equal"
    assert abs(v1["mult_adds"] / 569e6 - 1) < 0.01  # the V1 paper's 569 million
    tiny = stats[stats["config_models"] == "tiny"].iloc[0]
    assert (tiny["classes"], tiny["datasets"]) == (10, "digits")
    layers = pd.read_csv(stage / "layers.csv")
    assert {"layer", "kind", "input_shape", "output_shape", "params", "mult_adds"} <= set(
        layers.columns
    )
    ratios = pd.read_csv(stage / "separable_ratios.csv")
    assert ratios["matches"].all()


def test_stage_verdicts(stage):
    v = pd.read_csv(stage / "verdicts.csv").set_index(["table", "quantity"])
    assert not v.loc[("seed000_params", "trainable_params"), "matches"]
    assert v.loc[("seed000_params", "trainable_params"), "ours"] == 1_760_362
    assert v.loc[("seed004_versions", "mult_adds"), "matches"]
    assert v.loc[("seed004_ratio", "separable_ratio"), "matches"]


def test_report_context_and_templates_render(stage):
    pytest.importorskip("jinja2")
    from mobilenet_repro.report.render import environments

    plot_madds_vs_params(
        pd.read_csv(stage / "stats.csv"),
        pd.read_csv(stage / "verdicts.csv", keep_default_na=False),
        stage / "madds_vs_params.png",
        stage / "madds_vs_params.svg",
    )
    ctx = report_context(stage)
    assert ctx["cifar"]["stated"] == "1,184,746"
    assert ctx["cifar"]["trainable_params"] == "1,760,362"
    assert ctx["acceptance"]["v1"]["matches"]
    assert ctx["separable_all_match"]
    figures = {"madds_vs_params": {"png_data_uri": "data:image/png;base64,", "svg_path": "/x.svg"}}
    html, typ = environments()
    section = '{% import markup as m %}{% include "content/architectures.j2" %}'
    page = html.from_string(section).render(arch=ctx, figures=figures)
    assert "1,184,746" in page and "<h3>" in page
    source = typ.from_string(section).render(arch=ctx, figures=figures)
    assert source.count("#table(") >= 5
    assert_same_report(page, source)  # one context, the same headings and numbers in both
