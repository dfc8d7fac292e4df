"""Stage 1-2 of the pipeline: model specs (name grammar), architecture counts, Keras builds.

``spec``, ``families``, ``arch``, ``count``, ``published`` and ``weights`` are pure Python
(no TensorFlow) so the CLI can list and describe the zoo instantly; only ``build`` imports Keras.
"""
