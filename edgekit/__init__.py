"""edgekit: MobileNet-class classifiers from the papers to the device.

The pipeline, one subpackage a stage: ``zoo`` (spec, build, count, published numbers) ->
export -> run -> ``measure`` -> results -> compare. Importing ``edgekit`` never imports
TensorFlow; only the functions that build or convert models do, when called.
"""

__version__ = "0.2.0"

from edgekit.errors import EdgekitError
from edgekit.zoo.spec import ModelSpec, parse_model

__all__ = ["EdgekitError", "ModelSpec", "parse_model", "__version__"]
