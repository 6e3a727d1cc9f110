"""Upload events as the object stores' triggers send them, read into the objects they name.

Three shapes, told apart by their content: Yandex Cloud Functions / Serverless Containers' Object Storage
trigger (``messages``), AWS S3 event notifications (``Records``) and CloudEvents in binary mode from
Eventarc for Cloud Storage (``ce-type`` header). An event that is not an object's creation names nothing.

An object is named as the batch job names it when it lists the same bucket, so that a frame has one ``path``
whichever path scored it: ``s3://bucket/key`` for Yandex Object Storage and S3, ``gs://bucket/key`` for Cloud
Storage (as Dataproc's GCS connector names it; the service reads it through Cloud Storage's S3-compatible XML
API, storage.S3Uri).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping
from urllib.parse import unquote_plus

from camscore.storage import S3Uri

YANDEX_CREATE = "yandex.cloud.events.storage.ObjectCreate"
GCS_FINALIZED = "google.cloud.storage.object.v1.finalized"


@dataclass(frozen=True)
class StoredObject:
    """An object an event names: where it is and, when the event says, its size in bytes.

    Attributes:
        scheme: the store's: ``s3`` (Yandex Object Storage, S3) or ``gs`` (Cloud Storage).
    """

    bucket: str
    key: str
    size: int | None = None
    scheme: str = "s3"

    @property
    def uri(self) -> str:
        """``scheme://bucket/key``: the ``path`` of its row."""
        return str(S3Uri(self.bucket, self.key, self.scheme))


class EventError(Exception):
    """A body that is no event: ``status`` 400 (not JSON) or 422 (JSON of no known shape)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def objects_of(body: bytes, headers: Mapping[str, str]) -> list[StoredObject]:
    """The objects an event's creations name, in order; ``headers`` as sent (any case).

    Raises:
        EventError: the body is not JSON (400), or of no shape this reads (422).
    """
    try:
        event = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise EventError(400, f"the body is not JSON: {exc}") from None
    return objects_in(event, headers)


def objects_in(event: Any, headers: Mapping[str, str] | None = None) -> list[StoredObject]:
    """The objects a parsed event's creations name (a serverless runtime hands the event parsed).

    Raises:
        EventError: the event is of no shape this reads (422).
    """
    ce_type = next((value for name, value in (headers or {}).items() if name.lower() == "ce-type"), None)
    try:
        if ce_type is not None:
            return _cloudevent(ce_type, event)
        if isinstance(event, dict) and isinstance(event.get("messages"), list):
            return [found for message in event["messages"] for found in _yandex(message)]
        if isinstance(event, dict) and isinstance(event.get("Records"), list):
            return [found for record in event["Records"] for found in _aws(record)]
        if isinstance(event, dict) and event.get("Event") == "s3:TestEvent":
            return []  # what S3 sends once when a notification is set up
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise EventError(422, f"an event of a known shape misses a field: {type(exc).__name__}: {exc}") from None
    raise EventError(422, "no known event shape: expected a Yandex Object Storage trigger's {\"messages\": [...]}, "
                          "an S3 notification's {\"Records\": [...]} or a CloudEvent (ce-type header)")


def _yandex(message: Mapping[str, Any]) -> list[StoredObject]:
    kind = message.get("event_metadata", {}).get("event_type", YANDEX_CREATE)
    if kind != YANDEX_CREATE:
        return []
    details = message["details"]
    return [StoredObject(str(details["bucket_id"]), str(details["object_id"]))]


def _aws(record: Mapping[str, Any]) -> list[StoredObject]:
    if not str(record.get("eventName", "ObjectCreated:")).startswith("ObjectCreated:"):
        return []
    found = record["s3"]
    size = found["object"].get("size")
    return [StoredObject(str(found["bucket"]["name"]), unquote_plus(str(found["object"]["key"])),
                         None if size is None else int(size))]


def _cloudevent(ce_type: str, data: Mapping[str, Any]) -> list[StoredObject]:
    if ce_type != GCS_FINALIZED:
        return []
    size = data.get("size")
    return [StoredObject(str(data["bucket"]), str(data["name"]), None if size is None else int(size), "gs")]
