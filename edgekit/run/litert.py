"""LiteRT (``ai_edge_litert``), the runtime for .tflite files; XNNPACK on unless switched off."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgekit.errors import EdgekitError, first_line
from edgekit.run.runtime import ModelFileError, Runtime, TensorInfo


def _info(detail: dict) -> TensorInfo:
    scale, zero = detail.get("quantization", (0.0, 0))
    return TensorInfo(detail["name"], tuple(int(d) for d in detail["shape"]), np.dtype(detail["dtype"]),
                      float(scale), int(zero))


def refusal(exc: BaseException, limit: int = 300) -> str:
    """Why LiteRT would not load or run a model, readable. LiteRT runs its log lines together ('failed to
    delegate MAX_POOL_2D node #11failed to ...conv.cc:390 ...(21 != 0)Node number 0 (CONV_2D) failed to
    prepare.'): the cause first, the delegations XNNPACK declined counted after it."""
    import re
    from collections import Counter

    if not str(exc).strip():
        return "it does not run"
    text = first_line(exc, 2000)
    declined = Counter(re.findall(r"failed to delegate (\w+) node #\d+", text))
    if not declined and not re.search(r"\SNode number", text):
        return text[:limit]
    cause = re.sub(r"failed to delegate \w+ node #\d+", "", text).strip()
    cause = re.sub(r"(?<=\S)(Node number)", r"; \1", cause).replace("tflite/kernels/", "")
    extra = ", ".join(f"{n} {op}" for op, n in declined.items())
    return (cause or "it does not run")[:200] + (f" (XNNPACK also declined {extra} nodes)" if extra else "")


def litert_version() -> str:
    """The installed ai-edge-litert version."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ai-edge-litert")
    except PackageNotFoundError:
        return "?"


class DelegateError(EdgekitError):
    """A delegate library that is missing or refuses to load (e.g. no Edge TPU attached)."""


class LiteRTRuntime(Runtime):
    """A .tflite file in LiteRT's interpreter, with XNNPACK (default), reference kernels or a delegate."""
    name = "litert"

    def __init__(self, path: Path, threads: int = 1, xnnpack: bool = True, delegate: str | None = None,
                 delegate_options: dict | None = None, batch: int | None = None, reference: bool = False):
        """``delegate``: a delegate shared library (e.g. libedgetpu.so.1) loaded before the model.
        ``reference``: TFLite's reference kernels (slow, but the same bytes on every CPU: for
        bit-exact checks across machines, e.g. x86 against aarch64)."""
        from ai_edge_litert import interpreter as litert

        self.version = litert_version()
        self.xnnpack = xnnpack
        resolver = (litert.OpResolverType.BUILTIN_REF if reference else litert.OpResolverType.AUTO if xnnpack
                    else litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        self.kernels = "reference" if reference else "xnnpack" if xnnpack else "builtin"
        delegates = [self._load_delegate(litert, delegate, delegate_options)] if delegate else None
        self.delegate = delegate
        try:
            self._interp = litert.Interpreter(
                model_path=str(path), num_threads=threads, experimental_delegates=delegates,
                experimental_op_resolver_type=resolver,
            )
            self._interp.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            if "edgetpu-custom-op" in str(exc):
                raise ModelFileError(f"{path.name} is Edge TPU compiler output: its edgetpu-custom-op cannot run "
                                     f"on a CPU; use --device edgetpu, or its CPU twin (the file before "
                                     f"compiling)") from None
            raise ModelFileError(f"LiteRT cannot load {path.name}: {refusal(exc)}") from None
        detail = self._interp.get_input_details()[0]
        if batch and batch != int(detail["shape"][0]):
            try:
                self._interp.resize_tensor_input(detail["index"], [batch, *detail["shape"][1:]], strict=False)
                self._interp.allocate_tensors()
            except (ValueError, RuntimeError) as exc:
                raise ModelFileError(f"{path.name} cannot run batch {batch} (its graph fixes batch "
                                     f"{detail['shape'][0]}): {first_line(exc)}") from None
        self.inputs = [_info(d) for d in self._interp.get_input_details()]
        details = self._ordered_outputs()
        self.outputs = [_info(d) for d in details]
        self._in_index = self._interp.get_input_details()[0]["index"]
        self._out_indices = [d["index"] for d in details]
        self._out_index = self._out_indices[0]

    def delegation(self) -> dict:
        """How much of the graph the delegates took: each DELEGATE node is one partition; the ops left
        to the interpreter's own kernels run between partitions (a split graph is a slow graph)."""
        ops = self._interp._get_ops_details()
        partitions = sum(1 for op in ops if op["op_name"] == "DELEGATE")
        return {"delegate_partitions": partitions, "nodes": len(ops) - partitions}

    def describe(self) -> dict:
        return {**super().describe(), **self.delegation()}

    @staticmethod
    def _load_delegate(litert, library: str, options: dict | None):
        import gc
        import sys

        # A failed load leaves a half-built Delegate whose __del__ raises when collected:
        # silence that one message so the user sees one line.
        hook, sys.unraisablehook = sys.unraisablehook, (lambda _: None)
        try:
            try:
                return litert.load_delegate(library, options or {})
            except (ValueError, OSError, RuntimeError) as exc:
                message = f"cannot load the LiteRT delegate {library}: {first_line(exc)}"
            gc.collect()
        finally:
            sys.unraisablehook = hook
        raise DelegateError(message)

    def prepare(self, batch: np.ndarray) -> None:
        self._interp.set_tensor(self._in_index, batch)

    def invoke(self) -> None:
        self._interp.invoke()

    def output(self) -> np.ndarray:
        return self._interp.get_tensor(self._out_index).copy()

    def output_values(self) -> list[np.ndarray]:
        return [self._interp.get_tensor(index).copy() for index in self._out_indices]

    def _ordered_outputs(self) -> list[dict]:
        """The outputs in the model's own order: LiteRT lists them in no promised order, so a several-output model
        of ours (signature outputs output_00, output_01, ...) is put back in signature-name order."""
        details = self._interp.get_output_details()
        try:
            signature = next(iter(self._interp._get_full_signature_list().values()))["outputs"]  # noqa: SLF001
        except (AttributeError, StopIteration, KeyError, TypeError):
            return details
        if len(signature) != len(details) or not all(name.startswith("output_") for name in signature):
            return details
        by_index = {d["index"]: d for d in details}
        return [by_index[signature[name]] for name in sorted(signature) if signature[name] in by_index]

    def close(self) -> None:
        self._interp = None
