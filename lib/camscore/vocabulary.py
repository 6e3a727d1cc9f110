"""The model's vocabularies: the words config allows and the model layer acts on. Plain values, no imports,
so that reading config (every job's --help) loads no LightGBM, OpenVINO, Pillow or pyspark."""

# ResNet50's feature layers and the values each gives a frame.
FEATURE_SIZES = {"avg_pool": 2048, "predictions": 1000}
RUNTIMES = ("keras", "openvino")
PRECISIONS = ("fp32", "bf16", "int8")
# Pillow's filters by the names config uses (camscore.model.imaging maps them).
RESAMPLING = ("nearest", "bilinear", "bicubic", "lanczos", "box", "hamming")
# What the training job featurizes with unless the config says otherwise; a model is then scored with it.
# The parity rule (README, Benchmark): the fastest precision whose booster keeps CV AUC within 0.005 of
# Keras fp32's on real photos. int8 did (-0.002, at 3.5x fp32's frames/s); Keras stays fp32.
TRAINING_RUNTIME = "openvino"
TRAINING_PRECISION = {"openvino": "int8", "keras": "fp32"}
# What import-booster scores a bare booster with unless told: the features it was trained on.
IMPORT_RUNTIME = "openvino"
IMPORT_PRECISION = "fp32"
DEFAULT_LABEL_NAMES = ("bus", "car")
