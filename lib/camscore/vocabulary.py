"""The model's vocabularies: the words config allows and the model layer acts on. Plain values, no imports,
so that reading config (every job's --help) loads no LightGBM, OpenVINO, Pillow or pyspark."""

# ResNet50's feature layers and the values each gives a frame.
FEATURE_SIZES = {"avg_pool": 2048, "predictions": 1000}
RUNTIMES = ("keras", "openvino")
PRECISIONS = ("fp32", "bf16", "int8")
# Pillow's filters by the names config uses (camscore.model.imaging maps them).
RESAMPLING = ("nearest", "bilinear", "bicubic", "lanczos", "box", "hamming")
# The original notebook's resize (Keras load_img): its booster's, and every manifest's from before the filter
# was recorded.
ORIGINAL_RESAMPLE = "nearest"
DEFAULT_LABEL_NAMES = ("bus", "car")
# CIFAR-10's batches camscore reads (camscore.assets.cifar): the tests' photos, and photos held apart from them.
CIFAR_BATCHES = ("test", "data_batch_1")
