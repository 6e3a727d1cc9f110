"""The model layer: bytes to decoded frames, features and probabilities, and the model files that carry them.

No pyspark, no boto3, and nothing of camscore.io, camscore.storage or camscore.spark: what it reads or writes
arrives as bytes or through an object it is given (the import contracts in .importlinter hold it to that).
"""
