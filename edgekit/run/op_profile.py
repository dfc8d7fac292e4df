"""Per-op time, as each runtime can honestly give it.

**LiteRT**: XNNPACK runs the whole graph as one delegate node and the Python interpreter exposes no
op profiler, so every op is cut out into a one-op model (``tflite_cut``) and timed on its own by the
same interpreter, kernels and threads, in rounds interleaved with the whole model. Each one-op
invoke pays a fixed cost the whole model pays once (the interpreter's and delegate's per-invoke
work); it is measured as the median time of an empty run of the cheapest op, subtracted from
every op, and reported. The sum of the ops is then set beside the whole model's median from the
same rounds: their gap is the method's error, stated with every profile (``measured_gap_pct``). One-op
models miss what the whole graph shares (caches warm or cold between ops, fused work): the gap runs
from -20% to +30% on MobileNets, so the ledger **apportions** the whole-model median by the one-op
shares (each op's time x whole / sum) and says so; the measured sum stays beside it.

**ONNX Runtime**: its own profiler (``SessionOptions.enable_profiling``): per node and per run,
warm-up runs excluded, in a profiled session beside an unprofiled one of the same file, whose
medians give the profiler's overhead. Each ``kernel_time`` event carries a fixed cost of the
profiler's own (about 2-3 µs a node: timestamps, the shapes it records), measured on the same device
with a chain of 64 trivial nodes (their profiled kernel time less their unprofiled share of the run)
and subtracted from every node. That halves the gap, not more (v3-small-0.75-128 float: +132% -> +64%, AMD EPYC):
a profiled session is slower inside its kernels too, so the unprofiled whole-model median is apportioned by the
corrected shares, as for LiteRT; the profiler's raw sum and the corrected sum stay beside it.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
from pathlib import Path

import numpy as np

from edgekit.run.runtime import ModelFileError
from edgekit.run.timing import time_runs


def _median(values) -> float:
    return float(statistics.median(values)) if values else float("nan")


def litert_ops(path: str | Path, threads: int = 1, xnnpack: bool = True, runs: int = 30, min_seconds: float = 0.05,
               rounds: int = 3, warmup: int = 5) -> dict:
    """Per-op medians (ms) of a .tflite file by one-op models, with the whole model timed in the same rounds."""
    from ai_edge_litert import interpreter as litert

    from edgekit.run.tflite_cut import op_cost, op_kinds, parse_graph, random_inputs, single_op_models

    path = Path(path)
    data = path.read_bytes()
    graph = parse_graph(data, path.name)
    if graph.edgetpu_compiled:
        raise ModelFileError(f"{path.name} is Edge TPU compiler output: its ops run inside edgetpu-custom-op on the "
                             f"TPU; profile its CPU twin (the file before compiling)")
    resolver = (litert.OpResolverType.AUTO if xnnpack else litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)

    def interpreter(content: bytes):
        interp = litert.Interpreter(model_content=content, num_threads=threads, experimental_op_resolver_type=resolver)
        interp.allocate_tensors()
        for detail, value in zip(interp.get_input_details(), random_inputs(interp.get_input_details())):
            interp.set_tensor(detail["index"], value)
        return interp

    try:
        whole = interpreter(data)
        for _ in range(warmup):
            whole.invoke()
    except (ValueError, RuntimeError) as exc:
        raise ModelFileError(f"LiteRT cannot run {path.name}: {' '.join(str(exc).split())[:200]}") from None
    ops = []
    for index, content in single_op_models(data):
        try:  # an op that cannot stand alone (a custom op, a kernel that needs its neighbours) is not profiled
            interp = interpreter(content)
            for _ in range(warmup):
                interp.invoke()
            ops.append((index, interp))
        except (ValueError, RuntimeError):
            ops.append((index, None))
    whole_samples: list[float] = []
    op_samples: dict[int, list[float]] = {index: [] for index, _ in ops}
    for r in range(rounds):
        for _ in range(warmup):  # the one-op models of the last round left the caches cold: warm them as bench does
            whole.invoke()
        whole_samples += time_runs(whole.invoke, runs, min_seconds)
        order = ops if r % 2 == 0 else list(reversed(ops))
        for index, interp in order:
            if interp is not None:
                op_samples[index] += time_runs(interp.invoke, runs, min_seconds / 4)
    medians = {index: _median(samples) for index, samples in op_samples.items()}
    timed = [m for m in medians.values() if m == m]
    invoke_ms = _empty_invoke_ms(litert, threads, resolver, runs * rounds)
    kinds = op_kinds(graph)
    rows = []
    for op in graph.ops:
        macs, params = op_cost(graph, op)
        raw = medians.get(op.index, float("nan"))
        rows.append({"index": op.index, "op": op.name, "kind": kinds[op.index],
                     "tensor": graph.tensors[op.outputs[0]].name if op.outputs else "",
                     "shape": list(graph.tensors[op.outputs[0]].shape) if op.outputs else [],
                     "dtype": graph.tensors[op.outputs[0]].dtype if op.outputs else "",
                     "ms": max(raw - invoke_ms, 0.0) if raw == raw else None,
                     "ms_raw": raw if raw == raw else None, "macs": macs, "params": params})
    whole_ms = _median(whole_samples)
    measured = sum(r["ms"] for r in rows if r["ms"] is not None)
    scale = whole_ms / measured if measured > 0 else 1.0
    for r in rows:  # apportion the whole-model median by the one-op shares
        r["ms_measured"] = r["ms"]
        r["ms"] = r["ms"] * scale if r["ms"] is not None else None
    total = sum(r["ms"] for r in rows if r["ms"] is not None)
    return {"method": "one-op models cut from the file, each timed by the same interpreter and kernels in rounds "
                      "interleaved with the whole model; a fixed per-invoke cost (an empty run) subtracted from each; "
                      "the whole-model median apportioned by their shares",
            "apportioned": True, "measured_sum_ms": measured,
            "measured_gap_pct": 100 * (measured - whole_ms) / whole_ms,
            "whole_ms": whole_ms, "sum_ms": total, "sum_raw_ms": sum(timed), "invoke_overhead_ms": invoke_ms,
            "gap_pct": 100 * (total - whole_ms) / whole_ms, "runs_per_op": runs * rounds,
            "untimed_ops": [r["op"] for r in rows if r["ms"] is None], "ops": rows,
            "profiler_overhead_pct": 0.0, "kernels": "xnnpack" if xnnpack else "builtin"}


def _empty_invoke_ms(litert, threads: int, resolver, runs: int) -> float:
    """The median invoke of the smallest model there is (one RESHAPE of one value): the fixed cost every
    one-op model pays and the whole model pays once."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT()
    model.version = 3
    code = schema.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.RESHAPE
    model.operatorCodes = [code]
    tensors = []
    for name in ("in", "out"):
        tensor = schema.TensorT()
        tensor.shape, tensor.type, tensor.buffer, tensor.name = [1], schema.TensorType.FLOAT32, 0, name
        tensors.append(tensor)
    op = schema.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = 0, [0], [1]
    sub = schema.SubGraphT()
    sub.tensors, sub.operators, sub.inputs, sub.outputs = tensors, [op], [0], [1]
    model.subgraphs = [sub]
    model.buffers = [schema.BufferT()]
    builder = flatbuffers.Builder(256)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    interp = litert.Interpreter(model_content=bytes(builder.Output()), num_threads=threads,
                                experimental_op_resolver_type=resolver)
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], np.zeros([1], np.float32))
    for _ in range(20):
        interp.invoke()
    return _median(time_runs(interp.invoke, max(runs, 200)))


