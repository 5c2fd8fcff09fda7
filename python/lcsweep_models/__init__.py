"""lcsweep_models: a small, readable PyTorch version of the models lcsweep
trains, to load and study the final models the coordinator keeps
(`lcsweep model JOB -o model.pt`, or lcsweep.Client.model). See
docs/python.md, "Models".

    import lcsweep_models
    model, config = lcsweep_models.load("model.pt")     # eval mode, on the CPU
    logits = model(images)                             # images in [0, 1], [N, C, H, W]
    model.layer1[0].conv1.spatial_weight()             # the frozen filters S

The file is a plain state dict (torch.load(path, weights_only=True)): every
parameter and buffer by name, plus three string entries: "_lcsweep_format",
"_lcsweep_config_json" (the job's config) and "_lcsweep_model_json" (input
channels, classes, and how each LC layer ran: "executions"; the shared
filter buffer of each layer under sharing: "shared").
"""
import json

import torch

from lcsweep_models.lc_conv import EXECUTIONS, LcConv2d
from lcsweep_models.resnet import ResNet

FORMAT = "lcsweep.model.v1"
__all__ = ["FORMAT", "EXECUTIONS", "LcConv2d", "ResNet", "load", "build"]


def build(config, info, execution=None):
    """The ResNet of a job config (a dict) and the export's model info (a dict).
    `execution` ("folded" | "unfolded") runs every folded or unfolded LC layer
    that way instead of as it was trained; reduced layers stay reduced (their
    tensors are Q, c and R, not P)."""
    executions = dict(info.get("executions", {}))
    if execution is not None:
        if execution not in ("folded", "unfolded"):
            raise ValueError("execution override must be 'folded' or 'unfolded', got %r" % execution)
        executions = {k: (v if v == "reduced" else execution) for k, v in executions.items()}
    return ResNet(config, int(info["in_channels"]), int(info["num_classes"]), executions,
                  shared=info.get("shared"), normalise=info.get("normalised", True))


def split(state):
    """(tensors, config, info) of a loaded export dict."""
    state = dict(state)
    fmt = state.pop("_lcsweep_format", None)
    if fmt != FORMAT:
        raise ValueError("not an lcsweep model file (format %r, expected %r)" % (fmt, FORMAT))
    config = json.loads(state.pop("_lcsweep_config_json"))
    info = json.loads(state.pop("_lcsweep_model_json"))
    return state, config, info


def load(path, execution=None, map_location="cpu"):
    """Reads an exported model; returns (model in eval mode, job config dict).
    Every tensor of the file must fill one of the model (strict loading)."""
    tensors, config, info = split(torch.load(path, map_location=map_location, weights_only=True))
    info.setdefault("normalised", "norm_mean" in tensors)
    model = build(config, info, execution)
    model.load_state_dict(tensors, strict=True)
    return model.eval(), config
