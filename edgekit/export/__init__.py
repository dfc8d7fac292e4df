"""Stage 3: export. One module per format (tflite, onnx), calibration and parity apart,
``artifact`` for sidecars and atomic writes, ``convert`` to run the whole stage.

Host side: imports TensorFlow, tf2onnx and onnx inside the functions that need them.
"""
