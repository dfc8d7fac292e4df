"""Make a user's own detector from the shared data: SSDLite on the real MobileNet v1 0.25 backbone.

The zoo's SSDLite head (``edgekit.zoo.build.detector``: C4/C5 taps, extra layers, depthwise-separable box and
class predictors) for three classes of its own, person, car and airplane, over the real Keras ImageNet
v1 0.25 weights (``../shared/data/weights``; convolutions do not depend on the input size, so they load at
320 px). The backbone is frozen; the head is trained on coco-mini's ``instances_train.json`` (30 images and
their mirror images) the OD API's way: anchors matched to boxes at IoU 0.5 (and every box's best anchor),
sigmoid focal loss on the classes (alpha 0.25, gamma 2), smooth L1 on the faster-RCNN encodings of the
matched anchors. ``instances_val.json`` (10 images) is held apart. Written:

    OUT/coco3det.keras   the model: box encodings (1, 2034, 4) and sigmoid scores (1, 2034, 4), background first
    OUT/anchors.json     its anchors, as edgekit's zoo records them (convert --anchors reads it)
    OUT/labels.txt       person, car, airplane (the output order after background)

Run: python examples/det_user.py --data ../shared/data --out models/det-user [--epochs 100]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from edgekit import chatter  # noqa: E402

chatter.capture()  # TensorFlow's start-up lines stay off the terminal (EDGEKIT_VERBOSE=1 shows them)

CLASSES = ("person", "car", "airplane")
MODEL = "ssdlite-v1-0.25-320"


def targets(annotations: Path, anchors, size: int):
    """Images (N, size, size, 3) and per anchor: class targets (N, A, 1 + classes), box targets (N, A, 4), positives."""
    import numpy as np

    from edgekit.data.images import load_image
    from edgekit.tasks.detection import BOX_SCALES, coco_ground_truth, iou_matrix

    gt = coco_ground_truth(annotations)
    names = {c["id"]: c["name"] for c in gt.dataset["categories"]}
    corners = np.stack([anchors[:, 0] - anchors[:, 2] / 2, anchors[:, 1] - anchors[:, 3] / 2,
                        anchors[:, 0] + anchors[:, 2] / 2, anchors[:, 1] + anchors[:, 3] / 2], -1)
    images, classes, boxes, positive = [], [], [], []
    for image_id, info in sorted(gt.imgs.items()):
        path = annotations.parent / "images" / info["file_name"]
        for flip in (False, True):
            pixels = load_image(path, size, crop=1.0)
            anns = [a for a in gt.imgToAnns[image_id] if not a.get("iscrowd") and names[a["category_id"]] in CLASSES]
            truth = np.array([[a["bbox"][1] / info["height"], a["bbox"][0] / info["width"],
                               (a["bbox"][1] + a["bbox"][3]) / info["height"],
                               (a["bbox"][0] + a["bbox"][2]) / info["width"]] for a in anns]).reshape(-1, 4)
            labels = np.array([CLASSES.index(names[a["category_id"]]) + 1 for a in anns], dtype=np.int64)
            if flip:
                pixels = pixels[:, ::-1]
                truth = np.stack([truth[:, 0], 1 - truth[:, 3], truth[:, 2], 1 - truth[:, 1]], -1)
            cls = np.zeros((len(anchors), len(CLASSES) + 1), np.float32)
            enc = np.zeros((len(anchors), 4), np.float32)
            pos = np.zeros(len(anchors), np.float32)
            if len(truth):
                overlap = iou_matrix(corners, truth)
                best = overlap.argmax(axis=1)
                matched = overlap.max(axis=1) >= 0.5
                matched[overlap.argmax(axis=0)] = True  # every box gets its best anchor
                best[overlap.argmax(axis=0)] = np.arange(len(truth))
                t = truth[best]
                yc, xc = (t[:, 0] + t[:, 2]) / 2, (t[:, 1] + t[:, 3]) / 2
                h, w = np.maximum(t[:, 2] - t[:, 0], 1e-4), np.maximum(t[:, 3] - t[:, 1], 1e-4)
                code = np.stack([(yc - anchors[:, 0]) / anchors[:, 2] * BOX_SCALES[0],
                                 (xc - anchors[:, 1]) / anchors[:, 3] * BOX_SCALES[1],
                                 np.log(h / anchors[:, 2]) * BOX_SCALES[2], np.log(w / anchors[:, 3]) * BOX_SCALES[3]], -1)
                enc[matched] = code[matched]
                cls[np.flatnonzero(matched), labels[best[matched]]] = 1.0
                pos[matched] = 1.0
            cls[pos == 0, 0] = 1.0
            images.append(pixels)
            classes.append(cls)
            boxes.append(enc)
            positive.append(pos)
    return (np.stack(images).astype(np.float32), np.stack(classes), np.stack(boxes), np.stack(positive))


def build(weights: Path):
    import keras
    import numpy as np

    from edgekit.zoo.build import detector
    from edgekit.zoo.spec import parse_model

    spec = parse_model(MODEL)
    keras.utils.set_random_seed(0)
    model = detector(spec, class_names=CLASSES)
    real = keras.applications.MobileNet(alpha=0.25, input_shape=(128, 128, 3), weights=None)
    real.load_weights(weights)
    backbone = [layer.name for layer in real.layers if layer.weights and layer.name.startswith(("conv", "conv_dw", "conv_pw"))
                and not layer.name.startswith("conv_preds")]
    for name in backbone:
        model.get_layer(name).set_weights(real.get_layer(name).get_weights())
        model.get_layer(name).trainable = False
    for layer in model.layers:  # the OD API's class_prediction_bias_init: -4.6, every score starts near 0.01
        if layer.name.startswith("predictor_") and layer.name.endswith("_class"):
            kernel, bias = layer.get_weights()
            layer.set_weights([kernel, np.full_like(bias, -4.6)])
    wrapped_in = keras.Input(spec.input_shape, name="image")
    scaled = keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="to_minus_one_one")(wrapped_in)
    boxes, scores = model(scaled)
    return spec, keras.Model(wrapped_in, [boxes, scores], name="coco3det"), model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("models/det-user"))
    parser.add_argument("--epochs", type=int, default=100)
    args = parser.parse_args()
    import numpy as np
    import tensorflow as tf

    from edgekit.files import write_atomic
    from edgekit.tasks.detection import ssd_anchors

    spec, model, inner = build(args.data / "weights" / "mobilenet_2_5_128_tf.h5")
    anchors = ssd_anchors([tuple(m) for m in spec.anchors["feature_maps"]], tuple(spec.anchors["per_cell"]))
    images, classes, boxes, positive = targets(args.data / "coco-mini" / "instances_train.json", anchors, spec.resolution)
    import keras

    optimizer = keras.optimizers.Adam(2e-3)
    trainable = [v for v in model.trainable_variables]

    @tf.function
    def step(x, cls, enc, pos):
        with tf.GradientTape() as tape:
            pred_box, pred_score = model(x, training=True)
            p = tf.clip_by_value(pred_score, 1e-6, 1 - 1e-6)
            ce = -(cls * tf.math.log(p) + (1 - cls) * tf.math.log(1 - p))
            weight = cls * 0.25 * (1 - p) ** 2 + (1 - cls) * 0.75 * p ** 2  # sigmoid focal loss
            normaliser = tf.maximum(tf.reduce_sum(pos), 1.0)
            class_loss = tf.reduce_sum(weight * ce) / normaliser
            diff = tf.abs(pred_box - enc)
            smooth = tf.where(diff < 1.0, 0.5 * diff ** 2, diff - 0.5)
            box_loss = tf.reduce_sum(tf.reduce_sum(smooth, -1) * pos) / normaliser
            loss = class_loss + box_loss
        grads = tape.gradient(loss, trainable)
        optimizer.apply_gradients(zip(grads, trainable))
        return loss

    rng = np.random.default_rng(0)
    batch = 12
    for _ in range(args.epochs):
        order = rng.permutation(len(images))
        for start in range(0, len(order), batch):
            idx = order[start:start + batch]
            loss = step(images[idx], classes[idx], boxes[idx], positive[idx])
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / "coco3det.keras"
    tmp = args.out / ".coco3det.tmp.keras"
    model.save(tmp)
    os.replace(tmp, target)
    write_atomic(args.out / "anchors.json", json.dumps(spec.anchors, indent=2).encode())
    write_atomic(args.out / "labels.txt", ("\n".join(CLASSES) + "\n").encode())
    print(f"wrote {target} (head trained {args.epochs} epochs on {len(images)} images of coco-mini's train split, "
          f"last loss {float(loss):.3f}), {args.out / 'anchors.json'} and {args.out / 'labels.txt'}")


if __name__ == "__main__":
    main()
