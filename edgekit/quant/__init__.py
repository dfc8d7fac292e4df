"""Post-training quantization algorithms applied before conversion, behind a small registry.

Measured on v1-0.25-128 (real weights): most of the int8 loss comes from rounding the BN-folded
*weights*, so the algorithms improve weight rounding and leave activation calibration to the
converters. The default, sequential GPTQ, also makes each layer absorb the error its int8 inputs
bring (rounded upstream kernels, 8-bit activations). See ``benchmarks/ptq_study.py`` for every
method's numbers.
"""

from edgekit.quant.registry import ALGORITHMS, prepare_for_int8

__all__ = ["ALGORITHMS", "prepare_for_int8"]
