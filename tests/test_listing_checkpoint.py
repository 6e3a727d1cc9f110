"""Where a scheduled --only-new run's listing starts (camscore.io.listing_checkpoint): what it lists, and the
checkpoint it leaves once its rows are committed."""

import datetime as dt

from camscore.io.listing_checkpoint import Checkpoint, Plan, advance, out_of_order, plan
from camscore.storage import S3Object

NOON = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.timezone.utc)
INPUT = "s3://fleet/in"
MODEL = "avg_pool-80edf06cbaa3"
MINUTE = dt.timedelta(minutes=1)


def listed(folder: str, *names_and_minutes: tuple[str, int]) -> list[S3Object]:
    """Objects of ``in/<folder>/``, each written that many minutes after noon."""
    return [S3Object(f"{INPUT}/{folder}/{name}", 10, NOON + minutes * MINUTE, f"in/{folder}/{name}", f"in/{folder}/")
            for name, minutes in names_and_minutes]


def checkpoint(**after: str) -> Checkpoint:
    return Checkpoint(INPUT, 1, MODEL, NOON, {f"in/{folder}/": f"in/{folder}/{key}" for folder, key in after.items()})


def test_the_first_run_lists_the_whole_input():
    first = plan(None, input_uri=INPUT, list_depth=1, model_id=MODEL, whole_every_hours=24, now=NOON)

    assert (first.whole, first.after, first.reason) == (True, {}, "no listing checkpoint yet")


def test_a_later_run_lists_each_folder_past_its_checkpoint():
    later = plan(checkpoint(cam1="0900.jpg", cam2="0930.jpg"), input_uri=INPUT, list_depth=1, model_id=MODEL, whole_every_hours=24,
                 now=NOON + 5 * MINUTE)

    assert (later.whole, later.after) == (False, {"in/cam1/": "in/cam1/0900.jpg", "in/cam2/": "in/cam2/0930.jpg"})


def test_a_run_lists_the_whole_input_once_the_last_whole_listing_is_full_listing_hours_old():
    due = plan(checkpoint(cam1="0900.jpg"), input_uri=INPUT, list_depth=1, model_id=MODEL, whole_every_hours=24,
               now=NOON + dt.timedelta(hours=24))

    assert (due.whole, due.after) == (True, {})
    assert "score.full_listing_hours 24" in due.reason


def test_a_checkpoint_made_at_another_list_depth_or_for_another_model_is_not_used():
    kept = checkpoint(cam1="0900.jpg")
    deeper = plan(kept, input_uri=INPUT, list_depth=2, model_id=MODEL, whole_every_hours=24, now=NOON)
    new_model = plan(kept, input_uri=INPUT, list_depth=1, model_id="avg_pool-0a1b2c3d4e5f", whole_every_hours=24,
                     now=NOON)
    same_with_a_slash = plan(kept, input_uri=INPUT + "/", list_depth=1, model_id=MODEL, whole_every_hours=24,
                             now=NOON)

    assert (deeper.whole, deeper.reason) == (True, "the checkpoint was made for list_depth 1")
    assert (new_model.whole, new_model.reason) == (True, f"the checkpoint was made for model_id {MODEL}")
    assert not same_with_a_slash.whole


def test_folders_out_of_order_are_listed_whole_by_every_run():
    kept = Checkpoint(INPUT, 1, MODEL, NOON, {"in/cam1/": "in/cam1/b.jpg", "in/cam2/": "in/cam2/0900.jpg"},
                      frozenset({"in/cam1/"}))

    assert plan(kept, input_uri=INPUT, list_depth=1, model_id=MODEL, whole_every_hours=24, now=NOON).after == {
        "in/cam2/": "in/cam2/0900.jpg"}


def test_the_checkpoint_moves_to_each_folders_last_key_and_keeps_folders_with_nothing_new():
    previous = checkpoint(cam1="0900.jpg", cam2="0930.jpg")
    run = Plan(False, dict(previous.after), "", NOON + 60 * MINUTE)

    kept = advance(previous, run, listed("cam1", ("0901.jpg", 1), ("0902.jpg", 2)) + listed("cam3", ("0100.jpg", 3)),
                   input_uri=INPUT, list_depth=1, model_id=MODEL, unsettled=[], lookback=dt.timedelta(0),
                   whole_every_hours=24)

    assert kept.after == {"in/cam1/": "in/cam1/0902.jpg", "in/cam2/": "in/cam2/0930.jpg",
                          "in/cam3/": "in/cam3/0100.jpg"}
    assert kept.whole_listing_at == NOON  # an incremental run leaves when the last whole listing was


