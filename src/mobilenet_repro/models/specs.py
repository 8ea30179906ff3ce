"""What the configuration needs to know about each architecture, without importing Keras.

The Snakefile validates the configuration on every invocation; importing TensorFlow there
would add seconds to every no-op run. `catalog.ARCHITECTURES` joins these facts to builders.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ArchSpec:
    label: str  # name used in tables
    min_resolution: int  # smallest input side the architecture accepts
    has_alpha: bool  # has a width multiplier
    imagenet_preprocess: str  # keras.applications module whose preprocess_input fits
    builder: str  # name of the builder in mobilenet_repro.models.catalog
    options: tuple[tuple[str, object], ...] = ()  # keyword arguments the builder always gets


ARCH_SPECS: dict[str, ArchSpec] = {
    "mobilenet_v1": ArchSpec("MobileNet V1", 32, True, "mobilenet", "MobileNet"),
    # The MobileNets paper's Table 5 network: counted against its printed counts.
    "mobilenet_v1_shallow": ArchSpec(
        "Shallow MobileNet V1", 32, True, "mobilenet", "MobileNet", (("shallow", True),)
    ),
    "mobilenet_v2": ArchSpec("MobileNetV2", 32, True, "mobilenet_v2", "MobileNetV2"),
    "cifar_mobilenet_v2": ArchSpec(
        "CIFAR-10 MobileNetV2 (Tables I-III)", 8, True, "mobilenet_v2", "CifarMobileNetV2"
    ),
    "chenyaofo_mobilenet_v2": ArchSpec(
        "chenyaofo's CIFAR MobileNetV2", 8, True, "mobilenet_v2", "ChenyaofoMobileNetV2"
    ),
    "inception_v3": ArchSpec("Inception V3", 75, True, "inception_v3", "InceptionV3"),
    "resnet50_v2": ArchSpec("ResNet50 V2", 32, False, "resnet_v2", "ResNet50V2"),
    "vgg16": ArchSpec("VGG16", 32, True, "vgg16", "VGG16"),
}

# Architectures keras.applications has no model of, so no ImageNet weights either.
NOT_IN_KERAS = ("cifar_mobilenet_v2", "chenyaofo_mobilenet_v2", "mobilenet_v1_shallow")

# (expansion t, output channels c, repeats n, first stride s) from seed 000 Table II.
CIFAR_MOBILENET_V2_BOTTLENECKS = ((6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))
CIFAR_MOBILENET_V2_STEM_FILTERS = 32  # seed 000 Table I

# chenyaofo/pytorch-cifar-models: torchvision's Table 2 with the 24-channel stage at stride 1.
CHENYAOFO_MOBILENET_V2_BOTTLENECKS = (
    (1, 16, 1, 1), (6, 24, 2, 1), (6, 32, 3, 2), (6, 64, 4, 2),
    (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
)  # fmt: skip
