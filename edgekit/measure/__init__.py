"""Device side of the pipeline: image decoding and (later) latency, memory and accuracy.

Nothing here imports TensorFlow: this is what a Raspberry Pi runs.
"""
