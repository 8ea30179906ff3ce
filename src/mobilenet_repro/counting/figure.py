"""The architecture figure: mult-adds against parameters, ours and the published points."""

from __future__ import annotations

import pandas as pd

from mobilenet_repro.counting.grid import IMAGENET_CLASSES, PARAM_QUANTITIES
from mobilenet_repro.formatting import as_bool
from mobilenet_repro.models.specs import ARCH_SPECS

ARCH_COLORS = {
    "mobilenet_v1": "#1f77b4",
    "mobilenet_v1_shallow": "#1f77b4",  # only a published point, beside the V1 grid
    "mobilenet_v2": "#2ca02c",
    "cifar_mobilenet_v2": "#17becf",
    "inception_v3": "#d62728",
    "resnet50_v2": "#9467bd",
    "vgg16": "#8c564b",
}


# Where a point's label goes in the MobileNet panel (offset in points, alignment), where the
# default (to the right) would collide with a neighbour.
LABEL_PLACES = {
    ("mobilenet_v2", 1.0, 224): ((0, -11), "center"),
    ("mobilenet_v2", 1.4, 224): ((0, -11), "center"),
    ("cifar_mobilenet_v2", 1.0, 32): ((0, -11), "center"),
}
MOBILENETS = ("mobilenet_v1", "mobilenet_v1_shallow", "mobilenet_v2", "cifar_mobilenet_v2")


def _published_pairs(verdicts: pd.DataFrame) -> list[tuple[str, float, float, float, float]]:
    """(arch, published params, published mult-adds, ours, ours) of rows giving both.

    Every class count: a published pair of a fine-tuned network (the Stanford Dogs transfer
    report's Table 10 at 120 classes) is drawn too, joined to our count at its classes.
    """
    pub = verdicts[verdicts["quantity"].isin([*PARAM_QUANTITIES, "mult_adds"])]
    out = []
    for _, sel in pub.groupby(["table", "row"], sort=False):
        p = sel[sel["quantity"].isin(PARAM_QUANTITIES)]
        m = sel[sel["quantity"] == "mult_adds"]
        if not p.empty and not m.empty:
            p, m = p.iloc[0], m.iloc[0]
            out.append(
                (
                    p["model"],
                    float(p["published"]),
                    float(m["published"]),
                    float(p["ours"]),
                    float(m["ours"]),
                )
            )
    return out


def _label_mobilenets(ax, grid: pd.DataFrame) -> None:
    """Name each MobileNet point of the grid in the right-hand panel."""
    for _, r in grid[grid["model"].isin(MOBILENETS)].iterrows():
        prefix = {"mobilenet_v1": "V1", "mobilenet_v2": "V2"}.get(r["model"], "CIFAR V2")
        offset, ha = LABEL_PLACES.get((r["model"], r["alpha"], r["resolution"]), ((5, -3), "left"))
        ax.annotate(
            f"{prefix} {r['alpha']:.2f}-{r['resolution']}",
            (r["params"] / 1e6, r["mult_adds"] / 1e6),
            textcoords="offset points",
            xytext=offset,
            ha=ha,
            fontsize=6,
            color="0.25",
        )


def plot_madds_vs_params(stats: pd.DataFrame, verdicts: pd.DataFrame, png, svg) -> None:
    """Mult-adds against parameters for the grid at 1,000 classes, with published points.

    Left: every architecture (log scales); right: the MobileNets (linear scales), labelled.
    Published (parameters, mult-adds) pairs from one row of a published table are drawn
    hollow and joined to our count of the same configuration (at the published class count),
    named once in the legend.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mobilenet_repro.figures import save_figure

    plt.rcParams.update({"font.size": 8})
    own = stats[(stats["head"] == "own") & stats["in_grid"].map(as_bool)]
    grid = own[own["classes"] == IMAGENET_CLASSES]
    pairs = _published_pairs(verdicts)
    fig, (ax_all, ax_mn) = plt.subplots(1, 2, figsize=(9.0, 4.2), width_ratios=(1, 1.25))
    for ax, archs in ((ax_all, None), (ax_mn, MOBILENETS)):
        for arch, sel in grid.groupby("model", sort=False):
            if archs is not None and arch not in archs:
                continue
            ax.scatter(
                sel["params"] / 1e6,
                sel["mult_adds"] / 1e6,
                s=22,
                color=ARCH_COLORS.get(arch, "k"),
                label=ARCH_SPECS[arch].label,
                zorder=3,
            )
        v1 = grid[grid["model"] == "mobilenet_v1"]
        for series, style in (
            (v1[v1["resolution"] == v1["resolution"].max()].sort_values("alpha"), "-"),
            (v1[v1["alpha"] == 1.0].sort_values("resolution"), ":"),
        ):
            ax.plot(
                series["params"] / 1e6, series["mult_adds"] / 1e6, style, color="#1f77b4", lw=0.8
            )
        first = True
        for arch, p_pub, m_pub, p_ours, m_ours in pairs:
            if archs is not None and arch not in archs:
                continue
            color = ARCH_COLORS.get(arch, "k")
            ax.scatter(
                p_pub / 1e6,
                m_pub / 1e6,
                s=38,
                facecolors="none",
                edgecolors=color,
                linewidths=0.9,
                zorder=4,
                label="published (hollow)" if first else None,
            )
            ax.plot([p_pub / 1e6, p_ours / 1e6], [m_pub / 1e6, m_ours / 1e6], color=color, lw=0.6)
            first = False
        ax.set_xlabel("parameters (millions)")
        ax.set_ylabel("multiply-adds (millions)")
        ax.grid(True, which="both", lw=0.3, alpha=0.5)
    _label_mobilenets(ax_mn, grid)
    ax_all.set_xscale("log")
    ax_all.set_yscale("log")
    ax_all.set_title(f"All architectures, {IMAGENET_CLASSES:,} classes")
    ax_all.legend(fontsize=6.5, loc="upper left", frameon=False)
    ax_mn.set_xlim(left=0)
    ax_mn.set_ylim(bottom=0)
    ax_mn.set_title("The MobileNets")
    fig.tight_layout()
    save_figure(fig, png, svg, dpi=150, tight=False)
    plt.close(fig)
