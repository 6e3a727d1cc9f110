import os

import pytest

from camscore import storage
from tools.object_store import LocalObjectStore


def test_a_second_store_beside_the_sessions_serves_s3_and_leaves_nothing_when_stopped(s3_server):
    with LocalObjectStore() as store:
        bucket = store.create_bucket("own")
        storage.write_bytes(f"{bucket}/cam-1/a.jpg", b"frame", s3=store.settings)
        created = storage.resolve(f"{bucket}/cam-1/_lease.json", s3=store.settings).create(
            f"{bucket}/cam-1/_lease.json", b"first")
        again = storage.resolve(f"{bucket}/cam-1/_lease.json", s3=store.settings).create(
            f"{bucket}/cam-1/_lease.json", b"second")
        listed = [found.uri for found in storage.list_objects(f"{bucket}/", store.settings)]
        pid, folder = store.pid, store._folder

    assert store.settings.endpoint_url != s3_server.settings.endpoint_url
    assert (created is not None, again) == (True, None)  # If-None-Match: * holds on a real store
    assert listed == [f"{bucket}/cam-1/_lease.json", f"{bucket}/cam-1/a.jpg"]
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not folder.exists()
