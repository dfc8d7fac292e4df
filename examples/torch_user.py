"""A PyTorch user's real-weight model, exported the way PyTorch users export: ``torch.onnx.export``.

The real Keras ImageNet weights of MobileNet v1 0.25/128 (``../shared/data/weights``) ported into a plain
PyTorch module (NCHW, Keras's asymmetric stride-2 padding written out, batch norm kept as layers), checked
against Keras on real images, then exported with torch.onnx's default exporter (which writes the weights
beside the graph, ``.onnx.data``). The ONNX file is what ``edgekit convert --model`` then takes.

    python examples/torch_user.py --data ../shared/data --out models/torch
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from edgekit import chatter  # noqa: E402

chatter.capture()  # TensorFlow's start-up lines stay off the terminal (EDGEKIT_VERBOSE=1 shows them)

ALPHA, SIZE = 0.25, 128
# MobileNet v1's 13 depthwise-separable blocks: (output channels at alpha 1, stride)
BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1), (512, 1),
          (512, 1), (1024, 2), (1024, 1))


def torch_mobilenet():
    """The PyTorch module: conv-BN-ReLU6 stem, 13 depthwise-separable blocks, global pool, a 1x1 conv head."""
    import torch
    from torch import nn

    class ConvBN(nn.Sequential):
        def __init__(self, cin, cout, kernel, stride, groups):
            pad = (0, 1, 0, 1) if stride == 2 else ((kernel // 2,) * 4)  # Keras: ZeroPadding2D(((0, 1), (0, 1)))
            super().__init__(nn.ZeroPad2d(pad), nn.Conv2d(cin, cout, kernel, stride, 0, groups=groups, bias=False),
                             nn.BatchNorm2d(cout, eps=1e-3), nn.ReLU6())

    class MobileNetV1(nn.Module):
        def __init__(self):
            super().__init__()
            width = int(32 * ALPHA)
            layers = [ConvBN(3, width, 3, 2, 1)]
            for filters, stride in BLOCKS:
                out = int(filters * ALPHA)
                layers += [ConvBN(width, width, 3, stride, width), ConvBN(width, out, 1, 1, 1)]
                width = out
            self.features = nn.Sequential(*layers)
            self.classifier = nn.Conv2d(width, 1000, 1)

        def forward(self, x):
            x = self.features(x).mean(dim=(2, 3), keepdim=True)
            return torch.flatten(self.classifier(x), 1)

    return MobileNetV1().eval()


def port(weights: Path):
    """The torch module with the Keras file's weights (kernels HWIO -> OIHW, depthwise HWC1 -> C1HW)."""
    import h5py
    import numpy as np
    import torch

    net = torch_mobilenet()
    with h5py.File(weights, "r") as h5:
        def get(layer, name):
            group = h5[layer][layer] if layer in h5 and layer in h5[layer] else h5[layer]
            return np.asarray(group[name])

        names = ["conv1"] + [n for i in range(1, 14) for n in (f"conv_dw_{i}", f"conv_pw_{i}")]
        for block, name in zip(net.features, names):
            conv, bn = block[1], block[2]
            kernel = get(name, "depthwise_kernel:0" if "_dw_" in name else "kernel:0")
            kernel = kernel.transpose(2, 3, 0, 1) if "_dw_" in name else kernel.transpose(3, 2, 0, 1)
            conv.weight.data = torch.from_numpy(np.ascontiguousarray(kernel))
            for attr, key in (("weight", "gamma:0"), ("bias", "beta:0"), ("running_mean", "moving_mean:0"),
                              ("running_var", "moving_variance:0")):
                getattr(bn, attr).data = torch.from_numpy(get(f"{name}_bn", key))
        net.classifier.weight.data = torch.from_numpy(np.ascontiguousarray(
            get("conv_preds", "kernel:0").transpose(3, 2, 0, 1)))
        net.classifier.bias.data = torch.from_numpy(get("conv_preds", "bias:0"))
    return net


def check_against_keras(net, weights: Path, images: list[Path]) -> float:
    """Largest |logit| difference between the torch port and the Keras model on real images."""
    import keras
    import numpy as np
    import torch

    from edgekit.data.images import load_batch

    reference = keras.applications.MobileNet(alpha=ALPHA, input_shape=(SIZE, SIZE, 3), weights=None,
                                             classifier_activation=None)
    reference.load_weights(weights)
    x = load_batch(images, SIZE).astype(np.float32) / 127.5 - 1
    want = reference.predict(x, verbose=0)
    with torch.no_grad():
        got = net(torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))).numpy()
    return float(np.abs(want - got).max())


def export(net, target: Path) -> Path:
    """torch.onnx.export's default exporter, as a PyTorch user calls it (dynamic batch)."""
    import contextlib
    import io
    import logging
    import warnings

    import torch

    logging.getLogger("torch.onnx").setLevel(logging.ERROR)  # "torchvision is not installed. Skipping ..." x4
    warnings.filterwarnings("ignore", category=FutureWarning)  # torch.export's own deprecations, not the user's
    target.parent.mkdir(parents=True, exist_ok=True)
    example = torch.zeros(1, 3, SIZE, SIZE)
    with contextlib.redirect_stdout(io.StringIO()):  # its progress lines
        torch.onnx.export(net, (example,), str(target), input_names=["input"], output_names=["logits"],
                          dynamic_shapes={"x": {0: torch.export.Dim("batch")}}, external_data=True)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("models/torch"))
    args = parser.parse_args()
    weights = args.data / "weights" / "mobilenet_2_5_128_tf.h5"
    net = port(weights)
    images = sorted((args.data / "imagenet-val" / "fullres20" / "images").iterdir())[:8]
    diff = check_against_keras(net, weights, images)
    path = export(net, args.out / "v1_torch.onnx")
    extra = sorted(p.name for p in path.parent.iterdir() if p.name.startswith(path.name) and p != path)
    print(json.dumps({"model": str(path), "external_data": extra, "max_abs_diff_vs_keras": diff,
                      "images": len(images)}))


if __name__ == "__main__":
    main()
