"""Image-model baselines: a ResNet on single frames (clip score = mean of frame logits)
and ResNet features fed to an LSTM."""
from __future__ import annotations

import torch
from torch import nn
from torchvision.models import resnet
from torchvision.models.resnet import BasicBlock, ResNet


def resnet_backbone(layers=(2, 2, 2, 2), pretrained: bool = False, width: int = 64) -> ResNet:
    """ResNet-18 (layers 2,2,2,2) or a shallower one; ImageNet weights only for ResNet-18.

    width < 64 narrows every stage (w, 2w, 4w, 8w): torchvision's BasicBlock ResNet fixes 64, and at
    64 px on two CPU cores the full width trains at under 40 clips/s. Its blocks and _make_layer are
    reused; only the stem and stages are rebuilt, with torchvision's initialisation.
    """
    if pretrained:
        from src.models.weights import torchvision_weights
        return resnet.resnet18(weights=torchvision_weights("ResNet18_Weights", "IMAGENET1K_V1"))
    net = ResNet(BasicBlock, list(layers))
    if width != 64:
        net.inplanes = width
        net.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
        net.bn1 = nn.BatchNorm2d(width)
        for i, n in enumerate(layers):
            setattr(net, f"layer{i + 1}", net._make_layer(BasicBlock, width * 2 ** i, n, stride=1 if i == 0 else 2))
        net.fc = nn.Linear(width * 8, net.fc.out_features)
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
    return net


class FrameCNN(nn.Module):
    """Per-frame classifier; the clip prediction is the mean of frame logits."""

    def __init__(self, num_classes: int, layers=(2, 2, 2, 2), pretrained: bool = False, width: int = 64):
        super().__init__()
        self.backbone = resnet_backbone(layers, pretrained, width)
        self.backbone.fc = nn.Linear(self.backbone.fc.in_features, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # B×C×T×H×W
        b, c, t, h, w = x.shape
        frames = x.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w)
        return self.backbone(frames).view(b, t, -1).mean(1)


class CNNLSTM(nn.Module):
    """ResNet per-frame features -> bidirectional LSTM -> classifier on the time-averaged outputs
    (LRCN averages over time steps too; every step then gets a gradient, which trains far faster
    than the last hidden state alone)."""

    def __init__(self, num_classes: int, layers=(2, 2, 2, 2), hidden: int = 256, pretrained: bool = False,
                 width: int = 64):
        super().__init__()
        self.backbone = resnet_backbone(layers, pretrained, width)
        feat = self.backbone.fc.in_features
        self.backbone.fc = nn.Identity()
        self.lstm = nn.LSTM(feat, hidden, batch_first=True, bidirectional=True)
        self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(2 * hidden, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t, h, w = x.shape
        feats = self.backbone(x.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w)).view(b, t, -1)
        out, _ = self.lstm(feats)
        return self.head(out.mean(1))
