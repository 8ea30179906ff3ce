"""Every figure is saved by figures.save_figure: the same figure gives the same bytes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from mobilenet_repro.figures import save_figure  # noqa: E402


def draw():
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1, 2], [1, 0, 2], label="a")
    ax.legend()
    return fig


def test_saved_figures_are_byte_stable_and_undated(tmp_path):
    for run in ("one", "two"):
        fig = draw()
        save_figure(fig, tmp_path / f"{run}.png", tmp_path / f"{run}.svg")
        plt.close(fig)
    svg = (tmp_path / "one.svg").read_bytes()
    assert svg == (tmp_path / "two.svg").read_bytes()
    assert (tmp_path / "one.png").read_bytes() == (tmp_path / "two.png").read_bytes()
    assert b"<dc:date>" not in svg
    assert plt.rcParams["svg.hashsalt"] is None  # the salt is set for the save only


def test_overlapping_labels_are_found_and_moved_apart():
    from mobilenet_repro.figures import declutter, text_overlaps

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [0, 1], "o")
    notes = [
        ax.annotate(name, (0.5, 0.5), xytext=(4, 2), textcoords="offset points")
        for name in ("0.25 MobileNet-32", "0.25 MobileNet-48")
    ]
    assert ("0.25 MobileNet-32", "0.25 MobileNet-48") in text_overlaps(fig)
    declutter(fig, notes)
    assert not text_overlaps(fig)
    plt.close(fig)
