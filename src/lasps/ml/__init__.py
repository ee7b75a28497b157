"""Deep-learning track (DESIGN §8): features, labels, splits, chart rasteriser, dataset builder, analyses.

Everything here works without PyTorch; only :mod:`lasps.ml.torch_data` (and later model/trainer
modules) import ``torch``, lazily (``pip install -e '.[ml]'``).
"""
