"""The fleet's DAG file, deploy/airflow/camscore_fleet.py, in Airflow 3 as a deployment runs it: parsed by DagBag,
run by dag.test() against the local SeaweedFS and local Spark (./submit.sh score), its cloud jobs built for a run
and checked without a cloud.

Runs in .venv-airflow, ./submit.sh test's last pass; skipped where Airflow cannot be imported. Cost: about 100 s on
an AMD EPYC of 2 cores, 80 of them the three ./submit.sh score runs through local Spark (two that score, one held);
the first task a process runs waits about 6 s for Airflow's in-process API.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from camscore import storage
from tools import samples

from conftest import ROOT

if importlib.util.find_spec("airflow") is None:
    pytest.skip("needs Airflow 3: ./submit.sh test runs these in .venv-airflow", allow_module_level=True)

pytestmark = pytest.mark.airflow

README = (ROOT / "README.md").read_text()
# README's Airflow block: the pip line, which ./submit.sh runs to make this environment, then the lines that install
# the DAG file and set its Variables, which the tests run.
PIP, *DEPLOY = re.search(r"```bash\n(pip install -r deploy/airflow/.*?)```", README, re.S).group(1).splitlines()
TICK = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.timezone.utc)
INTERVAL = dt.timedelta(minutes=5)


def run_readme(lines: list[str], examples: dict[str, str] | None = None) -> None:
    """Runs README's ``lines`` with bash in the checkout, each example value shown there (a key of ``examples``)
    replaced by the test's."""
    script = "\n".join(lines)
    for example, value in (examples or {}).items():
        assert example in script
        script = script.replace(example, value)
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"  # this environment's airflow command
    subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, env={**os.environ, "PATH": path},
                   capture_output=True, text=True, check=True)


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory):
    """A new Airflow home (read once, when Airflow is first imported) with a SQLite metadata database and the DAG
    file copied into its DAGs folder by README's line."""
    home = tmp_path_factory.mktemp("airflow-home")
    (home / "dags").mkdir()
    from cryptography.fernet import Fernet

    # One key for this process and the airflow commands it runs: Variables are stored encrypted with it.
    os.environ.update({"AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                       "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
                       "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode()})
    from airflow.utils import db

    db.initdb()
    run_readme([line for line in DEPLOY if line.startswith("cp ")])
    return home


@pytest.fixture
def variables(monkeypatch, airflow_home):
    """Sets Airflow Variables (camscore_<name>) for the test, as a deployment's environment can."""
    def set_variables(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(f"AIRFLOW_VAR_CAMSCORE_{name.upper()}", value)
    return set_variables


def fleet_dags(variables, flavour: str):
    """The DAG file parsed by DagBag with camscore_flavour ``flavour``: its score and nightly DAGs."""
    from airflow.dag_processing.dagbag import DagBag

    variables(flavour=flavour)
    bag = DagBag(os.path.join(os.environ["AIRFLOW_HOME"], "dags"))
    assert bag.import_errors == {}
    return bag.dags["camscore_score"], bag.dags["camscore_nightly"]


def states(run) -> dict[str, str]:
    return {ti.task_id: ti.state for ti in run.get_task_instances()}


def test_each_flavour_parses_without_camscore_into_the_scoring_and_nightly_dags(variables, monkeypatch):
    monkeypatch.setitem(sys.modules, "camscore", None)  # an import of camscore by the DAG file fails
    found = {}
    for flavour in ("local", "spark-submit", "yandex"):
        score, nightly = fleet_dags(variables, flavour)
        found[flavour] = (sorted(score.task_ids), sorted(nightly.task_ids))
        checks = [task.upstream_task_ids for task in score.tasks if task.task_id == "check_summary"]
        assert checks in ([], [{"score"}]) and nightly.get_task("report").upstream_task_ids == {"compact"}

        assert (score.schedule, nightly.schedule) == (INTERVAL, "30 1 * * *")
        assert (score.max_active_runs, score.catchup, nightly.catchup) == (1, False, False)
        assert score.get_task("score").retries == 2 and score.get_task("score").retry_exponential_backoff == 2.0

    assert found == {"local": (["score"], ["compact", "report"]),
                     "spark-submit": (["check_summary", "score"], ["compact", "report"]),
                     "yandex": (["check_summary", "score"], ["compact", "report"])}


def test_readme_installs_the_pins_these_tests_run_on():
    assert PIP == "pip install -r deploy/airflow/requirements.txt -c deploy/airflow/constraints.txt"
    assert 'airflow_pins=("$root/deploy/airflow/requirements.txt" "$root/deploy/airflow/constraints.txt")' in (
        ROOT / "submit.sh").read_text()


@pytest.fixture
def local_fleet(variables, s3_server, bucket, tmp_path):
    """The local flavour (this checkout) over frames in a bucket of the local SeaweedFS, into a folder:
    conf/local.yaml reaching that store. Returns the input and the output."""
    config = yaml.safe_load((ROOT / "conf" / "local.yaml").read_text())
    config["s3"].update(dataclasses.asdict(s3_server.settings))
    (tmp_path / "local.yaml").write_text(yaml.safe_dump(config))
    variables(checkout=str(ROOT), config=str(tmp_path / "local.yaml"))
    return f"{bucket}/frames/", str(tmp_path / "scores")


@contextlib.contextmanager
def lease_held_by_another_process(output: str):
    """Another process holds the output's lease (camscore's own lease, in .venv) while the block runs."""
    holder = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "python"), "-c",
         "import sys, time\nfrom camscore.io import held\n"
         "with held(sys.argv[1], seconds=300, s3=None, spark=None):\n    print('held', flush=True)\n    time.sleep(600)",
         output], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        yield
    finally:
        holder.kill()
        holder.wait()


def test_two_intervals_score_every_frame_once_and_a_third_finding_the_lease_held_is_skipped(
        variables, local_fleet, s3_server, model_dir):
    frames, output = local_fleet
    # README's Variables, in the metadata database, with this test's values.
    run_readme([line for line in DEPLOY if line.startswith("airflow variables set")],
               {"s3://frames/": frames, "/data/scores": output, "s3://models/current": model_dir})
    score, _ = fleet_dags(variables, "local")
    first = samples.camera_frames(cameras=2, days=1, per_day=3, start=TICK.date(), seed=1)
    second = samples.camera_frames(cameras=2, days=1, per_day=2, start=TICK.date() + dt.timedelta(days=1), seed=2)

    samples.upload(first, frames, s3_server.settings)
    one = score.test(logical_date=TICK)
    samples.upload(second, frames, s3_server.settings)  # uploaded between the two intervals
    two = score.test(logical_date=TICK + INTERVAL)
    rows = pq.read_table(output, columns=["path"]).column("path").to_pylist()
    with lease_held_by_another_process(output):
        three = score.test(logical_date=TICK + 2 * INTERVAL)

    assert [(run.state, states(run)) for run in (one, two)] == [("success", {"score": "success"})] * 2
    assert sorted(path.split("/frames/", 1)[1] for path in rows) == sorted(f.relative_path for f in first + second)
    assert json.loads(Path(output, "_summary.json").read_text())["run_label"] == two.run_id
    assert (three.state, states(three)) == ("success", {"score": "skipped"})
    assert pq.read_table(output, columns=["path"]).num_rows == len(rows)


def test_a_run_camscore_refuses_fails_at_once_without_retries(variables, local_fleet, tmp_path):
    frames, output = local_fleet
    variables(input=frames, output=output, model=str(tmp_path / "no-model"))
    score, _ = fleet_dags(variables, "local")

    run = score.test(logical_date=TICK + 3 * INTERVAL)

    (task,) = run.get_task_instances()
    assert (run.state, task.state, task.try_number) == ("failed", "failed", 1)


def context(*, run_id: str, end: dt.datetime, date: str | None = None) -> dict:
    """What Airflow gives a task of a run whose data interval ends at ``end``."""
    return {"run_id": run_id, "data_interval_start": end, "data_interval_end": end, "logical_date": end,
            "params": {"date": date}}


def test_the_local_nightly_compacts_the_day_before_then_reports_it_with_submit_sh(variables, tmp_path):
    variables(output="/data/scores", checkout="/opt/camscore")
    _, nightly = fleet_dags(variables, "local")
    compact, report = nightly.get_task("compact"), nightly.get_task("report")
    night = dt.datetime(2026, 11, 21, 1, 30, tzinfo=dt.timezone.utc)

    compact.render_template_fields(context(run_id="n1", end=night))
    report.render_template_fields(context(run_id="n1", end=night))

    assert compact.bash_command == "/opt/camscore/submit.sh compact --output /data/scores --date 2026-11-20"
    assert report.bash_command == "/opt/camscore/submit.sh report --output /data/scores --date 2026-11-20"
    assert (compact.skip_on_exit_code, nightly.get_task("report").upstream_task_ids) == ([], {"compact"})


YANDEX = {"input": "s3://frames/", "output": "s3a://bucket/scores/", "model": "s3://models/current",
          "dist": "s3a://bucket/camscore", "cluster_id": "c9q-fleet"}


def test_the_yandex_flavour_makes_each_data_proc_job_from_its_run(variables):
    variables(**YANDEX)
    score, nightly = fleet_dags(variables, "yandex")
    job = score.get_task("score")
    run_id = "scheduled__2026-11-20T12:05:00+00:00"

    job.render_template_fields(context(run_id=run_id, end=TICK + INTERVAL))
    compact, report = nightly.get_task("compact"), nightly.get_task("report")
    compact.render_template_fields(context(run_id="n1", end=dt.datetime(2026, 11, 21, 1, 30, tzinfo=dt.timezone.utc)))
    report.render_template_fields(context(run_id="n2", end=TICK, date="2026-11-18"))

    assert (job.cluster_id, job.yandex_conn_id) == ("c9q-fleet", "yandexcloud_default")
    assert job.main_python_file_uri == "s3a://bucket/camscore/score.py"
    assert job.args == ["--config", "yandex-data-proc.yaml", "--input", "s3://frames/", "--model", "s3://models/current",
                        "--output", "s3a://bucket/scores/", "--only-new", "--run-label", run_id,
                        "--held-exit-code", "0"]
    assert job.archive_uris == ["s3a://bucket/camscore/camscore-env.tar.gz#environment"]
    assert job.file_uris == ["s3a://bucket/camscore/yandex-data-proc.yaml"]
    assert job.properties == {"spark.pyspark.python": "./environment/bin/python", "spark.yarn.maxAppAttempts": "1",
                              "spark.submit.deployMode": "cluster"}
    # The nightly run at 01:30 compacts the day before; one triggered with a date reports that date.
    assert compact.args[-4:] == ["--output", "s3a://bucket/scores/", "--date", "2026-11-20"]
    assert compact.main_python_file_uri == "s3a://bucket/camscore/compact.py"
    assert report.args[-2:] == ["--date", "2026-11-18"]
    assert report.archive_uris == ["s3a://bucket/camscore/camscore-env.tar.gz#environment"]  # as the scoring


def test_the_spark_submit_flavour_submits_the_checkouts_job_with_the_packed_environment(variables, monkeypatch):
    variables(**{**YANDEX, "dist": "s3a://bucket/env"}, checkout="/opt/camscore",
              config="/opt/camscore/conf/yandex-data-proc.yaml")
    monkeypatch.setenv("AIRFLOW_CONN_SPARK_DEFAULT", json.dumps(
        {"conn_type": "spark", "host": "yarn", "extra": {"deploy-mode": "cluster"}}))
    score, _ = fleet_dags(variables, "spark-submit")
    job = score.get_task("score")
    run_id = "scheduled__2026-11-20T12:05:00+00:00"

    job.render_template_fields(context(run_id=run_id, end=TICK + INTERVAL))
    command = job._get_hook()._build_spark_submit_command(job.application)

    assert job.application == "/opt/camscore/jobs/score.py"
    assert job.application_args == [
        "--config", "yandex-data-proc.yaml", "--input", "s3://frames/", "--model", "s3://models/current",
        "--output", "s3a://bucket/scores/", "--only-new", "--run-label", run_id, "--held-exit-code", "0"]
    assert job.conf == {"spark.pyspark.python": "./environment/bin/python", "spark.yarn.maxAppAttempts": "1"}
    # README's spark-submit line for Yandex Data Proc, made by the provider's hook.
    assert command == [
        "spark-submit", "--master", "yarn", "--conf", "spark.pyspark.python=./environment/bin/python",
        "--conf", "spark.yarn.maxAppAttempts=1", "--files", "/opt/camscore/conf/yandex-data-proc.yaml",
        "--archives", "s3a://bucket/env/camscore-env.tar.gz#environment", "--name", "camscore-score",
        "--deploy-mode", "cluster", "/opt/camscore/jobs/score.py", *job.application_args]


def test_a_cloud_run_is_skipped_unless_the_outputs_summary_is_its_own(variables, monkeypatch, s3_server, bucket):
    from airflow.models.dagrun import DagRun
    from airflow.utils.types import DagRunType

    output = f"s3a://{bucket[len('s3://'):]}/scores/"
    variables(**{**YANDEX, "output": output})
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(
        {"conn_type": "aws", "login": os.environ["AWS_ACCESS_KEY_ID"], "password": os.environ["AWS_SECRET_ACCESS_KEY"],
         "extra": {"endpoint_url": s3_server.settings.endpoint_url, "region_name": "us-east-1",
                   "config_kwargs": {"s3": {"addressing_style": "path"}}}}))
    score, _ = fleet_dags(variables, "yandex")
    summary = f"{bucket}/scores/_summary.json"
    runs = []
    # The cloud job itself is marked done (it is the Data Proc job's place to run); the check reads the real file.
    for n, label in enumerate(("scheduled__another-run", None)):
        logical, after = TICK + (4 + n) * INTERVAL, dt.datetime.now(dt.timezone.utc)
        own = DagRun.generate_run_id(run_type=DagRunType.MANUAL, logical_date=logical, run_after=after)
        storage.write_bytes(summary, json.dumps({"run_label": label or own, "frames_scored": 3}).encode(),
                            s3=s3_server.settings)
        runs.append(score.test(logical_date=logical, run_after=after, mark_success_pattern="^score$"))

    assert [(run.state, states(run)) for run in runs] == [
        ("success", {"score": "success", "check_summary": "skipped"}),
        ("success", {"score": "success", "check_summary": "success"})]
