"""Predict what the Edge TPU compiler maps, without the compiler: ``edgekit edgetpu-check``.

Rules (Coral's model requirements, from ``supported_ops.toml``): an op maps when it is on the
supported list, meets its documented limitation, and every tensor it reads or writes is 8-bit
quantized, static and at most 3-D in effect. The compiler maps one segment: the first op that
cannot map cuts the graph and everything after it runs on the CPU, supported or not. A type
conversion at the very edge of the graph (float input -> int8, int8 -> float output) stays on the
CPU without cutting, the way compiled PTQ models with float I/O keep their outer QUANTIZE.

A file that already went through the compiler is read as it is: ops inside ``edgetpu-custom-op``
ran on the TPU, the rest on the CPU.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from edgekit.run.tflite_graph import EDGETPU_CUSTOM_OP, Graph, Op, read_graph

RULES_FILE = Path(__file__).with_name("supported_ops.toml")
EDGE_CONVERSIONS = {"QUANTIZE", "DEQUANTIZE"}
EDGE_NOTE = "at the graph's edge: stays on the CPU without cutting the graph"


@lru_cache(maxsize=1)
def rules() -> dict:
    """Coral's documented op rules (supported_ops.toml), read once."""
    return tomllib.loads(RULES_FILE.read_text())


@dataclass
class OpMapping:
    """One op of a .tflite graph and whether the Edge TPU compiler would map it, with the reason."""
    index: int
    op: str
    mapped: bool
    reason: str

    def to_dict(self) -> dict:
        return {"index": self.index, "op": self.op, "mapped": self.mapped, "reason": self.reason}


def _why_not(op: Op, graph: Graph) -> str | None:
    """None if ``op`` maps on its own; else the reason it does not."""
    spec = rules()["ops"].get(op.name)
    req = rules()["requirements"]
    if spec is None:
        return f"{op.name} is not a supported Edge TPU operation"
    for t in (graph.tensors[i] for i in (*op.inputs, *op.outputs) if i >= 0):
        allowed = req["constant_types"] if t.constant else req["activation_types"]
        if t.dtype not in allowed or (not t.constant and not t.quantized):
            return f"tensor '{t.name}' is {t.dtype}{'' if t.quantized else ' (not quantized)'}: " \
                   f"the Edge TPU needs 8-bit quantized tensors"
        if t.dynamic:
            return f"tensor '{t.name}' has a dynamic shape"
        if not t.constant and sum(1 for d in t.shape if d > 1) > req["max_dims_above_one"]:
            return f"tensor '{t.name}' {list(t.shape)} has more than 3 dimensions above 1"
    if "max_scale" in spec:
        scale = _upscale(op, graph)
        if scale > spec["max_scale"]:
            return (f"{op.name} upsamples {scale:.1f}x (more than {spec['max_scale']:g}x stays on the CPU; "
                    f"{spec['max_scale_source']})")
    if spec.get("no_fused_activation") and op.fused_activation not in (None, "NONE"):
        return f"{op.name} with a fused {op.fused_activation} (not supported: no fused activation)"
    if "axes" in spec:
        axes = next((graph.tensors[i].values for i in op.inputs[1:2] if graph.tensors[i].values is not None), None)
        if op.name == "PAD" and axes is not None:  # paddings: [[before, after] per dim]
            axes = tuple(d for d in range(len(axes) // 2) if axes[2 * d] or axes[2 * d + 1])
        if axes is None or not set(a % 4 for a in axes) <= set(spec["axes"]):
            return f"{op.name} along axes {list(axes) if axes is not None else '?'} (only x and/or y are supported)"
    return None


def _upscale(op: Op, graph: Graph) -> float:
    """The largest per-side upsampling factor of a resize (output size over input size, NHWC)."""
    before, after = graph.tensors[op.inputs[0]].shape, graph.tensors[op.outputs[0]].shape
    if len(before) != 4 or len(after) != 4:
        return 1.0
    return max(after[1] / max(1, before[1]), after[2] / max(1, before[2]))


def _edge_conversion(op: Op, graph: Graph) -> bool:
    """A QUANTIZE/DEQUANTIZE fed only by graph inputs, or feeding only graph outputs."""
    if op.name not in EDGE_CONVERSIONS:
        return False
    live_inputs = [i for i in op.inputs if i >= 0 and not graph.tensors[i].constant]
    if not live_inputs:  # a DEQUANTIZE of constant weights (fp16 or int8 weights) is inside the graph, not at its edge
        return False
    return all(i in graph.inputs for i in live_inputs) or all(o in graph.outputs for o in op.outputs)


def _advice(mappings: list[OpMapping]) -> list[str]:
    table = rules()["advice"]
    out = []
    for m in mappings:
        if m.mapped or m.reason.startswith("after ") or m.reason.endswith(EDGE_NOTE):
            continue
        key = m.op if m.op in table else ("float" if "quantized" in m.reason else
                                           "dynamic" if "dynamic" in m.reason else None)
        if key == "DEQUANTIZE" and any(o.op == "TFLite_Detection_PostProcess" for o in mappings):
            key = "DEQUANTIZE_DETECTION"
        if key and table[key] not in out:
            out.append(table[key])
    return out


def predict(path: str | Path) -> dict:
    """The predicted (or, for compiler output, the actual) op placement of ``path``."""
    graph = read_graph(path)
    if graph.edgetpu_compiled:
        mappings = [OpMapping(op.index, op.name, op.name == EDGETPU_CUSTOM_OP,
                              "compiled into the Edge TPU custom op" if op.name == EDGETPU_CUSTOM_OP
                              else "left outside the Edge TPU custom op by the compiler") for op in graph.ops]
        first = None
    else:
        mappings, first = [], None
        for op in graph.ops:
            if first is not None:
                mappings.append(OpMapping(op.index, op.name, False,
                                          f"after the first unsupported op #{first.index} ({first.op}): "
                                          f"the compiler maps one segment, the rest runs on the CPU"))
                continue
            reason = _why_not(op, graph)
            if reason is None:
                spec = rules()["ops"][op.name]
                note = f" (limitation: {spec['limitation']})" if "limitation" in spec else ""
                mappings.append(OpMapping(op.index, op.name, True, "supported" + note))
            elif _edge_conversion(op, graph):
                mappings.append(OpMapping(op.index, op.name, False, f"{reason}; {EDGE_NOTE}"))
            else:
                first = OpMapping(op.index, op.name, False, reason)
                mappings.append(first)
    on_tpu = sum(m.mapped for m in mappings)
    return {
        "model": str(path), "compiled": graph.edgetpu_compiled, "subgraphs": graph.subgraphs,
        "ops_total": len(mappings), "ops_on_tpu": on_tpu, "ops_on_cpu": len(mappings) - on_tpu,
        "first_unsupported": first.to_dict() if first else None,
        "ops": [m.to_dict() for m in mappings], "advice": _advice(mappings),
        "rules": rules()["source"],
    }


def summary(prediction: dict) -> dict:
    """The counts without the per-op list (for sidecars)."""
    return {k: v for k, v in prediction.items() if k not in ("ops", "model")}
