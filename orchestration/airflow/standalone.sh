#!/usr/bin/env bash
# `make airflow-up` / `make airflow-down`: Airflow standalone on 127.0.0.1 with the project's
# DAGs, a SQLite metadata database under the state folder, parallelism sized for 2 cores, and
# a local S3 endpoint (moto) serving a generated sample at s3://sparkify-local/sample.
# Every process it starts gets its own process group; `down` ends those groups (pid files).
set -euo pipefail

ACTION=${1:?usage: standalone.sh up|down}
PROJECT=$(cd "$(dirname "$0")/../.." && pwd)
STATE=${SPARKIFY_STATE_DIR:-$PROJECT/.state}
HOME_DIR=${AIRFLOW_HOME:-$STATE/airflow-home}
PORT=${AIRFLOW_PORT:-8090}
S3_PORT=${AIRFLOW_S3_PORT:-5055}
VENV=$PROJECT/.venv-airflow
SAMPLE=$STATE/airflow-sample

stop_group() {  # the process group recorded in pid file $1, if it still runs
  local file=$1 pid
  [[ -f $file ]] || return 0
  pid=$(cat "$file")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    echo "stopped $(basename "$file" .pid) (process group $pid)"
  fi
  rm -f "$file"
}

if [[ $ACTION == down ]]; then
  stop_group "$HOME_DIR/standalone.pid"
  stop_group "$HOME_DIR/moto.pid"
  exit 0
fi
[[ $ACTION == up ]] || { echo "usage: standalone.sh up|down" >&2; exit 2; }
[[ -x $VENV/bin/airflow ]] || { echo "error: no $VENV: run 'make airflow' first" >&2; exit 2; }
if [[ -f $HOME_DIR/standalone.pid ]] && kill -0 "$(cat "$HOME_DIR/standalone.pid")" 2>/dev/null; then
  echo "Airflow standalone already runs (pid $(cat "$HOME_DIR/standalone.pid")): make airflow-down first"
  exit 0
fi
mkdir -p "$HOME_DIR"

export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-local} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-local}
export AWS_REGION=${AWS_REGION:-us-west-2} AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-west-2}
if [[ -z ${SPARKIFY_SOURCE:-} ]]; then
  # no source given: serve a generated sample from a local S3 endpoint
  export AWS_ENDPOINT_URL=http://127.0.0.1:$S3_PORT SPARKIFY_SOURCE=s3://sparkify-local/sample
  setsid "$PROJECT/.venv/bin/moto_server" -H 127.0.0.1 -p "$S3_PORT" \
    >"$HOME_DIR/moto.log" 2>&1 < /dev/null &
  echo $! >"$HOME_DIR/moto.pid"
  for _ in $(seq 30); do curl -sf "$AWS_ENDPOINT_URL/moto-api/" >/dev/null && break; sleep 0.5; done
  [[ -d $SAMPLE ]] || "$PROJECT/.venv/bin/python" -m ingest generate --out "$SAMPLE" \
    --days 3 --songs 60 --events-per-day 300 --start-date 2018-11-01
  "$PROJECT/.venv/bin/python" -c "import boto3; boto3.client('s3').create_bucket(Bucket='sparkify-local', CreateBucketConfiguration={'LocationConstraint': '$AWS_REGION'})"
  "$PROJECT/.venv/bin/python" -m ingest upload "$SAMPLE" "$SPARKIFY_SOURCE"
  # the sample's days are in 2018: no runs on the schedules (they would wait on sensors for
  # today's object), and the DAGs unpaused, so a triggered run starts at once
  export AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE=False AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=False
fi

export AIRFLOW_HOME=$HOME_DIR
export AIRFLOW__CORE__DAGS_FOLDER=$PROJECT/orchestration/airflow/dags
export AIRFLOW__CORE__LOAD_EXAMPLES=False
# the defaults start 32 workers (5.5 GiB); 2 cores want 2
export AIRFLOW__CORE__PARALLELISM=${AIRFLOW__CORE__PARALLELISM:-2}
export AIRFLOW__API__HOST=127.0.0.1 AIRFLOW__API__PORT=$PORT
export AIRFLOW__API__BASE_URL=http://127.0.0.1:$PORT
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL=http://127.0.0.1:$PORT/execution/
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=${AIRFLOW_USER:-admin}:admin
export AIRFLOW__COSMOS__ENABLE_TELEMETRY=False
export AIRFLOW_VAR_SPARKIFY_TARGET=${SPARKIFY_TARGET:-spark}
export AIRFLOW_VAR_SPARKIFY_SOURCE=$SPARKIFY_SOURCE
export PYTHONPATH=$AIRFLOW__CORE__DAGS_FOLDER
export PATH=$VENV/bin:$PATH
setsid airflow standalone >"$HOME_DIR/standalone.log" 2>&1 < /dev/null &
echo $! >"$HOME_DIR/standalone.pid"

URL=http://127.0.0.1:$PORT
for _ in $(seq 120); do
  curl -sf "$URL/api/v2/monitor/health" >/dev/null && break
  kill -0 "$(cat "$HOME_DIR/standalone.pid")" 2>/dev/null || {
    echo "error: airflow standalone stopped; see $HOME_DIR/standalone.log" >&2; exit 1; }
  sleep 1
done
curl -sf "$URL/api/v2/monitor/health" >/dev/null || {
  echo "error: Airflow is not healthy after 120 s; see $HOME_DIR/standalone.log" >&2; exit 1; }
PASSWORD=$("$VENV/bin/python" -c "import json,sys; print(json.load(open(sys.argv[1]))['${AIRFLOW_USER:-admin}'])" \
  "$HOME_DIR/simple_auth_manager_passwords.json.generated")
echo "Airflow is up: $URL (user ${AIRFLOW_USER:-admin}, password $PASSWORD)"
echo "DAGs: sparkify_daily, sparkify_every_10_minutes, sparkify_stream, sparkify_emr_transient"
echo "target $AIRFLOW_VAR_SPARKIFY_TARGET, source $SPARKIFY_SOURCE; logs in $HOME_DIR; stop: make airflow-down"
