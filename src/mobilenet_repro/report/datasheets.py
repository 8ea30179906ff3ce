"""A data set's datasheet (Gebru et al.'s questions, in short) from its manifest."""

from __future__ import annotations

from mobilenet_repro.data import SPLITS
from mobilenet_repro.formatting import source_name


def _size(n: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n:,} bytes"


def datasheet(man: dict) -> list[tuple[str, str]]:
    """(field, text) rows of a data set's datasheet, from its manifest (for the report)."""

    def size(dim):
        s = man.get("image_sizes", {}).get(dim)
        if not s:
            return "?"
        return (
            str(s["min"])
            if s["min"] == s["max"]
            else f"{s['min']}-{s['max']} (median {s['median']:g})"
        )

    counts = man.get("counts", {})
    per_class = man.get("counts_per_class", {})
    rows = [
        ("Name", man.get("title") or man["name"]),
        ("Source", source_name(man["source"]) if man.get("source") else ""),
        ("Description", man.get("description", "")),
        ("Homepage", man.get("homepage", "")),
        ("Citation", man.get("citation", "")),
        ("Licence", man.get("license", "")),
        (
            "Classes",
            f"{man['num_classes']}: "
            + ", ".join(man["class_names"][:12])
            + (", ..." if man["num_classes"] > 12 else ""),
        ),
        ("Images", ", ".join(f"{s} {counts.get(s, 0):,}" for s in SPLITS)),
        (
            "Images per class",
            "; ".join(
                f"{s} {min(v.values())}-{max(v.values())}" for s, v in per_class.items() if v
            ),
        ),
        (
            "Image size (H x W x C)",
            f"{size('height')} x {size('width')} x {man['image_shape'][-1]}",
        ),
        (
            "Storage",
            f"uint8, {man['storage']['layout']}, {_size(man['storage']['bytes'])}",
        ),
        ("Splits", man.get("splits_from", "")),
    ]
    if man.get("max_per_class"):
        rows.append(("Subset", f"at most {man['max_per_class']} training images per class"))
    if man.get("max_eval_per_class"):
        rows.append(
            ("Subset (eval)", f"at most {man['max_eval_per_class']} val/test images per class")
        )
    for fname, rec in sorted(man.get("files", {}).items()):
        rows.append(
            (
                f"File {fname}",
                f"sha256 {rec['sha256']}, {rec['size']:,} bytes, "
                f"{rec['origin']}, checked against {rec['verification']}",
            )
        )
    if man.get("notes"):
        rows.append(("Notes", man["notes"]))
    rows.append(("Arrays sha256", man["arrays_sha256"]))
    return [(k, v) for k, v in rows if v]