def ort_ops(path: str | Path, threads: int = 1, optimization: str = "all", runs: int = 50, warmup: int = 10,
            rounds: int = 3) -> dict:
    """Per-node medians (ms) from ONNX Runtime's own profiler; an unprofiled session of the same file, timed
    in the same rounds, gives the profiler's overhead."""
    import onnxruntime as ort

    from edgekit.run.onnxruntime import OnnxRuntime
    from edgekit.run.runtime import Classifier

    path = Path(path)
    node_overhead = ort_node_overhead_ms(threads, optimization)
    with tempfile.TemporaryDirectory(prefix="edgekit-ortprof-") as scratch:
        options = ort.SessionOptions()
        options.enable_profiling = True
        options.profile_file_prefix = os.path.join(scratch, "profile")
        profiled = OnnxRuntime(path, threads=threads, optimization=optimization, session_options=options)
        plain = OnnxRuntime(path, threads=threads, optimization=optimization)
        rng = np.random.default_rng(0)
        pixels = rng.integers(0, 256, (1, *_image_shape(profiled.inputs[0].shape)), dtype=np.uint8)
        for runtime in (profiled, plain):
            runtime.prepare(Classifier(runtime, lambda p: p.astype(np.float32) / 127.5 - 1).model_input(pixels))
            for _ in range(warmup):
                runtime.invoke()
        plain_samples, profiled_samples = [], []
        for _ in range(rounds):
            for _ in range(3):  # after the profiled session's round: warm caches, as bench times a model
                plain.invoke()
            plain_samples += time_runs(plain.invoke, runs)
            profiled_samples += time_runs(profiled.invoke, runs)
        trace = Path(profiled.end_profiling())
        events = json.loads(trace.read_text())
    runs_seen = [e for e in events if e.get("cat") == "Session" and e.get("name") == "model_run"]
    skip_before = runs_seen[warmup - 1]["ts"] + runs_seen[warmup - 1]["dur"] if len(runs_seen) >= warmup > 0 else 0
    per_node: dict[str, list[float]] = {}
    meta: dict[str, dict] = {}
    order: list[str] = []
    for event in events:
        if event.get("cat") != "Node" or not event.get("name", "").endswith("_kernel_time") or event["ts"] < skip_before:
            continue
        node = event["name"][: -len("_kernel_time")]
        if node not in per_node:
            order.append(node)
            per_node[node] = []
            meta[node] = event.get("args", {})
        per_node[node].append(event["dur"] / 1000)
    timed_runs = max(1, len(runs_seen) - warmup)
    rows = []
    for index, node in enumerate(order):
        args = meta[node]
        macs, params, weight = _ort_cost(args)
        mean = sum(per_node[node]) / timed_runs  # the profiler's durations are whole µs: a mean resolves below that
        rows.append({"index": index, "op": args.get("op_name", "?"), "kind": _ort_kind(args.get("op_name", "")),
                     "tensor": node, "shape": _first_shape(args.get("output_type_shape")),
                     "ms": max(mean - node_overhead, 0.0), "ms_profiler": mean, "ms_raw": _median(per_node[node]),
                     "macs": macs,
                     "params": params, "weight_shape": weight, "provider": args.get("provider")})
    _mark_heads(rows)
    whole_ms, profiled_ms = _median(plain_samples), _median(profiled_samples)
    raw = sum(r["ms_profiler"] for r in rows)
    measured = sum(r["ms"] for r in rows)
    scale = whole_ms / measured if measured > 0 else 1.0
    for r in rows:  # apportion the unprofiled whole-model median by the corrected shares
        r["ms_measured"] = r["ms"]
        r["ms"] = r["ms"] * scale
    total = sum(r["ms"] for r in rows)
    return {"method": "ONNX Runtime's profiler (per node and run, warm-ups excluded), less its own per-node cost "
                      "(measured on a chain of trivial nodes); the unprofiled session's median (same rounds) "
                      "apportioned by the corrected shares",
            "apportioned": True, "node_overhead_ms": node_overhead, "measured_sum_ms": measured,
            "measured_gap_pct": 100 * (measured - whole_ms) / whole_ms, "profiler_sum_ms": raw,
            "profiler_gap_pct": 100 * (raw - whole_ms) / whole_ms,
            "whole_ms": whole_ms, "profiled_ms": profiled_ms, "sum_ms": total,
            "gap_pct": 100 * (total - whole_ms) / whole_ms, "profiler_overhead_pct": 100 * (profiled_ms - whole_ms) / whole_ms,
            "runs_per_op": timed_runs, "ops": rows, "untimed_ops": []}


