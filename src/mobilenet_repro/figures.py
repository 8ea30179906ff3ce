"""Saving a figure: PNG for the HTML report, SVG (vector) for the PDF, byte-stable.

Every figure writer uses `save_figure`: the SVG carries no date and its element ids are
salted with a fixed string, so the same figure gives the same bytes on every run.
"""

from __future__ import annotations

from mobilenet_repro.files import atomic_path

SVG_HASH_SALT = "mobilenet-repro"


def save_figure(fig, png_path, svg_path=None, dpi=150, tight=True) -> None:
    """Write `fig` atomically; `tight` crops to the drawn content (bbox_inches="tight")."""
    import matplotlib

    bbox = {"bbox_inches": "tight"} if tight else {}
    with matplotlib.rc_context({"svg.hashsalt": SVG_HASH_SALT}):
        with atomic_path(png_path) as tmp:
            fig.savefig(tmp, format="png", dpi=dpi, **bbox)
        if svg_path:
            with atomic_path(svg_path) as tmp:
                fig.savefig(tmp, format="svg", metadata={"Date": None}, **bbox)
