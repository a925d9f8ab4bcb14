"""TLS with a self-signed pair made here; plain HTTP refused off loopback."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from pathlib import Path

import httpx
import pytest

from ingest.cli import main
from tests.support.collector import collector_thread, events


def self_signed_pair(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key (PEM files)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "collector.crt", folder / "collector.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.mark.aws
def test_https_with_a_self_signed_pair(kinesis_endpoint: str, tmp_path: Path) -> None:
    cert, key = self_signed_pair(tmp_path)
    with collector_thread(kinesis_endpoint, tmp_path / "state", cert=cert,
                          key_file=key) as collector:
        assert collector.url.startswith("https://")
        trust = ssl.create_default_context(cafile=str(cert))
        assert collector.post(events(1)[0], verify=trust).status_code == 200
        with pytest.raises(httpx.ConnectError):  # not trusted without the certificate
            collector.post(events(1)[0])
        with pytest.raises(httpx.HTTPError):  # no plain HTTP on the TLS port
            httpx.post(collector.url.replace("https", "http") + "/v1/events", content=b"{}")
        assert sum(collector.stream_lines().values()) == 1


def test_plain_http_only_on_loopback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SPARKIFY_STATE_DIR", str(tmp_path / "state"))
    assert main(["collect", "--stream", "s", "--host", "0.0.0.0"]) == 2
    assert "not a loopback address: serving it needs TLS" in capsys.readouterr().err
    assert main(["collect", "--stream", "s", "--cert", str(tmp_path / "x.crt")]) == 2
    assert "TLS needs both --cert and --key" in capsys.readouterr().err
    assert main(["collect", "--stream", "s", "--cert", str(tmp_path / "x.crt"),
                 "--key", str(tmp_path / "x.key")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["collect", "--stream", "s", "--max-events", "600", "--burst", "500"]) == 2
    assert "a full request could never pass" in capsys.readouterr().err
