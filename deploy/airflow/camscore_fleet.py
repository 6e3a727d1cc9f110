"""camscore's fleet on Airflow 3: every few minutes the frames cameras uploaded since the last run are scored; at
night the day before is compacted, then reported.

Copy this file into the deployment's DAGs folder, install `requirements.txt` (with `constraints.txt`) from the
folder it came from, and set the Variables `camscore_input`, `camscore_output` and `camscore_model`. The file
only starts camscore's jobs (`submit.sh` on the worker, spark-submit, or a Data Proc job): it imports no camscore.

Two DAGs:

- `camscore_score`, every `camscore_interval_minutes` (5): `score --only-new` over the input into the output,
  one run at a time. A run that finds the output's lease held by another run (camscore's exit code 75) ends
  *skipped*, neither failed nor retried: the next tick scores what it left.
- `camscore_nightly`, at `camscore_nightly_cron` (`30 1 * * *`, UTC): `compact` the day before, then
  `report` it. Triggered with `{"date": "2026-11-20"}` it does that day.

Exit code 1 (failed) is retried with exponential back-off; 2 (camscore refused: fix the config, model or input)
fails at once where the worker sees the code (local); a compaction that finds the lease held (a scoring run is on)
is retried. Cloud jobs tell Airflow only "failed" or not: there any failure is retried, and a scoring job whose
lease was held exits 0 (`--held-exit-code 0`) and `check_summary` skips the run, as `_summary.json` names
another run (`--run-label`, the Airflow run id).

Catch-up is off: each scoring run's `--only-new` scores every frame that missed runs left, so replaying missed
intervals would only queue runs that find nothing. A missed night: trigger `camscore_nightly` with its date, or
`airflow backfill create --dag-id camscore_nightly --from-date ... --to-date ...` (a run compacts the day before
its date).

Variables, read when a task runs (the three marked *parsed*: when the file is parsed):

| Variable | flavour | what it is |
| --- | --- | --- |
| `camscore_input` | all | the frames: `s3://frames/` (boto3), a folder, a Hadoop URI |
| `camscore_output` | all | the Parquet output: a folder, `s3a://bucket/scores/` |
| `camscore_model` | all | the model directory: a folder, `s3://models/current` |
| `camscore_flavour` | *parsed* | `local` (the default), `spark-submit` or `yandex` |
| `camscore_interval_minutes` | *parsed* | the scoring interval; default 5 |
| `camscore_nightly_cron` | *parsed* | when the nightly runs; default `30 1 * * *` |
| `camscore_checkout` | local, spark-submit | the camscore checkout on the worker; default `/opt/camscore` |
| `camscore_config` | all | the config file: local, a path (default: submit.sh's conf/local.yaml); spark-submit, a path on the worker (required); yandex, a file name in `camscore_dist` (default `yandex-data-proc.yaml`) |
| `camscore_dist` | spark-submit, yandex | where `./submit.sh pack`'s scoring archive is (spark-submit: default the checkout's dist/); yandex: also `score.py`, `compact.py` and `report.py` from jobs/ and the config file |
| `camscore_cluster_id` | yandex | the Data Proc cluster |
| `camscore_s3_connection` | spark-submit, yandex | the AWS connection that reads `_summary.json` of an s3:// or s3a:// output; default `aws_default` (Yandex Object Storage: its `endpoint_url` in the connection's extra) |

spark-submit goes through the `spark_default` connection (YARN, deploy mode cluster in its extra), Data Proc
through `yandexcloud_default`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shlex
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.providers.yandex.operators.dataproc import DataprocCreatePysparkJobOperator
from airflow.sdk import DAG, Param, Variable
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException

FLAVOURS = ("local", "spark-submit", "yandex")
HELD = 75  # camscore: another run holds the output's lease (EX_TEMPFAIL)
REFUSED = 2  # camscore: a flag, setting, model or input to fix; running again cannot help
SUMMARY = "_summary.json"
START = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
# ./submit.sh pack's scoring archive: scoring, compaction and the report run on it.
ARCHIVE = "camscore-env.tar.gz"
# As README's spark-submit lines: the nodes run the archive's Python, and a driver is never started twice.
CLUSTER_CONF = {"spark.pyspark.python": "./environment/bin/python", "spark.yarn.maxAppAttempts": "1"}


@dataclasses.dataclass(frozen=True)
class Fleet:
    """What the jobs run on: the Airflow Variables ``camscore_<field>``, read when a task runs."""

    input: str | None
    output: str | None
    model: str | None
    checkout: str = "/opt/camscore"
    config: str | None = None
    dist: str | None = None
    cluster_id: str | None = None
    s3_connection: str = "aws_default"

    @classmethod
    def from_variables(cls, *required: str) -> Fleet:
        """The Variables, the defaults where one is unset.

        Raises:
            AirflowFailException: a ``required`` field's Variable (or output's) is unset.
        """
        values = {}
        for field in dataclasses.fields(cls):
            value = Variable.get(f"camscore_{field.name}", default=None)
            if value:
                values[field.name] = value
            elif field.default is dataclasses.MISSING:
                values[field.name] = None
        fleet = cls(**values)
        missing = [f"camscore_{name}" for name in ("output", *required) if not getattr(fleet, name)]
        if missing:
            raise AirflowFailException(f"set the Airflow Variable(s) {', '.join(missing)} (see the DAG's docs)")
        return fleet


def job_args(job: str, fleet: Fleet, context: Mapping[str, Any], *, cloud: bool) -> list[str]:
    """The flags of camscore's ``job`` (score, compact or report) for this run, whichever way it is started."""
    if job == "score":
        args = ["--input", fleet.input, "--model", fleet.model, "--output", fleet.output, "--only-new",
                "--run-label", context["run_id"]]
        return [*args, "--held-exit-code", "0"] if cloud else args
    return ["--output", fleet.output, "--date", day_before(context)]


