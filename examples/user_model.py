"""Make a fine-tuned "user model" from the shared data, the way our users make theirs.

The real Keras ImageNet MobileNet v1 0.25/128 backbone, nested as one layer behind a ``Rescaling``
layer, with a new softmax head for four classes grouped from the ImageNet labels: bird, dog,
other-animal and object. The head is trained on calib100 + fullres20 (120 images, horizontally
flipped copies added); the test set is eval300 in class folders, held apart from training and
calibration. Folders made (symlinks into the shared data, nothing copied):

    OUT/animals4.keras          the model
    OUT/train/<class>/...       120 training (and calibration) images
    OUT/test/<class>/...        300 test images
    OUT/labels.txt              the class names, one per line (the model's output order)

Run: python examples/user_model.py --data ../shared/data --out models/user [--epochs 60]
"""

from __future__ import annotations

import argparse
import csv
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from edgekit import chatter  # noqa: E402

chatter.capture()  # TensorFlow's start-up lines stay off the terminal (EDGEKIT_VERBOSE=1 shows them)

CLASSES = ("bird", "dog", "object", "other-animal")  # sorted: the image_dataset_from_directory order


def group(class_index: int) -> str:
    """The four-way grouping of ImageNet's 1000 classes (WordNet order)."""
    if 151 <= class_index <= 268:
        return "dog"
    if 7 <= class_index <= 24 or 80 <= class_index <= 100 or 127 <= class_index <= 146:
        return "bird"
    return "other-animal" if class_index <= 397 else "object"


def class_folders(sources: list[Path], target: Path) -> int:
    """Symlink every labelled image of ``sources`` into ``target/<class>/``; returns the count."""
    count = 0
    for source in sources:
        with open(source / "labels.csv", newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                folder = target / group(int(row["class_index"]))
                folder.mkdir(parents=True, exist_ok=True)
                link = folder / row["filename"]
                if not link.exists():
                    link.symlink_to((source / "images" / row["filename"]).resolve())
                count += 1
    return count


def build(weights: Path, epochs: int, train: Path, seed: int = 0):
    import numpy as np
    import keras

    from edgekit.data.dataset import class_dataset
    from edgekit.data.images import load_batch

    keras.utils.set_random_seed(seed)
    full = keras.applications.MobileNet(alpha=0.25, input_shape=(128, 128, 3), weights=str(weights))
    backbone = keras.Model(full.input, full.get_layer("conv_pw_13_relu").output, name="mobilenet_0.25_128")
    backbone.trainable = False

    dataset = class_dataset(train)
    pixels = load_batch([p for p, _ in dataset.pairs], 128)
    labels = np.array([c for _, c in dataset.pairs])
    x = np.concatenate([pixels, pixels[:, :, ::-1]]).astype("float32") / 127.5 - 1.0
    features = backbone.predict(x, verbose=0).mean(axis=(1, 2))
    y = np.concatenate([labels, labels])
    counts = np.bincount(y, minlength=len(CLASSES))
    head = keras.layers.Dense(len(CLASSES), activation="softmax", name="head")
    trainer = keras.Sequential([keras.Input((features.shape[1],)), keras.layers.Dropout(0.2), head])
    trainer.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    weights_by_class = {c: len(y) / (len(CLASSES) * max(n, 1)) for c, n in enumerate(counts)}  # balanced
    trainer.fit(features, y, epochs=epochs, batch_size=32, verbose=0, class_weight=weights_by_class)

    inputs = keras.Input((128, 128, 3), name="image")
    h = keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="rescale")(inputs)
    h = backbone(h)
    h = keras.layers.GlobalAveragePooling2D(name="pool")(h)
    h = keras.layers.Dropout(0.2, name="head_dropout")(h)
    outputs = head(h)
    return keras.Model(inputs, outputs, name="animals4")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("EDGEKIT_DATA", "../shared/data")))
    parser.add_argument("--out", type=Path, default=Path("models/user"))
    parser.add_argument("--epochs", type=int, default=60)
    args = parser.parse_args()
    val = args.data / "imagenet-val"
    trained = class_folders([val / "calib100", val / "fullres20"], args.out / "train")
    tested = class_folders([val / "eval300"], args.out / "test")
    model_path = args.out / "animals4.keras"
    if not model_path.is_file():
        model = build(args.data / "weights" / "mobilenet_2_5_128_tf.h5", args.epochs, args.out / "train")
        tmp = model_path.with_suffix(".tmp.keras")
        model.save(tmp)
        os.replace(tmp, model_path)
    (args.out / "labels.txt").write_text("\n".join(CLASSES) + "\n")
    print(f"{model_path}: MobileNet v1 0.25/128 (real ImageNet weights, nested) + a 4-class head; "
          f"{trained} training images in {args.out / 'train'}, {tested} test images in {args.out / 'test'}")


if __name__ == "__main__":
    main()