def test_keys_written_within_the_lookback_are_listed_again_by_the_next_run():
    previous = checkpoint(cam1="0900.jpg")
    run = Plan(False, dict(previous.after), "", NOON + 10 * MINUTE)

    kept = advance(previous, run, listed("cam1", ("0901.jpg", 0), ("0902.jpg", 1), ("0903.jpg", 9), ("0904.jpg", 2)),
                   input_uri=INPUT, list_depth=1, model_id=MODEL, unsettled=[], lookback=5 * MINUTE,
                   whole_every_hours=24)

    assert kept.after == {"in/cam1/": "in/cam1/0902.jpg"}  # 0904, older than 0903, waits behind it


def test_the_lookback_counts_from_the_newest_object_when_the_drivers_clock_runs_ahead_of_the_store():
    previous = checkpoint(cam1="0900.jpg")
    ahead = Plan(False, dict(previous.after), "", NOON + 60 * MINUTE)  # the store's newest object: NOON + 9 minutes

    kept = advance(previous, ahead, listed("cam1", ("0901.jpg", 0), ("0902.jpg", 1), ("0903.jpg", 9)),
                   input_uri=INPUT, list_depth=1, model_id=MODEL, unsettled=[], lookback=5 * MINUTE,
                   whole_every_hours=24)

    assert kept.after == {"in/cam1/": "in/cam1/0902.jpg"}


def test_a_frame_with_a_passing_read_error_holds_its_folder_back_so_the_next_run_reads_it_again():
    previous = checkpoint(cam1="0900.jpg")
    run = Plan(False, dict(previous.after), "", NOON + 60 * MINUTE)
    objects = listed("cam1", ("0901.jpg", 1), ("0902.jpg", 2), ("0903.jpg", 3))

    def kept_with(failed: S3Object, *, whole_every_hours: float) -> dict[str, str]:
        return advance(previous, run, objects, input_uri=INPUT, list_depth=1, model_id=MODEL,
                       unsettled=[failed.uri], lookback=dt.timedelta(0), whole_every_hours=whole_every_hours).after

    assert kept_with(objects[1], whole_every_hours=24) == {"in/cam1/": "in/cam1/0901.jpg"}
    assert kept_with(objects[0], whole_every_hours=24) == {"in/cam1/": "in/cam1/0900.jpg"}
    # Older than full_listing_hours (here 36 s) before the newest key: left to the whole listing.
    assert kept_with(objects[1], whole_every_hours=0.01) == {"in/cam1/": "in/cam1/0903.jpg"}


def test_a_new_folder_whose_first_frame_is_within_the_lookback_is_listed_whole_next_time():
    run = Plan(True, {}, "", NOON + 2 * MINUTE)

    kept = advance(None, run, listed("cam1", ("0901.jpg", 1)), input_uri=INPUT, list_depth=1, model_id=MODEL, unsettled=[],
                   lookback=5 * MINUTE, whole_every_hours=24)

    assert kept.after == {}


def test_a_whole_listing_forgets_folders_gone_and_judges_each_folders_order():
    previous = checkpoint(cam1="0900.jpg", gone="0900.jpg")
    run = Plan(True, {}, "", NOON + 60 * MINUTE)
    in_order = listed("cam1", ("0900.jpg", -180), ("0901.jpg", 1))
    shuffled = listed("cam2", ("a1f3.jpg", 30), ("c9d0.jpg", 2))  # a1f3 was written 28 minutes after c9d0

    kept = advance(previous, run, in_order + shuffled, input_uri=INPUT, list_depth=1, model_id=MODEL, unsettled=[],
                   lookback=10 * MINUTE, whole_every_hours=24)

    assert kept.after == {"in/cam1/": "in/cam1/0901.jpg"}  # cam2's keys are within the lookback of its newest
    assert kept.unordered == {"in/cam2/"}
    assert kept.whole_listing_at == run.listed_at


def test_order_is_judged_on_keys_written_since_the_last_whole_listing_and_beyond_the_lookback():
    late_flush = listed("cam1", ("0800.jpg", -200), ("0801.jpg", -100), ("0900.jpg", -150))
    jitter = listed("cam1", ("0900.jpg", 3), ("0901.jpg", 1))

    assert out_of_order(late_flush, since=None, tolerance=MINUTE)
    assert not out_of_order(late_flush, since=NOON - 90 * MINUTE, tolerance=MINUTE)  # judged by an earlier one
    assert not out_of_order(jitter, since=None, tolerance=5 * MINUTE)
    assert out_of_order(jitter, since=None, tolerance=MINUTE)


def test_a_checkpoint_reads_back_as_written():
    kept = Checkpoint(INPUT, 2, MODEL, NOON, {"in/cam1/d1/": "in/cam1/d1/0900.jpg"}, frozenset({"in/cam2/d1/"}))

    assert Checkpoint.from_json(kept.to_json()) == kept