def day_before(context: Mapping[str, Any]) -> str:
    """The day a nightly run compacts and reports: its ``date`` param, else the UTC day before its data interval's
    end (its schedule's tick; a run triggered without a logical date: when it was triggered)."""
    given = context["params"].get("date")
    if given:
        return dt.date.fromisoformat(str(given)).isoformat()
    moment = context.get("data_interval_end") or context.get("logical_date") or context["dag_run"].run_after
    return (moment.astimezone(dt.timezone.utc).date() - dt.timedelta(days=1)).isoformat()


class LocalJob(BashOperator):
    """``<checkout>/submit.sh JOB ...`` on the worker. The scoring run skips on 75; exit 2 fails without retries."""

    def __init__(self, *, job: str, **kwargs: Any) -> None:
        super().__init__(bash_command=f"submit.sh {job}", skip_on_exit_code=HELD if job == "score" else None,
                         **kwargs)
        self.job = job

    def render_template_fields(self, context: Any, jinja_env: Any = None) -> None:
        # The command is made from the run and the Variables here, before Airflow renders (and shows) it.
        fleet = Fleet.from_variables("input", "model") if self.job == "score" else Fleet.from_variables()
        config = ["--config", fleet.config] if fleet.config else []
        args = job_args(self.job, fleet, context, cloud=False)
        self.bash_command = shlex.join([str(Path(fleet.checkout) / "submit.sh"), self.job, *config, *args])
        super().render_template_fields(context, jinja_env)

    def execute(self, context: Any) -> Any:
        try:
            return super().execute(context)
        except AirflowException:
            process = self.subprocess_hook.sub_process
            if process is not None and process.returncode == REFUSED:
                raise AirflowFailException(f"camscore refused the {self.job} run (exit code 2; its one line above "
                                           f"says what to fix): not retried") from None
            raise


class SparkSubmitJob(SparkSubmitOperator):
    """spark-submit of ``<checkout>/jobs/JOB.py`` with the packed environment, through ``spark_default``."""

    def __init__(self, *, job: str, **kwargs: Any) -> None:
        # durable=False: a retry submits again (scoring and compaction are safe to repeat), and durable tracking of
        # YARN's cluster mode needs the ResourceManager's REST address in the connection.
        super().__init__(application=f"jobs/{job}.py", name=f"camscore-{job}", conn_id="spark_default",
                         durable=False, **kwargs)
        self.job = job

    def render_template_fields(self, context: Any, jinja_env: Any = None) -> None:
        fleet = Fleet.from_variables("config", *(("input", "model") if self.job == "score" else ()))
        dist = fleet.dist or str(Path(fleet.checkout) / "dist")
        self.application = str(Path(fleet.checkout) / "jobs" / f"{self.job}.py")
        self.files = fleet.config
        self._archives = f"{dist}/{ARCHIVE}#environment"  # --archives: a constructor argument only
        self.conf = dict(CLUSTER_CONF)
        self.application_args = ["--config", PurePosixPath(fleet.config).name,
                                 *job_args(self.job, fleet, context, cloud=True)]
        super().render_template_fields(context, jinja_env)


