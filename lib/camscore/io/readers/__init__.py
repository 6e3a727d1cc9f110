"""The frame readers, one per source.reader (boto3, local, binaryfile), on one protocol (base), with the
listing and the partitioning they share; camscore.io.frame_source chooses one."""
