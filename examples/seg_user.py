"""Make a user's own segmenter from the shared data, the way our users make theirs.

The real Keras ImageNet MobileNet v1 0.25 backbone (``../shared/data/weights``, fully convolutional, so it
runs at 224 px too) behind a ``Rescaling`` layer, and a new head in the LR-ASPP manner: a 1x1 conv on the
stride-16 features, resized x2 and summed with a 1x1 classifier on the stride-8 features, then resized to the
input: softmax over four classes, background, person, car and airplane, the three COCO categories of
coco-mini. The head is trained (backbone frozen) on coco-mini's ``instances_train.json`` masks (30 images and
their mirror images), rasterised by ``edgekit.data.masks``; ``instances_val.json`` (10 images) is held apart.
Written:

    OUT/coco4seg.keras     the model
    OUT/labels.txt         background, person, car, airplane (the model's output order; COCO names)

Run: python examples/seg_user.py --data ../shared/data --out models/seg-user [--epochs 40]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from edgekit import chatter  # noqa: E402

chatter.capture()  # TensorFlow's start-up lines stay off the terminal (EDGEKIT_VERBOSE=1 shows them)

CLASSES = ("background", "person", "car", "airplane")
SIZE = 224
ALPHA = 0.25


def training_set(annotations: Path):
    """(pixels, masks, weights): the images at SIZE x SIZE with their masks (nearest neighbour), ignore = 0 weight."""
    import numpy as np

    from edgekit.data.images import load_image
    from edgekit.data.masks import IGNORE, segmentation_dataset
    from edgekit.tasks.segmentation import resize_nearest

    dataset = segmentation_dataset(annotations, list(CLASSES))
    pixels, masks = [], []
    for i, (image, _) in enumerate(dataset.samples):
        pixels.append(load_image(image, SIZE, crop=1.0))
        masks.append(resize_nearest(dataset.mask(i, len(CLASSES)), SIZE, SIZE))
    pixels, masks = np.stack(pixels), np.stack(masks)
    pixels, masks = np.concatenate([pixels, pixels[:, :, ::-1]]), np.concatenate([masks, masks[:, :, ::-1]])
    weights = (masks != IGNORE).astype("float32")
    return pixels.astype("float32"), np.where(masks == IGNORE, 0, masks).astype("int32"), weights


def build(weights: Path, seed: int = 0):
    import keras

    keras.utils.set_random_seed(seed)
    backbone = keras.applications.MobileNet(alpha=ALPHA, input_shape=(SIZE, SIZE, 3), weights=None)
    backbone.load_weights(weights)  # the 128 px ImageNet file: convolutions do not depend on the input size
    backbone.trainable = False
    inputs = keras.Input((SIZE, SIZE, 3), name="image")
    x = keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="to_minus_one_one")(inputs)
    features = keras.Model(backbone.input, [backbone.get_layer("conv_pw_5_relu").output,
                                            backbone.get_layer("conv_pw_11_relu").output], name="mobilenet_0.25")
    low, high = features(x)
    h = keras.layers.Conv2D(64, 1, use_bias=False, name="head_conv")(high)
    h = keras.layers.ReLU(name="head_relu")(keras.layers.BatchNormalization(name="head_bn")(h))
    h = keras.layers.UpSampling2D(2, interpolation="bilinear", name="head_up")(h)
    y = keras.layers.Add(name="head_sum")([keras.layers.Conv2D(len(CLASSES), 1, name="high_classifier")(h),
                                           keras.layers.Conv2D(len(CLASSES), 1, name="low_classifier")(low)])
    y = keras.layers.UpSampling2D(8, interpolation="bilinear", name="to_input")(y)
    y = keras.layers.Softmax(name="probabilities")(y)
    return keras.Model(inputs, y, name="coco4seg")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("models/seg-user"))
    parser.add_argument("--epochs", type=int, default=40)
    args = parser.parse_args()
    import keras

    from edgekit.files import write_atomic

    pixels, masks, weights = training_set(args.data / "coco-mini" / "instances_train.json")
    model = build(args.data / "weights" / "mobilenet_2_5_128_tf.h5")
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                  weighted_metrics=["accuracy"])
    history = model.fit(pixels, masks, sample_weight=weights, epochs=args.epochs, batch_size=12, verbose=0)
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / "coco4seg.keras"
    tmp = args.out / ".coco4seg.tmp.keras"
    model.save(tmp)
    os.replace(tmp, target)
    write_atomic(args.out / "labels.txt", ("\n".join(CLASSES) + "\n").encode())
    print(f"wrote {target} (trained {args.epochs} epochs on {len(pixels)} images of coco-mini's train split: pixel "
          f"accuracy {history.history['accuracy'][-1]:.3f} on them) and {args.out / 'labels.txt'}")


if __name__ == "__main__":
    main()
