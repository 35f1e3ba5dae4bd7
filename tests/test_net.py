"""The loopback Host check shared by `mlctl serve` and `mlctl ui` (DNS rebinding)."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from mlctl.net import HostCheck, host_check, is_loopback

ACCEPTED = ["localhost:5000", "127.0.0.1:5000", "[::1]:5000", "LOCALHOST:5000", "127.1.2.3:5000",
            "127.255.255.255:5000"]
REFUSED = ["127.evil.example:5000", "127.0.0.1.rebind.attacker.example:5000", "127.0.0.1.nip.io:5000",
           "attacker.example:5000", "localhost:5001", "127.0.0.1:50000", "127.0.0.1", "localhost",
           "[::1]", "localhost.:5000", "0177.0.0.1:5000", "127.0.0.01:5000", "127.0.0.256:5000",
           "127.0.0:5000", "[::2]:5000", "[::1:5000", "[::1]5000", "localhost:", "localhost:+5000",
           "127.0.0.1:5000:5000", "", "localhost:5000 ", "１２７.0.0.1:5000", "127.0.0.１:5000"]


@pytest.mark.parametrize("value", ACCEPTED)
def test_literal_loopback_hosts_with_the_port_are_answered(value):
    assert HostCheck(5000).allows(value.encode())


@pytest.mark.parametrize("value", REFUSED)
def test_everything_else_is_refused(value):
    assert not HostCheck(5000).allows(value.encode("utf-8"))


def test_no_port_only_on_the_default_port():
    check = HostCheck(80)
    assert check.allows(b"localhost") and check.allows(b"127.0.0.1") and check.allows(b"[::1]")
    assert check.allows(b"localhost:80") and not check.allows(b"localhost:8080")


def test_a_request_without_host_is_answered():
    assert HostCheck(5000).allows(None)


def test_only_loopback_binds_are_checked():
    assert host_check("127.0.0.1", 5000) is not None and host_check("::1", 5000) is not None
    assert host_check("localhost", 5000) is not None
    assert host_check("0.0.0.0", 5000) is None and host_check("192.168.1.4", 5000) is None
    assert not is_loopback("127.evil.example")


@given(st.one_of(st.text(max_size=40), st.sampled_from(["::1", "127.0.0.1", "[::1]", "LocalHost", "127.00.0.1"])))
def test_any_name_that_is_not_a_literal_loopback_is_refused(name):
    literal = name.lower() in ("localhost", "[::1]") or (is_loopback(name) and name.count(".") == 3)
    assert HostCheck(5000).allows(f"{name}:5000".encode("utf-8", "surrogateescape")) == literal
