"""camscore: distributed scoring of camera frames with ResNet50 features and LightGBM."""

__version__ = "0.1.0"