CHAIN_NODES = 64


def ort_node_overhead_ms(threads: int = 1, optimization: str = "all", runs: int = 300) -> float:
    """What ORT's profiler adds to each node's ``kernel_time``: a chain of trivial nodes (Neg of one value) timed
    profiled (mean kernel time per node) and unprofiled (the run's median over the nodes)."""
    import onnxruntime as ort

    from edgekit.run.onnxruntime import _LEVELS

    data, feed = _chain_model(CHAIN_NODES), {"t0": np.zeros((1, 1), np.float32)}
    with tempfile.TemporaryDirectory(prefix="edgekit-ortchain-") as scratch:
        sessions = []
        for profiled in (True, False):
            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, _LEVELS[optimization])
            if profiled:
                options.enable_profiling = True
                options.profile_file_prefix = os.path.join(scratch, "chain")
            sessions.append(ort.InferenceSession(data, options, providers=["CPUExecutionProvider"]))
        profiled, plain = sessions
        for session in sessions:
            for _ in range(10):
                session.run(None, feed)
        plain_samples = time_runs(lambda: plain.run(None, feed), runs)
        for _ in range(runs):
            profiled.run(None, feed)
        events = json.loads(Path(profiled.end_profiling()).read_text())
    kernel = [e["dur"] / 1000 for e in events if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time")]
    kernel = kernel[10 * CHAIN_NODES:] or kernel
    return max(sum(kernel) / len(kernel) - _median(plain_samples) / CHAIN_NODES, 0.0)


def _chain_model(nodes: int) -> bytes:
    """An ONNX model of ``nodes`` chained Neg ops on a 1x1 float tensor, written as protobuf by hand (the device
    side has ONNX Runtime, not the onnx package)."""
    def varint(n: int) -> bytes:
        out = bytearray()
        while True:
            byte, n = n & 0x7F, n >> 7
            out.append(byte | (0x80 if n else 0))
            if not n:
                return bytes(out)

    def field(number: int, payload: bytes) -> bytes:
        return varint(number << 3 | 2) + varint(len(payload)) + payload

    def integer(number: int, value: int) -> bytes:
        return varint(number << 3) + varint(value)

    def value_info(name: str) -> bytes:  # ValueInfoProto{name, type: TypeProto{tensor_type{elem_type FLOAT, shape}}}
        shape = field(1, integer(1, 1)) * 2
        return field(1, name.encode()) + field(2, field(1, integer(1, 1) + field(2, shape)))

    graph = b"".join(field(1, field(1, f"t{i}".encode()) + field(2, f"t{i + 1}".encode()) + field(3, f"n{i}".encode())
                           + field(4, b"Neg")) for i in range(nodes))
    graph += field(2, b"chain") + field(11, value_info("t0")) + field(12, value_info(f"t{nodes}"))
    return integer(1, 8) + field(8, field(1, b"") + integer(2, 13)) + field(7, graph)  # ir 8, opset 13


def _image_shape(shape) -> tuple[int, int, int]:
    shape = tuple(shape)
    return (shape[2], shape[3], 3) if shape[1] == 3 and shape[3] != 3 else tuple(shape[1:4])


def _first_shape(shapes) -> list:
    if not shapes:
        return []
    first = shapes[0]
    return list(next(iter(first.values()))) if isinstance(first, dict) else list(first)


def _shapes(args: dict) -> list[list[int]]:
    return [list(next(iter(s.values()))) if isinstance(s, dict) else list(s) for s in args.get("input_type_shape") or []]


def _ort_cost(args: dict) -> tuple[int, int, list]:
    """MACs, parameters and the weight shape of an ORT node from its profiled input/output shapes."""
    op = args.get("op_name", "")
    inputs, out = _shapes(args), _first_shape(args.get("output_type_shape"))
    weights = {"Conv": 1, "QLinearConv": 3, "ConvInteger": 1, "FusedConv": 1, "NhwcFusedConv": 1,
               "Gemm": 1, "MatMul": 1, "QGemm": 3, "MatMulInteger": 1, "QLinearMatMul": 3}.get(op)
    if weights is None or len(inputs) <= weights or not out:
        return 0, 0, []
    w = inputs[weights]
    params = int(np.prod(w)) if w else 0
    if "Conv" in op and len(w) == 4:
        channels_last = op.startswith("Nhwc")
        spatial = int(np.prod(out[1:3] if channels_last else out[2:]))
        cout = out[3] if channels_last else out[1]
        return spatial * cout * w[1] * w[2] * w[3], params, w
    if len(w) == 2:
        return int(np.prod(out[:-1])) * w[0] * w[1], params, w
    return 0, params, w


def _ort_kind(op: str) -> str:
    if "Conv" in op:
        return "conv"
    if op in ("Gemm", "MatMul", "QGemm", "QLinearMatMul", "MatMulInteger"):
        return "FC"
    if op in ("GlobalAveragePool", "AveragePool", "MaxPool", "ReduceMean", "QLinearGlobalAveragePool"):
        return "pooling"
    if op in ("Relu", "Clip", "HardSwish", "HardSigmoid", "Sigmoid", "Softmax", "QLinearSigmoid"):
        return "activation"
    if op in ("Add", "QLinearAdd", "Sum"):
        return "add"
    if op in ("Mul", "QLinearMul"):
        return "mul"
    if op in ("QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear"):
        return "quantize/dequantize"
    return "other"


def _mark_heads(rows: list[dict]) -> None:
    """Refine ORT's conv kinds like the TFLite ledger: first conv, depthwise (groups = channels),
    pointwise 1x1, SE and FC (1x1 maps)."""
    last_spatial = max((r["index"] for r in rows if len(r["shape"]) == 4 and int(np.prod(r["shape"][2:])) > 1),
                       default=-1)
    first = True
    for r in rows:
        if r["kind"] != "conv":
            continue
        shape, w = r["shape"], r.get("weight_shape") or []
        spatial = int(np.prod(shape[2:])) if len(shape) == 4 else 1
        if first:
            r["kind"], first = "first conv", False
        elif len(w) == 4 and w[1] == 1 and w[2] > 1:
            r["kind"] = "depthwise"
        elif len(w) == 4 and w[2:] == [1, 1]:
            r["kind"] = ("FC" if r["index"] > last_spatial else "SE") if spatial == 1 else "pointwise 1x1"
        else:
            r["kind"] = f"conv {w[2]}x{w[3]}" if len(w) == 4 else "conv"
