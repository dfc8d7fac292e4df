"""Plain-data descriptions of the zoo for the CLI and CI: listings and per-layer summaries.

Our counts are set beside every published figure with its source and the relative difference.
"""

from __future__ import annotations

from edgekit.zoo import count as count_mod
from edgekit.zoo import published
from edgekit.zoo.arch import Layer
from edgekit.zoo.spec import ModelSpec, zoo_specs
from edgekit.zoo.weights import imagenet_available

MACS_TOLERANCE = 0.01  # "reproduced within 1%"


def _dims(shape) -> str:
    return "x".join(str(d) for d in shape)


def layer_type(layer: Layer) -> str:
    """The v1 paper's 'Type / Stride' cell for a layer."""
    names = {
        "conv": "Conv", "dwconv": "Conv dw", "fc": "FC", "pool": "Avg Pool", "softmax": "Softmax",
        "add": "Add", "mul": "SE scale", "rescale": "Rescale", "normalize": "Normalize",
        "shuffle": "Channel shuffle", "sepconv": "Conv sep", "bn": "BatchNorm", "maxpool": "Max Pool", "avgpool": "Avg Pool 3x3",
    }
    label = names.get(layer.op, layer.op.replace("_", " ").capitalize())  # every arch op has a cell
    return f"{label} / s{layer.stride}" if layer.op in ("conv", "dwconv", "sepconv", "fc", "pool", "softmax") else label


def filter_shape(layer: Layer) -> str:
    """The v1 paper's 'Filter Shape' cell for a layer."""
    k, cin, cout = layer.kernel, layer.in_shape[2], layer.out_shape[2]
    return {
        "conv": f"{k}x{k}x{cin}x{cout}" + (f" g{layer.groups}" if layer.groups > 1 else ""),
        "dwconv": f"{k}x{k}x{cin} dw",
        "sepconv": f"{k}x{k}x{cin} dw + 1x1x{cin}x{cout}",
        "fc": f"{cin}x{cout}",
        "pool": f"Pool {k}x{k}",
        "softmax": "Classifier",
    }.get(layer.op, "")


def compare_published(spec: ModelSpec, macs: int, params_folded: int) -> list[dict]:
    """Every published row for ``spec``, with our MACs/params and the relative difference."""
    rows = []
    for row in published.rows_for(spec.name):
        item = row.to_dict()
        if "macs_m" in row.values:
            delta = macs / 1e6 / row.values["macs_m"] - 1
            item["macs_delta"] = round(delta, 4)
            item["macs_within_1pct"] = abs(delta) <= MACS_TOLERANCE
        if "params_m" in row.values:
            item["params_delta"] = round(params_folded / 1e6 / row.values["params_m"] - 1, 4)
        rows.append(item)
    return rows


def model_entry(spec: ModelSpec) -> dict:
    """One zoo listing row: counts and the published numbers beside them."""
    counted = count_mod.count(spec)
    pub = compare_published(spec, counted.macs, counted.params_folded)
    return {
        **{k: v for k, v in spec.to_dict().items() if k != "preprocessing"},
        "macs": counted.macs,
        "params": counted.params,
        "params_folded": counted.params_folded,
        "imagenet_weights": imagenet_available(spec),
        "published": pub or None,
    }


def zoo_listing(family: str | None = None, published_only: bool = False) -> list[dict]:
    """Every paper variant of the zoo (or one family), with counts and published numbers; with
    ``published_only`` also the variants only other papers publish (EfficientNet's scaled MobileNets)."""
    specs = list(zoo_specs(family))
    if published_only:
        from edgekit.zoo.published import all_rows
        from edgekit.zoo.spec import parse_model

        names = {spec.name for spec in specs}
        for row in all_rows():
            spec = parse_model(row.model)
            if spec.name not in names and (family is None or spec.family == family):
                names.add(spec.name)
                specs.append(spec)
    entries = [model_entry(spec) for spec in specs]
    return [e for e in entries if e["published"]] if published_only else entries


def summary(spec: ModelSpec) -> dict:
    """A model layer by layer, with totals and the published rows beside them."""
    counted = count_mod.count(spec)
    layers = []
    for c in counted.layers:
        layer = c.layer
        layers.append({
            "name": layer.name, "block": layer.block, "op": layer.op, "type": layer_type(layer),
            "stride": layer.stride, "filter_shape": filter_shape(layer),
            "input_size": _dims(layer.in_shape), "output_size": _dims(layer.out_shape),
            "activation": layer.act, "batchnorm": layer.bn,
            "macs": c.macs, "params": c.params, "params_folded": c.params_folded,
        })
    return {
        "name": spec.name,
        "spec": spec.to_dict(),
        "macs": counted.macs,
        "params": counted.params,
        "params_folded": counted.params_folded,
        "elementwise_ops": counted.elementwise,
        "layers": layers,
        "published": compare_published(spec, counted.macs, counted.params_folded),
        "conventions": {
            "macs": "multiply-adds of conv, depthwise and fully connected layers (element-wise ops apart)",
            "params": "as Keras counts them (BatchNorm gamma, beta, moving mean and variance included)",
            "params_folded": "BatchNorm folded into the preceding convolution, as deployed",
        },
    }
