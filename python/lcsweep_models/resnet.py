"""The ResNet family the C++ side builds (worker/nn/resnet.h), torchvision-style,
with every k x k convolution (the stem included) an LcConv2d and 1x1
shortcuts plain learned convolutions:

    resnet_cifar  stem k x k conv 3 -> W + BN + ReLU; three stages of W, 2W, 4W
                  channels with n = (depth - 2) / 6 BasicBlocks each, stride 2
                  in the first block of stages 2 and 3; the shortcut is a 1x1
                  conv with stride + BN when the shape changes; global average
                  pooling + Linear.
    resnet18d     deep stem: k x k convs W/2 (stride 2), W/2, W with BN + ReLU
                  after each, then a 3x3 max-pool with stride 2; four stages of
                  W, 2W, 4W, 8W with 2 BasicBlocks each, strides 1, 2, 2, 2;
                  the shortcut is AvgPool2d(2, ceil) + 1x1 conv + BN.

Inputs are images in [0, 1] pixel space; the per-channel normalisation
(buffers "norm_mean", "norm_std") happens inside the model.
"""
import torch
from torch import nn
import torch.nn.functional as F

from lcsweep_models.lc_conv import LcConv2d


class BasicBlock(nn.Module):
    """relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))."""

    def __init__(self, conv1, conv2, downsample):
        super().__init__()
        self.conv1, self.bn1 = conv1, nn.BatchNorm2d(conv1.out_channels)
        self.conv2, self.bn2 = conv2, nn.BatchNorm2d(conv2.out_channels)
        self.downsample = downsample

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (self.downsample(x) if self.downsample is not None else x))


def layout(model):
    """Stem widths, stem stride, max-pool, stage widths / blocks / strides and
    the shortcut kind of the job config's model section."""
    arch, w = model.get("arch", "resnet_cifar"), int(model.get("width", 16))
    if arch == "resnet_cifar":
        d = int(model.get("depth", 20))
        if d < 8 or (d - 2) % 6:
            raise ValueError("resnet_cifar depth must be 6n+2 with n >= 1, got %d" % d)
        n = (d - 2) // 6
        return dict(stem=[w], stem_stride=1, max_pool=False, widths=[w, 2 * w, 4 * w], blocks=[n] * 3,
                    strides=[1, 2, 2], avg_down=False)
    if arch == "resnet18d":
        return dict(stem=[w // 2, w // 2, w], stem_stride=2, max_pool=True, widths=[w, 2 * w, 4 * w, 8 * w],
                    blocks=[2, 2, 2, 2], strides=[1, 2, 2, 2], avg_down=True)
    raise ValueError("unknown model.arch %r (resnet_cifar, resnet18d)" % arch)


class ResNet(nn.Module):
    """The network of one job config. `executions` maps each LC layer's name
    (e.g. "layer1.0.conv1") to how it runs; `shared` maps it to the name of
    the shared filter buffer it reads, for sharing configs. Both come with an
    exported model (lcsweep_models.load)."""

    def __init__(self, config, in_channels, num_classes, executions, shared=None, normalise=True):
        super().__init__()
        model = config["model"]
        conv = model.get("conv", {})
        k = int(model.get("kernel_size", 3))
        shared = shared or {}
        lay = layout(model)
        if normalise:
            self.register_buffer("norm_mean", torch.zeros(1, in_channels, 1, 1))
            self.register_buffer("norm_std", torch.ones(1, in_channels, 1, 1))
        else:
            self.norm_mean = self.norm_std = None
        for name in sorted(set(shared.values())):
            self.register_buffer(name, torch.zeros(0))  # resized when the state dict is loaded

        def spatial(name, cin, cout, stride):
            owner = (self, shared[name]) if name in shared else None
            return LcConv2d(cin, cout, k, stride, conv, executions.get(name, "folded"), shared=owner)

        channels = in_channels
        if len(lay["stem"]) == 1:
            self.conv1 = spatial("conv1", channels, lay["stem"][0], lay["stem_stride"])
            channels = lay["stem"][0]
        else:
            stem = []
            for i, width in enumerate(lay["stem"]):
                stem.append(spatial("conv1.%d" % len(stem), channels, width, lay["stem_stride"] if i == 0 else 1))
                channels = width
                if i + 1 < len(lay["stem"]):  # the last conv's BN is bn1, as in timm
                    stem += [nn.BatchNorm2d(channels), nn.ReLU()]
            self.conv1 = nn.Sequential(*stem)
        self.bn1 = nn.BatchNorm2d(channels)
        self.max_pool = lay["max_pool"]
        for s, (width, blocks, first_stride) in enumerate(zip(lay["widths"], lay["blocks"], lay["strides"])):
            stage = []
            for b in range(blocks):
                stride = first_stride if b == 0 else 1
                prefix = "layer%d.%d." % (s + 1, b)
                c1 = spatial(prefix + "conv1", channels, width, stride)
                c2 = spatial(prefix + "conv2", width, width, 1)
                ds = None
                if stride != 1 or channels != width:
                    if lay["avg_down"]:
                        pool = (nn.AvgPool2d(2, stride, ceil_mode=True, count_include_pad=False)
                                if stride > 1 else nn.Identity())
                        ds = nn.Sequential(pool, nn.Conv2d(channels, width, 1, bias=False), nn.BatchNorm2d(width))
                    else:
                        ds = nn.Sequential(nn.Conv2d(channels, width, 1, stride, bias=False), nn.BatchNorm2d(width))
                stage.append(BasicBlock(c1, c2, ds))
                channels = width
            setattr(self, "layer%d" % (s + 1), nn.Sequential(*stage))
        self.num_stages = len(lay["widths"])
        self.fc = nn.Linear(channels, num_classes)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # Shared filter buffers are created empty: take the stored shape.
        for name, buf in self._buffers.items():
            key = prefix + name
            if buf is not None and buf.numel() == 0 and key in state_dict:
                self._buffers[name] = torch.zeros_like(state_dict[key])
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def forward(self, pixels):
        x = pixels
        if self.norm_mean is not None:
            x = (x - self.norm_mean) / self.norm_std
        x = F.relu(self.bn1(self.conv1(x)))
        if self.max_pool:
            x = F.max_pool2d(x, 3, 2, 1)
        for s in range(self.num_stages):
            x = getattr(self, "layer%d" % (s + 1))(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))
