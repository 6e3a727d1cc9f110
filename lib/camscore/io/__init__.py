"""The io layer: frames in (readers, listing, partitioning), rows out (sinks), one run per output (the lease).

Built on camscore.storage and camscore.spark; never imports camscore.model.
"""
