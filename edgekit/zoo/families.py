"""The four MobileNet families and the multipliers their papers define.

Allowed values come from the papers; ImageNet weights exist only where Keras publishes them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Preprocessing:
    """How RGB pixels in 0..255 become the model's input: ``x * scale + offset``.

    Keras MobileNetV3 rescales inside the model (a Rescaling layer), so it takes raw pixels;
    v1/v2 expect the caller to map pixels to [-1, 1]. Getting this wrong silently ruins int8
    calibration, so it is recorded with every model and artifact.
    """

    scale: float | tuple[float, float, float]  # a 3-tuple: per channel (R, G, B)
    offset: float | tuple[float, float, float]
    note: str
    name: str | None = None  # the vocab.PREPROCESSING name, when it is one

    def apply(self, pixels):
        import numpy as np

        return (np.asarray(pixels, dtype=np.float32) * np.asarray(self.scale, dtype=np.float32)
                + np.asarray(self.offset, dtype=np.float32))

    def to_dict(self) -> dict:
        out = asdict(self)
        for key in ("scale", "offset"):
            if isinstance(out[key], tuple):
                out[key] = list(out[key])
        return {k: v for k, v in out.items() if v is not None}

    @classmethod
    def named(cls, name: str, mean=None, std=None, note: str | None = None) -> "Preprocessing":
        """A ``vocab.PREPROCESSING`` recipe by name (``imagenet-mean-std`` with optional mean/std)."""
        from edgekit.vocab import IMAGENET_MEAN, IMAGENET_STD, preprocessing

        scale, offset = preprocessing(name, mean, std)
        if note is None:
            note = {"minus-one-to-one": "x/127.5 - 1 (pixels to [-1, 1])", "zero-to-one": "x/255 (pixels to [0, 1])",
                    "raw-pixels": "raw 0..255 pixels",
                    "imagenet-mean-std": f"(x/255 - mean {tuple(mean or IMAGENET_MEAN)}) / std "
                                         f"{tuple(std or IMAGENET_STD)} per channel"}[name]
        return cls(scale, offset, note, name)


MINUS_ONE_TO_ONE = Preprocessing(1 / 127.5, -1.0, "x/127.5 - 1 (pixels to [-1, 1]) before the model", "minus-one-to-one")
RAW_PIXELS = Preprocessing(1.0, 0.0, "raw 0..255 pixels; the model rescales to [-1, 1] inside (Keras Rescaling layer)",
                           "raw-pixels")


@dataclass(frozen=True)
class Family:
    """A model family: the papers' width multipliers and resolutions, its Keras builder and preprocessing."""
    name: str
    keras_builder: str
    paper: str
    alphas: tuple[float, ...]
    resolutions: tuple[int, ...]
    imagenet_alphas: tuple[float, ...]
    imagenet_resolutions: tuple[int, ...]
    preprocessing: Preprocessing
    has_minimalistic: bool = False
    # Minimalistic (no SE, no h-swish, 3x3 only) ImageNet weights exist for these alphas only.
    imagenet_min_alphas: tuple[float, ...] = ()
    # True when Keras loads the 224 px weights at any input size (fully convolutional head).
    imagenet_any_resolution: bool = False
    # Width multipliers beyond the paper's, for EfficientNet Table 3's scaled MobileNets (with -dDEPTH).
    scaling_alphas: tuple[float, ...] = ()
    # Dense heads on a MobileNet (segmentation): what the outputs mean, the backbone family, the head, the
    # class list and the output stride the paper's row uses.
    task: str = "classification"
    backbone: str | None = None
    head: str | None = None
    class_names: tuple[str, ...] = ()
    output_stride: int | None = None
    output_strides: tuple[int, ...] = ()
    default_resolution: int = 224

    @property
    def dense(self) -> bool:
        return self.task == "segmentation"

    @property
    def head_task(self) -> bool:
        """A backbone with a task head (segmentation, detection): its own name tokens and input rules."""
        return self.task != "classification"


_V3_RES = (96, 128, 160, 192, 224, 256)  # v3 paper, Sec. 6.1 / Fig. 7 resolution sweep

# PASCAL VOC 2012 (21 classes, DeepLab's order) and Cityscapes' 19 evaluation classes (trainIds 0..18).
PASCAL_VOC = ("background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
              "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train",
              "tvmonitor")
