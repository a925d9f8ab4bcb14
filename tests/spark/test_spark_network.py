"""The embedded Spark's JVM listens on loopback only: its driver RPC and block manager ports
would otherwise be open on every interface of the machine, to anyone on the network."""

from __future__ import annotations

import ipaddress
from typing import Any

import psutil
import pytest

pytestmark = pytest.mark.spark


def _listening(process: psutil.Process) -> list[Any]:
    """The local addresses of `process`'s listening TCP sockets (IPv4 and IPv6)."""
    # net_connections is psutil 6's name for connections()
    connections = getattr(process, "net_connections", None) or process.connections
    return [conn.laddr for conn in connections(kind="tcp") if conn.status == psutil.CONN_LISTEN]


def _is_loopback(host: str) -> bool:
    address = ipaddress.ip_address(host.split("%")[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped  # Java's dual-stack sockets: ::ffff:127.0.0.1
    return address.is_loopback


def test_driver_binds_loopback(spark: Any) -> None:
    conf = spark.sparkContext.getConf()
    assert conf.get("spark.driver.bindAddress") == "127.0.0.1"
    assert conf.get("spark.driver.host") == "127.0.0.1"


def test_jvm_listens_on_loopback_only(spark: Any) -> None:
    jvms = [child for child in psutil.Process().children(recursive=True)
            if child.name() == "java"]
    assert jvms, "no java child process: where does the session's JVM run?"
    listening = [address for jvm in jvms for address in _listening(jvm)]
    assert listening, "the JVM listens on nothing (not even its driver port)?"
    exposed = [f"{address.ip}:{address.port}" for address in listening
               if not _is_loopback(address.ip)]
    assert exposed == [], f"the Spark JVM listens beyond loopback: {exposed}"
