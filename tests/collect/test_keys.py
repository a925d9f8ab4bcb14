"""API keys: made and revoked by the CLI, stored hashed, checked (and re-read) by the server."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from ingest.cli import main
from ingest.collect.keys import RELOAD_SECONDS, Check, KeyStore
from ingest.errors import IngestError


def test_a_key_is_stored_hashed_and_checks_out(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.json")
    key, text = store.create("app")
    assert text.startswith(f"spk_{key.key_id}_")
    saved = store.path.read_text()
    assert text.split("_", 2)[2] not in saved and key.digest in saved
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    server = KeyStore(store.path)
    assert server.cached(text) is None  # not yet checked: scrypt is needed
    assert server.verify(text) is Check.OK
    assert server.cached(text) is Check.OK  # now remembered
    wrong = text[:-1] + ("A" if text[-1] != "A" else "B")
    assert server.verify(wrong) is Check.UNKNOWN
    assert server.verify("spk_00000000_" + "a" * 43) is Check.UNKNOWN
    assert server.verify("not a key") is Check.UNKNOWN


def test_a_revoked_key_is_refused_by_a_running_server_within_a_second(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.json")
    key, text = store.create("app")
    _other, other_text = store.create("other")
    server = KeyStore(store.path)
    assert server.verify(text) is Check.OK
    assert [revoked.key_id for revoked in store.revoke(key.key_id)] == [key.key_id]
    time.sleep(RELOAD_SECONDS + 0.05)
    assert server.cached(text) is Check.REVOKED
    assert server.verify(other_text) is Check.OK
    with pytest.raises(IngestError, match="no active API key"):
        store.revoke(key.key_id)


def test_the_cli_makes_lists_and_revokes_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SPARKIFY_STATE_DIR", str(tmp_path / "state"))
    assert main(["collect-key", "create", "--name", "mobile-app"]) == 0
    text = capsys.readouterr().out.strip()
    store = KeyStore(tmp_path / "state" / "collector" / "api-keys.json")
    assert store.verify(text) is Check.OK
    assert main(["collect-key", "list"]) == 0
    listed = capsys.readouterr().out
    assert "mobile-app" in listed and "active" in listed and text not in listed
    assert main(["collect-key", "revoke", "--name", "mobile-app"]) == 0
    assert main(["collect-key", "list"]) == 0
    assert "revoked" in capsys.readouterr().out
    assert main(["collect-key", "revoke", "--name", "mobile-app"]) == 2
    assert main(["collect-key", "create", "--name", "bad name!"]) == 2
