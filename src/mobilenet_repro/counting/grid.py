"""The configurations the architecture stage counts: the papers' grid and the configured models.

`Spec` names one configuration (architecture, width, input side, classes, head); the stage's
output files' columns are listed here so that readers of the files share them (the files
themselves: `paths.ARCHITECTURE_FILES`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

IMAGENET_CLASSES = 1000
PARAM_QUANTITIES = (
    "params",
    "trainable_params",
    "params_bn_folded",
    "kernel_params",
    "params_bn_depthwise_only",
)
ARCH_QUANTITIES = (*PARAM_QUANTITIES, "mult_adds", "separable_ratio")
STAT_COLUMNS = [
    "model",
    "label",
    "alpha",
    "resolution",
    "classes",
    "head",
    "params",
    "trainable_params",
    "mult_adds",
    "params_bn_folded",
    "kernel_params",
    "params_bn_depthwise_only",
    "keras_applications_params",
    "keras_check",
    "in_grid",
    "published",
    "config_models",
    "datasets",
    "build_seconds",
]


@dataclass(frozen=True, order=True)
class Spec:
    """One configuration to build: architecture, width, input side, classes, head.

    head "own" is the architecture's own classifier (training from scratch, the papers'
    and Keras's counts); "transfer" is a pretrained base without its top followed by global
    average pooling and a new dense layer (`models.build_classifier` with weights).
    """

    arch: str
    alpha: float
    resolution: int
    classes: int
    head: str = "own"

    @property
    def name(self) -> str:
        return f"{self.arch} {self.alpha:.2f}-{self.resolution} ({self.classes} classes)"


# (arch, alpha, resolution, why): the standard grids of the papers.
GRID: tuple[tuple[str, float, int, str], ...] = (
    ("mobilenet_v1", 1.0, 224, "V1 paper baseline"),
    ("mobilenet_v1", 0.75, 224, "width multiplier (V1 paper, Table 6)"),
    ("mobilenet_v1", 0.5, 224, "width multiplier (V1 paper, Table 6)"),
    ("mobilenet_v1", 0.25, 224, "width multiplier (V1 paper, Table 6)"),
    ("mobilenet_v1", 1.0, 192, "resolution multiplier (V1 paper, Table 7)"),
    ("mobilenet_v1", 1.0, 160, "resolution multiplier (V1 paper, Table 7)"),
    ("mobilenet_v1", 1.0, 128, "resolution multiplier (V1 paper, Table 7)"),
    ("mobilenet_v1", 0.75, 192, "the Stanford Dogs transfer report's table"),
    ("mobilenet_v2", 1.0, 224, "V2 paper baseline"),
    ("mobilenet_v2", 1.4, 224, "V2 paper, Table 4 (in the Inception/MobileNetV2 explainer)"),
    ("inception_v3", 1.0, 299, "baseline (Stanford Dogs report, Inception/MobileNetV2 explainer)"),
    ("resnet50_v2", 1.0, 224, "baseline (the CIFAR-10 MobileNetV2 report)"),
    ("vgg16", 1.0, 224, "baseline (the comparison slides)"),
    ("cifar_mobilenet_v2", 1.0, 32, "the CIFAR-10 MobileNetV2 report, Tables I-III"),
)


def grid_specs(class_counts: Iterable[int] = ()) -> list[Spec]:
    """Every grid entry at 1,000 classes and at each of `class_counts`."""
    counts = sorted({IMAGENET_CLASSES, *(int(c) for c in class_counts if c)})
    return [Spec(a, float(al), r, c) for a, al, r, _ in GRID for c in counts]


def configured_specs(
    models: dict, experiments: dict, dataset_classes: dict[str, int | None]
) -> list[tuple[Spec, str, str]]:
    """(spec, model id, data set) of every configured model on each data set it trains on.

    A model's `classes: null` means the data set's class count; data sets whose class
    count is only known after preparing them (image folders) are left out. A model that no
    experiment uses is counted on every configured data set.
    """
    out = []
    for model_id, m in models.items():
        used = [
            d for exp in experiments.values() if model_id in exp["models"] for d in exp["datasets"]
        ]
        datasets = list(dict.fromkeys(used)) or list(dataset_classes)
        head = "transfer" if m.get("weights") == "imagenet" else "own"
        for d in datasets:
            classes = m.get("classes") or dataset_classes.get(d)
            if not classes:
                continue
            spec = Spec(
                m["arch"],
                float(m.get("alpha", 1.0)),
                int(m.get("resolution", 224)),
                int(classes),
                head,
            )
            out.append((spec, model_id, d))
    return out
