"""Measure a device's roofs: the compute peaks (float32 and int8) and the memory bandwidth its runtime reaches.

Three kernel models, made here with TFLiteConverter (the same bytes on any host with the same versions) and
timed on the device by ``edgekit bench``'s workers, locally or over SSH, in one interleaved session:
- a 1x1 convolution 56x56x512 -> 512 in float32 (822 M MACs): the float compute peak (its input comes as a
  one-channel 1792x896 image reshaped, since bench feeds images: the reshape is in the time, under 3% of it);
- the same convolution full-integer int8 (int8 model I/O: no QUANTIZE around it): the int8 peak (VNNI, SDOT);
- a float ADD of a 32 MiB tensor to itself: read once, written once (64 MiB): the streaming bandwidth.
The roof is stored with the device's fingerprint (``measure.roofline``) so ``edgekit profile`` on that device
can hold each op to it.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from edgekit.errors import EdgekitError

CONV = (56, 56, 512, 512)  # H, W, Cin, Cout of the compute kernels
CONV_INPUT = (1792, 896, 1)  # bench feeds images: a one-channel image of the conv input's size, reshaped to it
ADD_SHAPE = (1, 2048, 4096, 1)  # 8 Mi float32 = 32 MiB


def conv_macs() -> int:
    h, w, cin, cout = CONV
    return h * w * cin * cout


def add_bytes() -> int:
    return 2 * int(np.prod(ADD_SHAPE)) * 4  # read once, write once


def kernel_models(folder: Path) -> dict[str, Path]:
    """The three kernel .tflite files in ``folder`` (made once; written atomically)."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    from edgekit.export import tflite as tflite_export
    from edgekit.export.quiet import quiet
    from edgekit.files import scratch_dir, write_atomic

    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / f"roof-{name}.tflite" for name in ("fp32", "int8", "memory")}
    if all(p.is_file() for p in paths.values()):
        return paths
    h, w, cin, cout = CONV
    keras.utils.set_random_seed(0)
    x = keras.Input(CONV_INPUT)
    y = keras.layers.Reshape((h, w, cin), name="roof_reshape")(x)
    conv = keras.Model(x, keras.layers.Conv2D(cout, 1, use_bias=True, name="roof_conv")(y))
    a = keras.Input(ADD_SHAPE[1:])
    add = keras.Model(a, keras.layers.Add(name="roof_add")([a, a]))
    calib = np.random.default_rng(0).uniform(-1, 1, (4, *CONV_INPUT)).astype(np.float32)
    with quiet(), scratch_dir(folder, "edgekit-roof-") as scratch:
        made = {"fp32": tflite_export.convert(tflite_export.save_model(conv, f"{scratch}/conv"), "float"),
                "int8": tflite_export.convert(f"{scratch}/conv", "int8", calib, io="int8"),
                "memory": tflite_export.convert(tflite_export.save_model(add, f"{scratch}/add"), "float")}
    for name, data in made.items():
        write_atomic(paths[name], data)
    return paths


def measure_roof(*, device: str = "host", host: str | None = None, threads: int = 1, runs: int = 30,
                 rounds: int = 3, out: str | Path = "roof-kernels") -> dict:
    """Time the kernels on ``device`` and return its roof (``api.roof`` stores it beside the results store)."""
    from edgekit.measure.bench import BenchOptions, bench
    from edgekit.measure.roofline import fingerprint

    if threads < 1 or runs < 1 or rounds < 1:
        raise EdgekitError("--threads, --runs and --rounds must be >= 1")
    paths = kernel_models(Path(out))
    results, errors = bench(list(paths.values()), BenchOptions.build(device=device, host=host, threads=threads,
                                                                     runs=runs, rounds=rounds, min_time=0.3))
    if errors:
        raise EdgekitError("; ".join(errors))
    by = {Path(r["artifact"]).name: r for r in results}
    ms = {name: by[p.name]["median_ms"] for name, p in paths.items()}
    first = by[paths["fp32"].name]
    env = first.get("environment") or {}
    runtime = f"{first['runtime']} {first['runtime_version']}"
    roof = {"fingerprint": fingerprint(first["device"], env, runtime, threads), "device": first["device"],
            "cpu": env.get("cpu"), "cpu_id": env.get("cpu_id"), "cpu_features": env.get("cpu_features"),
            "runtime": runtime, "threads": threads,
            "fp32_gmacs": conv_macs() / (ms["fp32"] * 1e6), "int8_gmacs": conv_macs() / (ms["int8"] * 1e6),
            "gbps": add_bytes() / (ms["memory"] * 1e6), "kernel_ms": ms, "statistic": first["statistic"],
            "kernels": {"compute": f"1x1 conv {CONV[0]}x{CONV[1]}x{CONV[2]} -> {CONV[3]} ({conv_macs() / 1e6:.0f} M "
                                   f"MACs), float32 and full-integer int8",
                        "memory": f"float ADD of a {np.prod(ADD_SHAPE) * 4 / 2**20:.0f} MiB tensor to itself "
                                  f"({add_bytes() / 2**20:.0f} MiB moved)"},
            "measured": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    return roof