class DataProcJob(DataprocCreatePysparkJobOperator):
    """A Yandex Data Proc PySpark job of ``<dist>/JOB.py`` with the packed environment, through
    ``yandexcloud_default``."""

    def __init__(self, *, job: str, **kwargs: Any) -> None:
        super().__init__(name=f"camscore {job}", connection_id="yandexcloud_default", **kwargs)
        self.job = job

    def render_template_fields(self, context: Any, jinja_env: Any = None) -> None:
        fleet = Fleet.from_variables("dist", "cluster_id", *(("input", "model") if self.job == "score" else ()))
        config = fleet.config or "yandex-data-proc.yaml"
        self.cluster_id = fleet.cluster_id
        self.main_python_file_uri = f"{fleet.dist}/{self.job}.py"
        self.file_uris = [f"{fleet.dist}/{config}"]
        self.archive_uris = [f"{fleet.dist}/{ARCHIVE}#environment"]
        self.properties = {**CLUSTER_CONF, "spark.submit.deployMode": "cluster"}
        # The operator does not template its args: they are made here, from the run.
        self.args = ["--config", config, *job_args(self.job, fleet, context, cloud=True)]
        super().render_template_fields(context, jinja_env)


def read_summary(output: str, *, s3_connection: str) -> dict[str, Any] | None:
    """The output's ``_summary.json``; None where no run has written one.

    Raises:
        AirflowFailException: the output is neither s3://, s3a:// nor local.
    """
    scheme, found, rest = output.partition("://")
    if not found or scheme == "file":
        path = Path(rest if found else output) / SUMMARY
        return json.loads(path.read_text()) if path.exists() else None
    if scheme not in ("s3", "s3a"):
        raise AirflowFailException(f"check_summary reads {SUMMARY} of an s3://, s3a:// or local output; "
                                   f"got {output!r}")
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    bucket, _, prefix = rest.partition("/")
    key = f"{prefix.strip('/')}/{SUMMARY}".lstrip("/")
    hook = S3Hook(aws_conn_id=s3_connection)
    return json.loads(hook.read_key(key, bucket)) if hook.check_for_key(key, bucket) else None


def check_summary(run_id: str) -> dict[str, Any]:
    """Skips the run unless the output's ``_summary.json`` is this run's: a scoring job that found the lease held
    wrote none (it exited 0, as cloud operators fail any other code). Returns the summary (XCom)."""
    fleet = Fleet.from_variables()
    summary = read_summary(fleet.output, s3_connection=fleet.s3_connection) or {}
    label = summary.get("run_label")
    if label != run_id:
        written = f"is run {label}'s" if label else "is not there"
        raise AirflowSkipException(f"{fleet.output}/{SUMMARY} {written}: this run found the output's lease held by "
                                   f"another run and scored nothing; the next tick scores")
    return summary


def fleet_dags(flavour: str, *, interval: dt.timedelta, nightly: str) -> tuple[DAG, DAG]:
    """The scoring DAG and the nightly DAG of ``flavour``."""
    if flavour not in FLAVOURS:
        raise ValueError(f"the Variable camscore_flavour is one of {', '.join(FLAVOURS)}; got {flavour!r}")
    job = {"local": LocalJob, "spark-submit": SparkSubmitJob, "yandex": DataProcJob}[flavour]
    retry = {"retry_exponential_backoff": 2.0}
    with DAG("camscore_score", schedule=interval, start_date=START, catchup=False, max_active_runs=1,
             default_args={**retry, "retries": 2, "retry_delay": dt.timedelta(seconds=30), "max_retry_delay": interval},
             doc_md=__doc__, tags=["camscore"]) as score_dag:
        score = job(task_id="score", job="score")
        if flavour != "local":
            score >> PythonOperator(task_id="check_summary", python_callable=check_summary)
    with DAG("camscore_nightly", schedule=nightly, start_date=START, catchup=False, max_active_runs=1,
             default_args={**retry, "retries": 4, "retry_delay": dt.timedelta(minutes=2),
                           "max_retry_delay": dt.timedelta(minutes=30)},
             params={"date": Param(None, type=["null", "string"], format="date",
                                   description="the day to compact and report; empty: the day before the run")},
             doc_md=__doc__, tags=["camscore"]) as nightly_dag:
        job(task_id="compact", job="compact") >> job(task_id="report", job="report")
    return score_dag, nightly_dag


score_dag, nightly_dag = fleet_dags(Variable.get("camscore_flavour", default="local"),
                                    interval=dt.timedelta(minutes=float(Variable.get("camscore_interval_minutes",
                                                                                     default="5"))),
                                    nightly=Variable.get("camscore_nightly_cron", default="30 1 * * *"))
