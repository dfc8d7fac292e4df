"""The hard-swish rewrite (export/rewrite.py) and the gate ranges (export/relu6_ranges.py) on a toy
that has both forms: one hard-swish whose readers can absorb the 1/6, one that reaches a residual add.
"""

import numpy as np
import pytest


def _toy():
    import keras

    inp = keras.Input((12, 12, 3), batch_size=1, name="input")
    a = keras.layers.Activation("hard_swish", name="hs_a")(keras.layers.Conv2D(16, 1, name="c1")(inp))
    gate = keras.layers.Dense(16, activation="sigmoid", name="se")(keras.layers.GlobalAveragePooling2D(keepdims=True)(a))
    h = keras.layers.DepthwiseConv2D(3, padding="same", name="dw")(keras.layers.Multiply()([a, gate]))
    b = keras.layers.Activation("hard_swish", name="hs_b")(h)
    out = keras.layers.Add()([b, h])  # hs_b reaches an add: it cannot be folded
    out = keras.layers.Dense(5, name="head")(keras.layers.GlobalAveragePooling2D()(out))
    model = keras.Model(inp, out)
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(0, 0.7, w.shape).astype(np.float32) for w in model.get_weights()])
    return model, rng.normal(0, 1.5, (24, 12, 12, 3)).astype(np.float32)


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    from edgekit.export import tflite as tflite_export
    from edgekit.export.quiet import quiet
    from edgekit.export.rewrite import split_hard_swish

    model, x = _toy()
    before = [w.copy() for w in model.get_weights()]
    split, folded = split_hard_swish(model)
    with quiet():
        saved = tflite_export.save_model(split, str(tmp_path_factory.mktemp("toy") / "saved"))
        int8 = tflite_export.convert(saved, "int8", x[:16])
    return {"model": model, "x": x, "before": before, "split": split, "folded": folded, "int8": int8}


def test_folds_what_it_can_and_keeps_the_function(toy):
    from edgekit.export.rewrite import has_hard_swish, split_hard_swish

    assert toy["folded"] == 1  # hs_a (conv, pooling, multiply) but not hs_b (residual add)
    assert not has_hard_swish(toy["split"])
    x, model, split = toy["x"], toy["model"], toy["split"]
    assert np.abs(np.asarray(split(x)) - np.asarray(model(x))).max() <= 1e-4
    assert all(np.array_equal(a, b) for a, b in zip(toy["before"], model.get_weights()))  # caller's model untouched
    assert np.allclose(split.get_layer("dw").kernel.numpy() * 6, model.get_layer("dw").kernel.numpy())
    assert np.allclose(split.get_layer("se").kernel.numpy() * 6, model.get_layer("se").kernel.numpy())
    unfolded, none = split_hard_swish(model, fold=False)  # every activation gate-first, kernels as they were
    assert none == 0 and np.array_equal(unfolded.get_layer("dw").kernel.numpy(), model.get_layer("dw").kernel.numpy())
    assert np.abs(np.asarray(unfolded(x)) - np.asarray(model(x))).max() <= 1e-4


def _quant(data: bytes) -> tuple:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    from edgekit.run.tflite_graph import parse_graph

    interpreter = Interpreter(model_content=data,
                              experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    return parse_graph(data), {t["index"]: t["quantization"] for t in interpreter.get_tensor_details()}


def _gates(graph) -> list[int]:
    readers = {}
    for op in graph.ops:
        for i in op.inputs:
            readers.setdefault(i, set()).add(op.name)
    return [op.outputs[0] for op in graph.ops if op.fused_activation == "RELU6" and readers.get(op.outputs[0]) == {"MUL"}]


def test_int8_graph_has_delegable_ops_and_x_over_6_on_its_own_grid(toy):
    """Folded: ADD + MUL; gate-first: ADD + MUL(x, 1/6) + MUL, where x/6 must keep x's scale / 6
    (with the operands the other way round the converter stored it 3.4x coarser)."""
    graph, quant = _quant(toy["int8"])
    assert "HARD_SWISH" not in graph.op_names()
    over_6 = []
    for op in graph.ops:
        constants = [i for i in op.inputs if graph.tensors[i].constant and graph.tensors[i].shape in ((), (1,))]
        if op.name == "MUL" and len(constants) == 1 and abs(quant[constants[0]][0] * 255 - 1 / 6) < 1e-4:
            (x,) = [i for i in op.inputs if i not in constants]
            over_6.append((quant[x][0], quant[op.outputs[0]][0]))
    assert len(over_6) == 1  # only the unfolded hs_b
    assert over_6[0][1] == pytest.approx(over_6[0][0] / 6, rel=0.01)
    assert len(_gates(graph)) == 2


def test_tighten_gives_the_gates_0_to_6_and_brings_int8_closer_to_float(toy):
    from ai_edge_litert.interpreter import Interpreter

    from edgekit.export.parity import sqnr_db
    from edgekit.export.relu6_ranges import tighten

    graph, before = _quant(toy["int8"])
    tightened, names = tighten(toy["int8"])
    assert len(tightened) == len(toy["int8"]) and len(names) == 2
    _, after = _quant(tightened)
    for gate in _gates(graph):
        assert before[gate][0] > 6 / 255 * 1.05  # the converter had widened it
        assert after[gate] == (pytest.approx(6 / 255), -128)
    changed = [i for i in after if after[i] != before[i]]
    assert sorted(changed) == sorted(_gates(graph))  # nothing else moved

    def run(data):
        interpreter = Interpreter(model_content=data)
        interpreter.allocate_tensors()
        (i,), (o,) = interpreter.get_input_details(), interpreter.get_output_details()
        out = []
        for image in toy["x"][16:]:
            interpreter.set_tensor(i["index"], image[None])
            interpreter.invoke()
            out.append(interpreter.get_tensor(o["index"])[0].copy())
        ops = [op["op_name"] for op in interpreter._get_ops_details()]
        assert ops.count("DELEGATE") == 1  # one XNNPACK partition
        return np.array(out)

    reference = np.asarray(toy["split"](toy["x"][16:]))
    assert sqnr_db(reference, run(tightened)) > sqnr_db(reference, run(toy["int8"])) + 0.5
    assert tighten(tightened)[1] == []  # idempotent


def test_tighten_leaves_other_models_alone(ours):
    """v1 has ReLU6 outputs but no MUL readers: nothing changes, byte for byte."""
    from edgekit.export.relu6_ranges import tighten

    _, paths = ours
    data = paths[("tflite", "int8")].read_bytes()
    assert tighten(data) == (data, [])
