"""Model policy: what a new model is made with, and what a bare booster is scored with, where the config
leaves it open. The model layer acts on these (camscore.model.choice, camscore.model.model_dir); config shows
them in its defaults and help. Each was chosen by measurement on real photos: docs/BENCHMARKS.md holds the
figures and the commands that give them."""

from camscore.vocabulary import ORIGINAL_RESAMPLE

# A new model's featurizer where featurizer.* is null; the model is then scored with the same. The precision
# is the parity rule's: the fastest whose booster keeps CV AUC within 0.005 of Keras fp32's (Keras stays fp32).
TRAINING_LAYER = "avg_pool"
TRAINING_WEIGHTS = "imagenet"
TRAINING_RUNTIME = "openvino"
TRAINING_PRECISION = {"openvino": "int8", "keras": "fp32"}
# The filter with the best CV AUC on real photos; the original's nearest feeds ResNet50 blocky upscaled or
# aliased downscaled pictures.
TRAINING_RESAMPLE = "bicubic"
# Boosting rounds, with camscore.model.training.DEFAULT_PARAMS, measured on the same photos.
TRAINING_ROUNDS = 400
# What import-booster scores a bare booster with unless told: the features it was trained on.
IMPORT_RUNTIME = "openvino"
IMPORT_PRECISION = "fp32"
IMPORT_RESAMPLE = ORIGINAL_RESAMPLE
