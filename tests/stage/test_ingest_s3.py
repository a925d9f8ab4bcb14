"""Upload and source listing against a real moto S3 endpoint on loopback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.aws import s3_client
from ingest.errors import IngestError
from ingest.raw.sources import (
    LocalSource,
    S3Source,
    open_source,
    parse_source,
    require_raw_layout,
)
from ingest.raw.upload import upload
from tests.support.project import FIXTURES, PROJECT_DIR

pytestmark = pytest.mark.aws

RAW = FIXTURES / "raw_handwritten"


def _copy_raw(tmp_path: Path) -> Path:
    target = tmp_path / "raw"
    shutil.copytree(RAW, target)
    return target


def _object_count(prefix: str) -> int:
    listing = s3_client().list_objects_v2(Bucket="raw-bucket", Prefix=prefix)
    return int(listing.get("KeyCount", 0))


def test_upload_is_idempotent_and_verified(tmp_path: Path, s3_endpoint: str) -> None:
    raw = _copy_raw(tmp_path)
    local_files = sorted(p for p in raw.rglob("*.json"))

    first = upload(raw, "s3://raw-bucket/landing/raw")
    assert first.uploaded == len(local_files)
    assert first.skipped == 0
    assert _object_count("landing/raw/") == len(local_files)

    second = upload(raw, "s3://raw-bucket/landing/raw")
    assert (second.uploaded, second.skipped) == (0, len(local_files))

    changed = next(iter(sorted(raw.glob("log_data/**/*.json"))))
    changed.write_bytes(changed.read_bytes() + b"\n")
    third = upload(raw, "s3://raw-bucket/landing/raw")
    assert (third.uploaded, third.skipped) == (1, len(local_files) - 1)
    body = s3_client().get_object(
        Bucket="raw-bucket",
        Key="landing/raw/" + changed.relative_to(raw).as_posix(),
    )["Body"].read()
    assert body == changed.read_bytes()


def test_missing_bucket_is_a_clear_error(tmp_path: Path, s3_endpoint: str) -> None:
    with pytest.raises(IngestError, match="bucket does not exist"):
        upload(_copy_raw(tmp_path), "s3://no-such-bucket/raw")
    with pytest.raises(IngestError, match="bucket does not exist"):
        open_source(parse_source("s3://no-such-bucket/raw"))


def test_unreachable_endpoint_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    with pytest.raises(IngestError, match="cannot reach the S3 endpoint"):
        open_source(parse_source("s3://raw-bucket/raw"))


def test_source_without_raw_layout_is_rejected(tmp_path: Path, s3_endpoint: str) -> None:
    (tmp_path / "song_data").mkdir()
    with pytest.raises(IngestError, match="no JSON files under song_data/ and log_data/"):
        require_raw_layout(LocalSource(tmp_path))
    with pytest.raises(IngestError, match="no JSON files"):
        require_raw_layout(S3Source("s3://raw-bucket/empty"))


def _run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ingest", *args], cwd=PROJECT_DIR, capture_output=True,
        text=True, timeout=120, env=env or dict(os.environ), check=False,
    )


def test_cli_reports_bad_source_without_traceback(tmp_path: Path) -> None:
    result = _run_cli("stage", "--target", "spark", "--source", str(tmp_path / "missing"))
    assert result.returncode == 2
    assert "error: source folder not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_reports_missing_java(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "JAVA_HOME"}
    env["PATH"] = str(Path(sys.executable).parent)
    env["SPARKIFY_STATE_DIR"] = str(tmp_path / "state")
    env["SPARK_CONF_DIR"] = str(tmp_path / "conf")
    result = _run_cli("stage", "--source", str(RAW), env=env)
    assert result.returncode == 2
    assert "Java was not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_direct_location_ddl_points_at_s3() -> None:
    result = _run_cli("stage", "--source", "s3://my-bucket/sparkify", "--location", "direct",
                      "--raw-schema", "raw_events", "--dry-run")
    assert result.returncode == 0, result.stderr
    ddl = result.stdout
    assert "create table `raw_events`.`song_data`" in ddl
    assert "location 's3://my-bucket/sparkify/song_data'" in ddl
    assert "location 's3://my-bucket/sparkify/log_data'" in ddl
    assert "`userId` string" in ddl and "`ts` bigint" in ddl
    assert "'recursiveFileLookup' 'true'" in ddl


def test_invalid_schema_name_is_refused() -> None:
    result = _run_cli("stage", "--source", "s3://b/p", "--location", "direct",
                      "--raw-schema", "raw; drop table x", "--dry-run")
    assert result.returncode == 2
    assert "is not a valid schema name" in result.stderr


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_wrong_credentials_are_a_clear_error(tmp_path: Path) -> None:
    """A moto server that checks IAM credentials (INITIAL_NO_AUTH_ACTION_COUNT=0)."""
    import time
    import urllib.request

    port = _free_port()
    server_env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="0")
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        env=server_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        env = dict(os.environ, AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}",
                   AWS_ACCESS_KEY_ID="AKIAWRONGWRONGWRONG0", AWS_SECRET_ACCESS_KEY="wrong",
                   AWS_DEFAULT_REGION="us-west-2")
        env.pop("AWS_PROFILE", None)
        result = _run_cli("upload", str(RAW), "s3://raw-bucket/raw", env=env)
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert result.returncode == 2
    assert "access denied" in result.stderr and "check the AWS credentials" in result.stderr
    assert "Traceback" not in result.stderr
