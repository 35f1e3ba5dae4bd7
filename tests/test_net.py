"""The loopback Host check shared by `mlctl serve` and `mlctl ui` (DNS rebinding)."""

from __future__ import annotations

import socket
import sys

import pytest
from hypothesis import given, strategies as st

from mlctl.errors import UsageError
from mlctl.net import HostCheck, bind_listener, bind_listeners, host_check, is_loopback

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


# -- listening sockets ----------------------------------------------------------------------------
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SO_REUSEPORT spreads only on Linux")


@linux_only
def test_one_socket_per_worker_on_one_port():
    group = bind_listeners("127.0.0.1", 0, 3)
    try:
        assert len({id(s) for s in group}) == 3
        assert len({s.getsockname()[1] for s in group}) == 1
        assert all(s.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) for s in group)
        assert all(s.get_inheritable() for s in group)
    finally:
        for s in group:
            s.close()


@linux_only
def test_one_worker_gets_a_socket_no_one_can_join():
    [sock] = bind_listeners("127.0.0.1", 0, 1)
    try:
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 0
    finally:
        sock.close()


@pytest.mark.parametrize("count", [1, 2])
def test_a_port_held_by_a_group_or_a_plain_socket_stays_an_error(count):
    """A second server on the port fails, as with one worker: the group does not let
    another SO_REUSEPORT socket join it unnoticed."""
    first = bind_listeners("127.0.0.1", 0, count)
    port = first[0].getsockname()[1]
    try:
        for held_by_group in (True, False):
            with pytest.raises(UsageError, match=f"port {port} on 127.0.0.1 is already in use"):
                bind_listeners("127.0.0.1", port, 2 if held_by_group else 1)
    finally:
        for s in set(first):
            s.close()
    plain = bind_listener("127.0.0.1", port)  # and every socket was released
    plain.close()

