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


def text_overlaps(fig, pad: float = 0.5) -> list[tuple[str, str]]:
    """Pairs of visible texts of `fig` whose drawn boxes overlap (each shrunk by `pad`
    pixels, so that touching boxes do not count): labels a reader cannot read."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    if not hasattr(fig.canvas, "get_renderer"):  # a figure closed after saving
        FigureCanvasAgg(fig)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    # Tick labels of ticks outside an axis's view are kept by matplotlib but never drawn.
    hidden = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            span = (hi - lo) * 1e-9
            for tick in [*axis.get_major_ticks(), *axis.get_minor_ticks()]:
                if not lo - span <= tick.get_loc() <= hi + span:
                    hidden.update((id(tick.label1), id(tick.label2)))
    boxes = []
    for text in fig.findobj(Text):
        if id(text) in hidden or not text.get_visible() or not text.get_text().strip():
            continue
        box = text.get_window_extent(renderer)
        if box.width <= 0 or box.height <= 0:
            continue
        boxes.append((text.get_text(), box.expanded(1, 1).padded(-pad)))
    found = []
    for i, (a, box_a) in enumerate(boxes):
        for b, box_b in boxes[i + 1 :]:
            if box_a.overlaps(box_b):
                found.append((a, b))
    return found


def declutter(fig, annotations, step: float = 7.0, tries: int = 12) -> None:
    """Move each annotation (offset in points) down, then up, until its label overlaps no
    earlier one: point labels of neighbouring models stay readable."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    placed = []
    for note in annotations:
        x0, y0 = note.xyann
        for k in range(tries + 1):
            shift = step * ((k + 1) // 2) * (-1 if k % 2 else 1) if k else 0.0
            note.xyann = (x0, y0 + shift)
            box = note.get_window_extent(renderer).padded(-0.5)
            if not any(box.overlaps(other) for other in placed):
                break
        placed.append(note.get_window_extent(renderer))
