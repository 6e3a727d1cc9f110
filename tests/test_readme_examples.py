"""What a user copies from README runs: its SQL on a real output that holds a report and a compaction under way,
and the quick start's curl against a started service."""

import datetime as dt
import io
import json
import re
import shlex
import subprocess

import duckdb
import pytest
from PIL import Image

from camscore.ddl import statements
from camscore.io.on_spark import write_scores
from camscore.rows import ANSWER_KEYS, names
from camscore.stages.batches import with_output_columns
from camscore.stages.compact import STAGING
from camscore.stages.report import write_report
from tables import score_rows

from conftest import ROOT

README = (ROOT / "README.md").read_text()
EXAMPLE_OUTPUT = "/data/scores"  # where README's queries read the table
ENGINES = {"duckdb": "duckdb", "spark": "spark", "trino": None, "athena": None,
           "-- DuckDB": "duckdb", "-- Spark SQL": "spark"}
DAY = dt.date(2026, 11, 20)  # the date of README's camera health query


def sql_blocks(text: str) -> list[tuple[str | None, str]]:
    """Each ```sql block of README with the engine that runs it: a generated block's dialect, else the comment
    on its first line; None for engines this machine has not (Trino, Athena)."""
    blocks = []
    for found in re.finditer(r"(?:<!-- generated: ddl --dialect (\w+) -->\n)?```sql\n(.*?)```", text, re.S):
        dialect, body = found.groups()
        label = dialect or next((name for name in ENGINES if name.startswith("--") and body.startswith(name)), None)
        assert label in ENGINES, f"README's sql block does not say its engine (-- DuckDB, -- Spark SQL): {body[:80]}"
        blocks.append((ENGINES[label], body))
    return blocks


@pytest.fixture
def table_with_report_and_staged_compaction(spark, tmp_path):
    """An output as camscore leaves it: two runs over two days (cam-1's first frame read in error by the first run,
    scored by the second), a report under _reports/ and a compaction's staged files under _compacting/."""
    def at(hour: int) -> dt.datetime:
        return dt.datetime.combine(DAY, dt.time(hour), tzinfo=dt.timezone.utc)

    output = tmp_path / "scores"
    first = [("file:/in/cam-1/a.jpg", "cam-1", at(8), None, None, None, "read", "connection reset"),
             ("file:/in/cam-1/b.jpg", "cam-1", at(9), 0.9, 1, "car", None, None),
             ("file:/in/cam-2/c.jpg", "cam-2", at(9), 0.2, 0, "bus", None, None),
             ("file:/in/cam-2/d.jpg", "cam-2", at(9) + dt.timedelta(days=1), 0.8, 1, "car", None, None)]
    second = [("file:/in/cam-1/a.jpg", "cam-1", at(8), 0.7, 1, "car", None, None)]
    def signals(rows):  # a sound picture's signals for each frame that was read
        return [(None,) * 7 if kind == "read" else (0.5, 0.2, 0.01, 0.0, 300.0, 7 * index, f"{index:064x}")
                for index, (*_, kind, _) in enumerate(rows)]

    for batch, rows, scored_at in (("b1", first, at(10)), ("b2", second, at(11))):
        write_scores(with_output_columns(score_rows(spark, rows, signals(rows)), model_id="m", batch_id=batch,
                                         scored_at=scored_at), str(output))
    write_report(spark, str(output), date=DAY.isoformat(), to=None)
    spark.read.parquet(str(output / f"date={DAY}")).write.parquet(str(output / STAGING / "c0123456789abcdef"))
    assert (output / "_reports" / str(DAY) / "camera_health.parquet").exists()
    return output


# One row per frame by camera and day: cam-1 two cars on the 20th (its read error replaced), cam-2 a bus on the 20th
# and a car on the 21st.
PER_CAMERA_AND_DAY = [("cam-1", DAY, 2, 2, 0), ("cam-2", DAY, 1, 0, 0),
                      ("cam-2", DAY + dt.timedelta(days=1), 1, 1, 0)]


@pytest.mark.spark35
def test_readme_sql_runs_in_duckdb_and_spark_on_an_output_with_a_report_and_a_compaction_under_way(
        spark, table_with_report_and_staged_compaction):
    output = str(table_with_report_and_staged_compaction)
    blocks = [(engine, sql.replace(EXAMPLE_OUTPUT, output).replace("s3://bucket/scores/", output + "/"))
              for engine, sql in sql_blocks(README)]
    # The Spark statements README tells a user to print, for this output's location.
    command = re.search(r"`(\./submit\.sh ddl --dialect spark --location \S+)`", README).group(1)
    printed = subprocess.run([*shlex.split(command.replace("s3a://bucket/scores/", output + "/"))], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout
    blocks.insert(0, ("spark", printed))
    answers = {"duckdb": {}, "spark": {}}
    with duckdb.connect() as db:
        for engine, sql in blocks:
            for statement in statements(sql) if engine == "duckdb" else ():
                answers["duckdb"][statement] = db.execute(statement).fetchall()
    try:
        for engine, sql in blocks:
            for statement in statements(sql) if engine == "spark" else ():
                answers["spark"][statement] = [tuple(row) for row in spark.sql(statement).collect()]
    finally:
        spark.sql("DROP VIEW IF EXISTS frames")
        spark.sql("DROP TABLE IF EXISTS scores")

    assert [engine for engine, _ in blocks].count("duckdb") == 3 and [e for e, _ in blocks].count("spark") == 2
    assert PER_CAMERA_AND_DAY in answers["duckdb"].values()
    assert PER_CAMERA_AND_DAY in answers["spark"].values()
    # README's camera health query reads the report's file; no camera of this output has a fault.
    health = duckdb.sql(f"SELECT camera_id, status FROM '{output}/_reports/{DAY}/camera_health.parquet' "
                        f"ORDER BY camera_id").fetchall()
    faults = [answer for statement, answer in answers["duckdb"].items() if "camera_health.parquet" in statement]
    assert health == [("cam-1", "ok"), ("cam-2", "ok")] and faults == [[]]


def test_the_quick_starts_curl_gets_the_answer_readme_shows(start_service, tmp_path):
    service = start_service(wait=False)
    shell = re.search(r"```bash\n\./submit\.sh serve [^\n]*\n((?:[^\n]*curl [^\n]*\n)+)```", README)
    shown = json.loads(re.search(r"```json\n(.*?)```", README[shell.end():], re.S).group(1))
    frame = io.BytesIO()
    Image.linear_gradient("L").resize((320, 240)).convert("RGB").save(frame, format="JPEG")
    (tmp_path / "frame.jpg").write_bytes(frame.getvalue())
    port = service.url.rsplit(":", 1)[1]

    # README's lines after the service's start: the wait until it is ready, then the post.
    done = subprocess.run(["bash", "-c", shell.group(1).replace(":8080", f":{port}")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=True)
    answer = json.loads(done.stdout)

    assert list(answer) == list(shown) == list(names(ANSWER_KEYS))
    assert 0 <= answer["probability"] <= 1 and answer["label"] in (0, 1) and answer["error_kind"] is None
