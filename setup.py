from setuptools import find_packages, setup

setup(
    name="camscore",
    version="0.1.0",
    description="Distributed scoring of camera frames: ResNet50 features and LightGBM on Apache Spark",
    package_dir={"": "lib"},
    packages=find_packages("lib"),
    python_requires=">=3.11,<3.12",
    install_requires=[
        "pyspark==4.3.0",
        "tensorflow-cpu==2.21.0",
        "keras==3.15.1",
        "lightgbm==4.7.0",
        "boto3==1.44.8",
        "botocore==1.44.8",
        "numpy==2.4.6",
        "pandas==2.3.3",  # pyspark 4 warns on pandas 3
        "pyarrow==26.0.1",
        "pillow==13.0.0",
        "PyYAML==6.0.4",
        "scikit-learn==1.9.1",
        "matplotlib==3.11.2",
        "openvino==2026.4.1",
        "nncf==3.4.0",
    ],
    extras_require={
        # The embedded S3 server of the demo and the tests.
        "demo": ["moto[server]==5.2.5"],
        "test": ["moto[server]==5.2.5", "pytest==9.2.0"],
    },
)
