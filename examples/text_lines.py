"""Labelled text-line images for a text-orientation classifier: upright (class folder ``0``) and rotated by
180 degrees (``180``), rendered with Pillow's own font (nothing to install), 48 px high and as wide as the
text, dark text on a light ground with a little noise. Deterministic for a seed; train and test sets
come from different seeds, so no line appears in both.

    python examples/text_lines.py OUT --count 80 --seed 1
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

WORDS = ("the quick brown fox jumps over the lazy dog while a camera on the board reads each label and the model "
         "decides which way the text faces before it is read edge device latency image phone sensor window door "
         "street station platform number order invoice total date name address city river garden kitchen").split()


def render(out: Path, count: int, seed: int) -> Path:
    """``count`` images, half upright and half upside down, in class folders under ``out``."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    rng = random.Random(seed)
    noise = np.random.default_rng(seed)
    for label in ("0", "180"):
        (out / label).mkdir(parents=True, exist_ok=True)
    for i in range(count):
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 5)))
        font = ImageFont.load_default(size=rng.randint(24, 34))
        width = int(font.getlength(text)) + rng.randint(8, 24)
        ink, paper = rng.randint(0, 70), rng.randint(190, 255)
        image = Image.new("L", (width, 48), paper)
        ImageDraw.Draw(image).text((rng.randint(4, 12), rng.randint(2, 10)), text, fill=ink, font=font)
        pixels = np.asarray(image, dtype=np.float32) + noise.normal(0, 6, (48, width))
        tint = np.array([rng.uniform(0.9, 1.0) for _ in range(3)], dtype=np.float32)
        rgb = Image.fromarray(np.clip(pixels[..., None] * tint, 0, 255).astype(np.uint8))
        label = "180" if i % 2 else "0"
        (rgb.rotate(180) if label == "180" else rgb).save(out / label / f"line{i:03d}.png")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, default=80)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    render(args.out, args.count, args.seed)


if __name__ == "__main__":
    main()
