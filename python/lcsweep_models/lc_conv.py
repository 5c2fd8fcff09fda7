"""The LC convolution: one k x k convolution of a network in any of its modes.

    learned   a plain Conv2d(c_in, c_out, k), trained          -> "weight" (parameter)
    frozen    a plain Conv2d kept at its random initialisation  -> "weight" (buffer)
    lc        S = Conv2d(c_in, c_out*E, k), the spatial filters  -> "spatial.weight"
              (frozen: a buffer; learned: a parameter), then
              P = Conv2d(c_out*E, c_out, 1), the learned combination -> "lc.weight",
              with an optional op between them ("mid_bn.*" for bn / bn_relu)

Every convolution has stride s, padding k // 2 and no bias. An lc block runs
in one of three ways, all computing the same function (up to rounding):

    unfolded  conv(x, S), the intermediate op, then conv(., P): two convolutions.
              The only way when there is an op between S and P.
    folded    W = P . S (a [c_out, c_out*E] x [c_out*E, c_in*k*k] matrix product),
              then one conv(x, W).
    reduced   S was factored once as S = U . R (R: [n, n], n = c_in*k*k); training
              learned Q = P . U ("reduced.weight") and a scalar c
              ("reduced.decay"); the block is W = Q . R ("reduced.r" holds R),
              then one conv(x, W). See docs/reduced_lc.md.

With filter sharing the layer owns no S: it reads S = T[:c_out*E, :c_in] / sqrt(c_in*k*k)
from the network's buffer T ("shared_spatial_<g>").

The names match the C++ model (worker/nn/lc_conv.h), so a state dict
exported by the coordinator loads here by name.
"""
import math

import torch
from torch import nn
import torch.nn.functional as F

EXECUTIONS = ("folded", "unfolded", "reduced")


class _Holder(nn.Module):
    """Holds one weight tensor as "weight", a parameter or a buffer, so that
    the block's names read "spatial.weight" and "lc.weight"."""

    def __init__(self, shape, trainable):
        super().__init__()
        value = torch.zeros(shape)
        if trainable:
            self.weight = nn.Parameter(value)
        else:
            self.register_buffer("weight", value)


class _Reduced(nn.Module):
    """The trained state of a reduced block: Q ("weight"), c ("decay") and R ("r")."""

    def __init__(self, out_channels, n):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(out_channels, n))
        self.decay = nn.Parameter(torch.ones(1))
        self.register_buffer("r", torch.zeros(n, n))


class LcConv2d(nn.Module):
    """One k x k convolution in mode `conv["mode"]` ("learned" | "frozen" | "lc"),
    run as `execution` ("folded" | "unfolded" | "reduced"; plain convs ignore it).

    `conv` is the job config's model.conv section. `shared`: the network
    module and the name of its buffer T when filters are shared, else None.
    Tensors start as zeros: they are meant to be filled from a state dict."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, conv, execution, shared=None):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, kernel_size // 2
        self.mode = conv.get("mode", "lc")
        self.intermediate = conv.get("intermediate", "none") if self.mode == "lc" else "none"
        self.expanded = out_channels * (int(conv.get("lc_rate", 1)) if self.mode == "lc" else 1)
        spatial_learned = self.mode == "learned" or (self.mode == "lc" and conv.get("spatial") == "learned")
        if self.mode != "lc":
            execution = "folded"  # a plain conv is trivially "folded"
        if execution not in EXECUTIONS:
            raise ValueError("execution must be one of %s, got %r" % (EXECUTIONS, execution))
        if execution == "folded" and self.intermediate != "none":
            raise ValueError("an LC block with intermediate op %r is not linear: it cannot run folded; "
                             "use execution 'unfolded'" % self.intermediate)
        self.execution = execution
        # The network, bypassing Module.__setattr__ so it is not registered as a child.
        object.__setattr__(self, "_shared", shared)
        k = kernel_size
        if self.mode != "lc":
            if shared is None:
                if spatial_learned:
                    self.weight = nn.Parameter(torch.zeros(out_channels, in_channels, k, k))
                else:
                    self.register_buffer("weight", torch.zeros(out_channels, in_channels, k, k))
            return
        if shared is None:
            self.spatial = _Holder((self.expanded, in_channels, k, k), trainable=spatial_learned)
        if execution == "reduced":
            self.reduced = _Reduced(out_channels, in_channels * k * k)
        else:
            self.lc = _Holder((out_channels, self.expanded, 1, 1), trainable=True)
        if self.intermediate in ("bn", "bn_relu"):
            self.mid_bn = nn.BatchNorm2d(self.expanded)

    def spatial_weight(self):
        """S, [c_out*E, c_in, k, k] (the plain weight for learned / frozen convs)."""
        k = self.kernel_size
        if self._shared is not None:
            owner, name = self._shared
            t = getattr(owner, name)
            rows = t.reshape(t.shape[0], -1)[: self.expanded, : self.in_channels * k * k]
            return (rows / math.sqrt(self.in_channels * k * k)).reshape(self.expanded, self.in_channels, k, k)
        return self.spatial.weight if self.mode == "lc" else self.weight

    def folded_weight(self):
        """W, the one [c_out, c_in, k, k] filter the block computes (linear blocks only)."""
        k, cin, cout = self.kernel_size, self.in_channels, self.out_channels
        if self.mode != "lc":
            return self.spatial_weight()
        if self.execution == "reduced":
            return (self.reduced.weight @ self.reduced.r).view(cout, cin, k, k)
        p = self.lc.weight.reshape(cout, self.expanded)
        return (p @ self.spatial_weight().reshape(self.expanded, cin * k * k)).view(cout, cin, k, k)

    def forward(self, x):
        if self.execution != "unfolded":
            return F.conv2d(x, self.folded_weight(), None, self.stride, self.padding)
        z = F.conv2d(x, self.spatial_weight(), None, self.stride, self.padding)
        if self.intermediate == "relu":
            z = F.relu(z)
        elif self.intermediate == "bn":
            z = self.mid_bn(z)
        elif self.intermediate == "bn_relu":
            z = F.relu(self.mid_bn(z))
        return F.conv2d(z, self.lc.weight)
