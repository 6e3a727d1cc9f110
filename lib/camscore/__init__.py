"""camscore: distributed scoring of camera frames with ResNet50 features and LightGBM."""

__version__ = "0.3.0"  # the one version: setup.py reads it from here
