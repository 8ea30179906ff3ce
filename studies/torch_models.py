"""PyTorch twins of the Keras builders in mobilenet_repro.models.catalog, for studies/throughput.py.

Layer for layer the same as `models.CifarMobileNetV2` and `models.MobileNet`: the same
convolutions (no biases), TensorFlow's "same" padding (the extra row and column at the
bottom and right), batch norm with epsilon 1e-3, ReLU6, linear bottlenecks, residuals where
shapes agree and the same heads. The benchmark checks that the trainable parameter counts
equal the Keras models'. Only the benchmark needs torch (`pip install -e ".[studies]"`).
"""

from __future__ import annotations

import math

from torch import nn
from torch.nn import functional as F

BN_EPS = 1e-3


def _make_divisible(v, divisor=8, min_value=None):
    """As in mobilenet_repro.models.catalog (and keras.applications)."""
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def _tf_same_pad(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's "same" padding along one axis: (before, after), the extra one after."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class ConvBN(nn.Sequential):
    """Convolution (no bias), batch norm, optional ReLU6; "same" padding as in TensorFlow."""

    def __init__(self, cin, cout, kernel, stride=1, groups=1, relu=True, momentum=0.1):
        super().__init__()
        self.kernel, self.stride = kernel, stride
        self.conv = nn.Conv2d(cin, cout, kernel, stride, 0, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=BN_EPS, momentum=momentum)
        self.relu = nn.ReLU6(inplace=True) if relu else None

    def forward(self, x):
        if self.kernel > 1:
            top, bottom = _tf_same_pad(x.shape[2], self.kernel, self.stride)
            left, right = _tf_same_pad(x.shape[3], self.kernel, self.stride)
            x = F.pad(x, (left, right, top, bottom))
        x = self.bn(self.conv(x))
        return self.relu(x) if self.relu is not None else x


class InvertedResidual(nn.Module):
    """Expand 1x1, depthwise 3x3, linear projection 1x1; residual when shapes match."""

    def __init__(self, cin, cout, stride, expansion, momentum):
        super().__init__()
        mid = cin * expansion
        self.expand = ConvBN(cin, mid, 1, momentum=momentum)
        self.depthwise = ConvBN(mid, mid, 3, stride, groups=mid, momentum=momentum)
        self.project = ConvBN(mid, cout, 1, relu=False, momentum=momentum)
        self.residual = cin == cout and stride == 1

    def forward(self, x):
        y = self.project(self.depthwise(self.expand(x)))
        return x + y if self.residual else y


class CifarMobileNetV2(nn.Module):
    """Seed 000's CIFAR-10 MobileNetV2 (see models.CifarMobileNetV2)."""

    BOTTLENECKS = ((6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))

    def __init__(self, alpha=1.0, classes=10, momentum=0.1):
        super().__init__()
        cin = _make_divisible(32 * alpha, 8)
        layers = [ConvBN(3, cin, 3, 1, momentum=momentum)]
        for t, c, n, s in self.BOTTLENECKS:
            cout = _make_divisible(int(c * alpha), 8)
            for i in range(n):
                layers.append(InvertedResidual(cin, cout, s if i == 0 else 1, t, momentum))
                cin = cout
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(cin, classes)

    def forward(self, x):
        x = self.features(x).mean((2, 3))
        return self.classifier(x)


class MobileNetV1(nn.Module):
    """MobileNet V1 with width multiplier alpha (see models.MobileNet)."""

    BODY = (
        (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
        (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1),
    )  # fmt: skip

    def __init__(self, alpha=1.0, classes=10, momentum=0.1, dropout=1e-3):
        super().__init__()
        cin = int(32 * alpha)
        layers = [ConvBN(3, cin, 3, 2, momentum=momentum)]
        for filters, stride in self.BODY:
            cout = int(filters * alpha)
            layers.append(ConvBN(cin, cin, 3, stride, groups=cin, momentum=momentum))
            layers.append(ConvBN(cin, cout, 1, momentum=momentum))
            cin = cout
        self.features = nn.Sequential(*layers)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Conv2d(cin, classes, 1)  # Keras's conv_preds

    def forward(self, x):
        x = self.features(x).mean((2, 3), keepdim=True)
        return self.classifier(self.dropout(x)).flatten(1)


ARCHITECTURES = {"cifar_mobilenet_v2": CifarMobileNetV2, "mobilenet_v1": MobileNetV1}


def build(arch: str, alpha: float, classes: int, bn_momentum: float | None) -> nn.Module:
    """The torch twin of `models.build_classifier(arch, ...)`, Keras's BN momentum converted."""
    momentum = 0.01 if bn_momentum is None else 1.0 - bn_momentum  # Keras m <-> torch 1 - m
    return ARCHITECTURES[arch](alpha=alpha, classes=classes, momentum=momentum)


def trainable_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