# COCO's label map ids 1..90 (index k = id k+1; "n/a": the ten ids COCO 2017 does not use): what the OD API's
# detectors predict, after the background score at index 0.
COCO_90 = ("person,bicycle,car,motorcycle,airplane,bus,train,truck,boat,traffic light,fire hydrant,n/a,stop sign,"
           "parking meter,bench,bird,cat,dog,horse,sheep,cow,elephant,bear,zebra,giraffe,n/a,backpack,umbrella,n/a,n/a,"
           "handbag,tie,suitcase,frisbee,skis,snowboard,sports ball,kite,baseball bat,baseball glove,skateboard,surfboard,"
           "tennis racket,bottle,n/a,wine glass,cup,fork,knife,spoon,bowl,banana,apple,sandwich,orange,broccoli,carrot,"
           "hot dog,pizza,donut,cake,chair,couch,potted plant,bed,n/a,dining table,n/a,n/a,toilet,n/a,tv,laptop,mouse,"
           "remote,keyboard,cell phone,microwave,oven,toaster,sink,refrigerator,n/a,book,clock,vase,scissors,teddy bear,"
           "hair drier,toothbrush").split(",")
COCO_90 = tuple(COCO_90)
CITYSCAPES = ("road", "sidewalk", "building", "wall", "fence", "pole", "traffic light", "traffic sign", "vegetation",
              "terrain", "sky", "person", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle")

FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family(
            "v1", "MobileNet", "Howard et al. 2017, arXiv:1704.04861 (Tables 6-7)",
            alphas=(0.25, 0.5, 0.75, 1.0), resolutions=(128, 160, 192, 224),
            imagenet_alphas=(0.25, 0.5, 0.75, 1.0), imagenet_resolutions=(128, 160, 192, 224),
            preprocessing=MINUS_ONE_TO_ONE, scaling_alphas=(1.2, 2.0),
        ),
        Family(
            # MobileNet v1 with every depthwise-separable pair replaced by one full 3x3 convolution: the
            # v1 paper's Table 4 comparison. No Keras application and no published weights: our builder.
            "v1-conv", "", "Howard et al. 2017, arXiv:1704.04861 (Table 4, Conv MobileNet)",
            alphas=(0.25, 0.5, 0.75, 1.0), resolutions=(128, 160, 192, 224),
            imagenet_alphas=(), imagenet_resolutions=(),
            preprocessing=MINUS_ONE_TO_ONE,
        ),
        Family(
            "v2", "MobileNetV2", "Sandler et al. 2018, arXiv:1801.04381 (Table 4, Fig. 5)",
            alphas=(0.35, 0.5, 0.75, 1.0, 1.3, 1.4), resolutions=(96, 128, 160, 192, 224),
            imagenet_alphas=(0.35, 0.5, 0.75, 1.0, 1.3, 1.4), imagenet_resolutions=(96, 128, 160, 192, 224),
            preprocessing=MINUS_ONE_TO_ONE, scaling_alphas=(1.2, 2.0),
        ),
        Family(
            "v3-small", "MobileNetV3Small", "Howard et al. 2019, arXiv:1905.02244 (Tables 2-3)",
            alphas=(0.75, 1.0), resolutions=_V3_RES,
            imagenet_alphas=(0.75, 1.0), imagenet_resolutions=_V3_RES,
            preprocessing=RAW_PIXELS, has_minimalistic=True, imagenet_min_alphas=(1.0,),
            imagenet_any_resolution=True,
        ),
        Family(
            "v3-large", "MobileNetV3Large", "Howard et al. 2019, arXiv:1905.02244 (Tables 1, 3)",
            alphas=(0.75, 1.0), resolutions=_V3_RES,
            imagenet_alphas=(0.75, 1.0), imagenet_resolutions=_V3_RES,
            preprocessing=RAW_PIXELS, has_minimalistic=True, imagenet_min_alphas=(1.0,),
            imagenet_any_resolution=True,
        ),
        Family(
            "efficientnet-b0", "EfficientNetB0", "Tan & Le 2019, EfficientNet, arXiv:1905.11946 (Table 1, Table 2)",
            alphas=(1.0,), resolutions=(224,), imagenet_alphas=(1.0,), imagenet_resolutions=(224,),
            preprocessing=RAW_PIXELS, imagenet_any_resolution=True,
        ),
        Family(
            # No SE, ReLU6, fixed stem and head: the int8 / Edge TPU sibling. No Keras application: ours.
            "efficientnet-lite0", "", "Google's EfficientNet-Lite (tensorflow/tpu models/official/efficientnet/lite)",
            alphas=(1.0,), resolutions=(224,), imagenet_alphas=(), imagenet_resolutions=(),
            preprocessing=MINUS_ONE_TO_ONE,
        ),
        Family(
            # The paper's channel "depth multipliers" and the input sizes of its scaling figure.
            "mnasnet-a1", "", "Tan et al. 2019, MnasNet, arXiv:1807.11626 (Table 1, Fig. 7)",
            alphas=(0.35, 0.5, 0.75, 1.0, 1.4), resolutions=(96, 128, 160, 192, 224),
            imagenet_alphas=(), imagenet_resolutions=(),
            preprocessing=MINUS_ONE_TO_ONE,
        ),
        Family(
            # ShuffleNet v1, the v2 paper's Table 4 rival: grouped 1x1 convs and a channel shuffle; groups 1-8 as
            # a name token (-g3, the v2 table's rows). No Keras application and no weights here: our builder.
            "shufflenet-v1", "", "Zhang et al. 2018, ShuffleNet, arXiv:1707.01083 (Tables 1-2, 5)",
            alphas=(0.25, 0.5, 1.0, 1.5, 2.0), resolutions=(224,), imagenet_alphas=(), imagenet_resolutions=(),
            preprocessing=MINUS_ONE_TO_ONE,
        ),
        Family(
            # NASNet-A mobile (4 @ 1056), the v2 paper's Table 4 rival: keras.applications.NASNetMobile, its layer
            # table recorded from it (zoo/recorded.py) since its cells are no stage table; 224 px only.
            "nasnet-a-mobile", "NASNetMobile", "Zoph et al. 2018, NASNet, arXiv:1707.07012 (Table 3)",
            alphas=(1.0,), resolutions=(224,), imagenet_alphas=(1.0,), imagenet_resolutions=(224,),
            preprocessing=MINUS_ONE_TO_ONE,
        ),
        Family(
            # DeepLabv3 on MobileNetV2's second-to-last feature map (320 channels, no 1280 Conv_1): 1x1 conv +
            # image pooling (the no-ASPP row, the default) or the full ASPP; output stride 16 (or 8).
            "deeplabv3-v2", "", "Sandler et al. 2018, arXiv:1801.04381 (Sec. 6.3, Table 7: PASCAL VOC 2012 val)",
            alphas=(0.35, 0.5, 0.75, 1.0, 1.3, 1.4), resolutions=(513,), imagenet_alphas=(), imagenet_resolutions=(),
            preprocessing=MINUS_ONE_TO_ONE, task="segmentation", backbone="v2", head="deeplabv3",
            class_names=PASCAL_VOC, output_stride=16, output_strides=(8, 16), default_resolution=513,
        ),
        Family(
            # LR-ASPP on MobileNetV3 with the last block's channels halved (RF2), 128 head filters, output stride 16.
            "lraspp-v3-large", "", "Howard et al. 2019, arXiv:1905.02244 (Sec. 6.4, Tables 7-8: Cityscapes)",
            alphas=(0.75, 1.0), resolutions=(512,), imagenet_alphas=(), imagenet_resolutions=(),
            preprocessing=RAW_PIXELS, task="segmentation", backbone="v3-large", head="lraspp",
            class_names=CITYSCAPES, output_stride=16, output_strides=(16, 32), default_resolution=512,
        ),
        Family(
            "lraspp-v3-small", "", "Howard et al. 2019, arXiv:1905.02244 (Sec. 6.4, Tables 7-8: Cityscapes)",
            alphas=(0.75, 1.0), resolutions=(512,), imagenet_alphas=(), imagenet_resolutions=(),
            preprocessing=RAW_PIXELS, task="segmentation", backbone="v3-small", head="lraspp",
            class_names=CITYSCAPES, output_stride=16, output_strides=(16, 32), default_resolution=512,
        ),
        *(Family(
            # SSDLite (v2 paper Sec. 6.2; v3 paper Sec. 6.3): the backbone tapped at C4 (stride 16) and C5 (the last
            # 1x1 conv), four extra depthwise-separable layers, depthwise-separable box and class predictors.
            f"ssdlite-{backbone}", "", cite, alphas=alphas, resolutions=(320,), imagenet_alphas=(),
            imagenet_resolutions=(), preprocessing=pre, task="detection", backbone=backbone, head="ssdlite",
            class_names=COCO_90, default_resolution=320)
          for backbone, alphas, pre, cite in (
              ("v1", (0.25, 0.5, 0.75, 1.0), MINUS_ONE_TO_ONE, "Sandler et al. 2018, arXiv:1801.04381 (Table 6); "
                                                               "Howard et al. 2019, arXiv:1905.02244 (Table 6)"),
              ("v2", (0.35, 0.5, 0.75, 1.0), MINUS_ONE_TO_ONE, "Sandler et al. 2018, arXiv:1801.04381 (Sec. 6.2, "
                                                               "Table 6); Howard et al. 2019 (Table 6)"),
              ("v3-large", (0.75, 1.0), RAW_PIXELS, "Howard et al. 2019, arXiv:1905.02244 (Sec. 6.3, Table 6)"),
              ("v3-small", (0.75, 1.0), RAW_PIXELS, "Howard et al. 2019, arXiv:1905.02244 (Sec. 6.3, Table 6)"))),
    )
}
