"""The Spark layer: the session, the local JVM's class archive, progress. Nothing of the model or io layers."""
