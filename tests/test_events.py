import json

import pytest

from camscore.service.events import EventError, StoredObject, objects_of


def test_a_yandex_object_storage_trigger_names_each_created_object_of_its_batch():
    event = {"messages": [
        {"event_metadata": {"event_type": "yandex.cloud.events.storage.ObjectCreate"},
         "details": {"bucket_id": "frames", "object_id": "cam-1/20261120T081530.jpg"}},
        {"event_metadata": {"event_type": "yandex.cloud.events.storage.ObjectDelete"},
         "details": {"bucket_id": "frames", "object_id": "cam-1/old.jpg"}},
        {"event_metadata": {"event_type": "yandex.cloud.events.storage.ObjectCreate"},
         "details": {"bucket_id": "frames", "object_id": "cam 2/a b.jpg"}}]}

    assert objects_of(json.dumps(event).encode(), {}) == [
        StoredObject("frames", "cam-1/20261120T081530.jpg"), StoredObject("frames", "cam 2/a b.jpg")]


def test_an_s3_notification_names_created_objects_with_their_keys_decoded_and_sizes():
    event = {"Records": [
        {"eventName": "ObjectCreated:Put",
         "s3": {"bucket": {"name": "frames"}, "object": {"key": "cam+2/a%2Bb+c.jpg", "size": 1024}}},
        {"eventName": "ObjectRemoved:Delete", "s3": {"bucket": {"name": "frames"}, "object": {"key": "x.jpg"}}}]}

    assert objects_of(json.dumps(event).encode(), {}) == [StoredObject("frames", "cam 2/a+b c.jpg", 1024)]


def test_a_cloudevent_in_binary_mode_names_the_finalized_object():
    body = json.dumps({"bucket": "frames", "name": "cam-3/f.jpg", "size": "2048"}).encode()

    assert objects_of(body, {"Ce-Type": "google.cloud.storage.object.v1.finalized", "ce-subject": "objects/cam-3/f.jpg"}) \
        == [StoredObject("frames", "cam-3/f.jpg", 2048, "gs")]
    assert objects_of(body, {"ce-type": "google.cloud.storage.object.v1.deleted"}) == []


def test_each_store_names_its_objects_as_the_batch_job_lists_them_gcs_as_gs_the_others_as_s3():
    yandex = {"messages": [{"details": {"bucket_id": "frames", "object_id": "cam 1/a+b.jpg"}}]}
    aws = {"Records": [{"s3": {"bucket": {"name": "frames"}, "object": {"key": "cam+1/a%2Bb.jpg"}}}]}
    gcs = {"bucket": "frames", "name": "cam 1/a+b.jpg", "size": "3"}

    assert [found.uri for event, headers in ((yandex, {}), (aws, {}),
                                             (gcs, {"ce-type": "google.cloud.storage.object.v1.finalized"}))
            for found in objects_of(json.dumps(event).encode(), headers)] == [
        "s3://frames/cam 1/a+b.jpg", "s3://frames/cam 1/a+b.jpg", "gs://frames/cam 1/a+b.jpg"]


@pytest.mark.parametrize("body, status", [
    (b"{not json", 400), (b"\xff\xfe", 400), (b'{"hello": 1}', 422), (b"[1, 2]", 422),
    (b'{"messages": [{"details": {"bucket_id": "b"}}]}', 422), (b'{"Records": [{"s3": {}}]}', 422)])
def test_a_body_that_is_no_event_is_refused_with_400_or_422(body, status):
    with pytest.raises(EventError) as refused:
        objects_of(body, {})

    assert refused.value.status == status
    assert "\n" not in str(refused.value)
