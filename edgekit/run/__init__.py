"""Stage 4: runtimes. One small interface (``runtime.Runtime``), one module per runtime.

Device side: imports LiteRT and ONNX Runtime only, never TensorFlow.
"""
