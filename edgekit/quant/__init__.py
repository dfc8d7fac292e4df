"""Post-training quantization algorithms applied before conversion, behind a small registry.

Measured on v1-0.25-128 (real weights): the int8 accuracy loss comes from rounding the
BN-folded *weights* (weights-only fake quantization already loses it all), not from activation
ranges. So the default improves weight rounding (GPTQ) and leaves activation calibration to the
converters. See ``benchmarks/ptq_study.py`` for every method's numbers.
"""

from edgekit.quant.registry import ALGORITHMS, DEFAULT_ALGORITHM, prepare_for_int8

__all__ = ["ALGORITHMS", "DEFAULT_ALGORITHM", "prepare_for_int8"]
