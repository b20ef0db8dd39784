"""Data layer: discovery of images and labels, decoding, splits, audit, tf.data pipeline.

The synthetic phantom generator (:mod:`fracturenet.data.synthetic`) lives here too.
"""

from fracturenet.data.manifest import Manifest

__all__ = ["Manifest"]
