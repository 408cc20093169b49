"""knxd serving KNXnet/IP tunnelling in a private network namespace: `KnxdBus` and `probe`."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import socket
import struct
import subprocess
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from .netns import (
    GATEWAY_IP,
    KNX_PORT,
    NS_PREFIX,
    BusError,
    BusUnavailableError,
    _netns_inode,
    _pids_in_netns,
    _proc_comm,
    _proc_start_ticks,
    _same_process,
    list_namespaces,
    netns_context,
    socket_in_netns,
    unavailable_reason,
)
from .state import BusState, _run, _stop_pid, _teardown_namespace, default_state_dir

_NS_NAME_RE = re.compile(r"^knxevse-[A-Za-z0-9_.-]{1,48}$")

KNXD_INI_TEMPLATE = """\
# Written by knxbus/knxd.py for namespace {ns}. Tunnelling only, knxd's own routing stays off.
[main]
addr=0.0.1
client-addrs=0.0.2:8
connections=server,A.dummy

[A.dummy]
driver=dummy

[server]
server=ets_router
tunnel=tunnel
interface=lo
port={port}
discover=true

[tunnel]
"""


# --------------------------------------------------------------------------- KNXnet/IP probe


def _description_request(local: tuple[str, int]) -> bytes:
    """KNXnet/IP DESCRIPTION_REQUEST (0x0203) with a UDP control HPAI naming ``local``."""
    hpai = struct.pack("!BB4sH", 8, 1, socket.inet_aton(local[0]), local[1])
    return struct.pack("!BBHH", 6, 0x10, 0x0203, 6 + len(hpai)) + hpai


def _parse_description(data: bytes) -> dict[str, Any]:
    """Pick name and individual address out of a DESCRIPTION_RESPONSE (0x0204)."""
    if len(data) < 6 + 54 or data[2:4] != b"\x02\x04":
        raise BusError(f"not a KNXnet/IP description response: {data[:8].hex()}")
    dib = data[6 : 6 + data[6]]
    address = struct.unpack("!H", dib[4:6])[0]
    name = dib[24:54].split(b"\0", 1)[0].decode("latin-1")
    return {
        "name": name,
        "individual_address": f"{address >> 12}.{(address >> 8) & 0xF}.{address & 0xFF}",
    }


def probe(ns: str, port: int = KNX_PORT, timeout: float = 1.0) -> dict[str, Any] | None:
    """Ask the KNXnet/IP server at 127.0.0.1:``port`` in ``ns`` for its description.

    Returns ``{"name": str, "individual_address": "a.l.d", "rtt_ms": float}`` or None if nothing
    answered within ``timeout`` seconds. Raises `BusError` if ``ns`` does not exist.
    """
    sock = socket_in_netns(ns, socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind((GATEWAY_IP, 0))
        sock.connect((GATEWAY_IP, port))
        request = _description_request(sock.getsockname())
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            sent = time.perf_counter()
            try:
                sock.send(request)
                sock.settimeout(min(left, 0.05))
                data = sock.recv(1024)
            except ConnectionRefusedError:  # ICMP port unreachable: nothing bound yet
                time.sleep(min(0.01, max(deadline - time.monotonic(), 0)))
                continue
            except TimeoutError:
                continue
            info = _parse_description(data)
            info["rtt_ms"] = round((time.perf_counter() - sent) * 1000, 3)
            return info
        return None
    finally:
        sock.close()


# --------------------------------------------------------------------------- the bus


class KnxdBus:
    """knxd serving KNXnet/IP tunnelling on 127.0.0.1:``port`` inside a private network namespace.

    Usage::

        with KnxdBus() as bus:                       # start() ... stop()
            subprocess.run(bus.exec_args(["python", "client.py"]))
            with bus.entered():                      # this thread is now in bus.ns
                ...                                  # xknx clients to 127.0.0.1:3671

    Attributes: ``ns`` (namespace name), ``gateway_ip`` ("127.0.0.1"), ``port`` (UDP, default 3671),
    ``knxd_pid`` (None while knxd is not running), ``last_start_seconds`` (spawn until knxd answered a
    description request, for the last `start_knxd`).

    Not thread-safe: drive one bus from one thread. `start`, `start_knxd`, `restart` and `probe` open
    a UDP socket (to 127.0.0.1 in the namespace), so under pytest-socket they need sockets enabled.
    """

    def __init__(
        self,
        *,
        ns: str | None = None,
        port: int = KNX_PORT,
        owner_pid: int | None = None,
        state_dir: Path | str | None = None,
        ready_timeout: float = 10.0,
        knxd: str = "knxd",
    ) -> None:
        """Describe a bus; nothing happens before `start`.

        ``ns`` must match ``knxevse-[A-Za-z0-9_.-]+`` (default: a fresh unique name). ``owner_pid``
        is the process whose death makes the bus stale (default: this process). ``ready_timeout`` is
        in seconds. Raises ValueError for a bad name.
        """
        self.owner_pid = owner_pid or os.getpid()
        self.ns = ns or f"{NS_PREFIX}{self.owner_pid}-{secrets.token_hex(3)}"
        if not _NS_NAME_RE.match(self.ns):
            raise ValueError(f"namespace name must match {_NS_NAME_RE.pattern}: {self.ns!r}")
        self.port = port
        self.gateway_ip = GATEWAY_IP
        self.state_dir = Path(state_dir) if state_dir else default_state_dir()
        self.ready_timeout = ready_timeout
        self.knxd = knxd
        self.knxd_pid: int | None = None
        self.last_start_seconds: float | None = None
        self._knxd_start: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._state = BusState(
            ns=self.ns, owner_pid=self.owner_pid, owner_start=_proc_start_ticks(self.owner_pid), port=port
        )

    # paths ---------------------------------------------------------------
    @property
    def workdir(self) -> Path:
        """``STATE_DIR/<ns>``: state.json, knxd.ini, knxd.log."""
        return self.state_dir / self.ns

    @property
    def state_file(self) -> Path:
        """``STATE_DIR/<ns>/state.json``."""
        return self.workdir / "state.json"

    @property
    def ini_path(self) -> Path:
        """Path of the knxd configuration file."""
        return self.workdir / "knxd.ini"

    @property
    def log_path(self) -> Path:
        """Path of the knxd log (stdout and stderr, appended across restarts)."""
        return self.workdir / "knxd.log"

    @classmethod
    def attach(cls, ns: str, *, state_dir: Path | str | None = None) -> KnxdBus:
        """Rebuild a handle on a running bus (for example one started by another process) from its state.

        Raises `BusError` if there is no readable state for ``ns``.
        """
        directory = Path(state_dir) if state_dir else default_state_dir()
        try:
            state = BusState.load(directory / ns / "state.json")
        except (OSError, ValueError) as err:
            raise BusError(f"no state for bus {ns!r} in {directory}: {err}") from err
        bus = cls(ns=ns, port=state.port, owner_pid=state.owner_pid, state_dir=directory)
        bus._state = state
        bus.knxd_pid, bus._knxd_start = state.knxd_pid, state.knxd_start
        return bus

    # lifecycle -----------------------------------------------------------
    def start(self) -> Self:
        """Create the namespace, start knxd in it and wait until it answers.

        Returns self. Raises `BusUnavailableError` if this machine cannot run it, `BusError` if set-up
        fails (everything already created is torn down again) or knxd is not ready in
        ``ready_timeout`` s.
        """
        if reason := unavailable_reason():
            raise BusUnavailableError(reason)
        if self.ns in list_namespaces():
            raise BusError(f"network namespace {self.ns!r} already exists")
        self.state_dir.mkdir(mode=0o755, parents=True, exist_ok=True)
        try:
            self.workdir.mkdir(mode=0o700)
        except FileExistsError:
            raise BusError(f"{self.workdir} exists: a bus of that name was not cleaned up") from None
        self._state.created_at = time.time()
        self._state.save(self.state_file)  # before the namespace exists: a crash leaves a trace
        try:
            _run(["ip", "netns", "add", self.ns])
            _run(self.exec_args(["ip", "link", "set", "lo", "up"]))
            _run(self.exec_args(["ip", "route", "replace", "224.0.0.0/4", "dev", "lo", "src", GATEWAY_IP]))
            self.ini_path.write_text(KNXD_INI_TEMPLATE.format(ns=self.ns, port=self.port))
            self.start_knxd()
        except BaseException:
            self.stop()
            raise
        return self

    def start_knxd(self) -> float:
        """Start knxd in the (existing) namespace and wait until it answers; return seconds taken.

        Raises `BusError` if knxd is already running in the namespace, exits, or is not ready in time
        (then it is stopped again; the log tail is in the message).
        """
        inode = _netns_inode(self.ns)
        if inode is None:
            raise BusError(f"network namespace {self.ns!r} does not exist (start() first)")
        if self.knxd_running:
            raise BusError(f"knxd already running in {self.ns} (pid {self.knxd_pid})")
        if stray := [p for p in _pids_in_netns(inode) if _proc_comm(p) == "knxd"]:
            raise BusError(f"another knxd is already running in {self.ns}: pids {stray}")
        started = time.perf_counter()
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(  # `ip netns exec` execs knxd: same pid
                self.exec_args([self.knxd, str(self.ini_path)]),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C to our terminal doesn't hit knxd before we stop it
                close_fds=True,
            )
        self.knxd_pid = self._proc.pid
        self._knxd_start = _proc_start_ticks(self.knxd_pid)
        self._state.knxd_pid, self._state.knxd_start = self.knxd_pid, self._knxd_start
        self._state.save(self.state_file)
        deadline = time.monotonic() + self.ready_timeout
        while True:
            if self._proc.poll() is not None:
                code = self._proc.returncode
                self.stop_knxd()
                raise BusError(f"knxd exited with {code} in {self.ns}: {self._log_tail()}")
            if probe(self.ns, self.port, timeout=0.2) is not None:
                break
            if time.monotonic() > deadline:
                self.stop_knxd()
                raise BusError(
                    f"knxd not ready after {self.ready_timeout} s in {self.ns}: {self._log_tail()}"
                )
        self.last_start_seconds = time.perf_counter() - started
        return self.last_start_seconds

    def stop_knxd(self, timeout: float = 3.0) -> bool:
        """Stop our knxd by pid (SIGTERM, SIGKILL after ``timeout`` s). Returns False if it was not running.

        The namespace stays, so tunnel clients see the gateway vanish (for fault tests).
        """
        pid, self.knxd_pid = self.knxd_pid, None
        stopped = pid is not None and _stop_pid(pid, self._knxd_start, timeout, self._proc)
        self._proc = None
        self._state.knxd_pid = self._state.knxd_start = None
        if self.state_file.exists():
            self._state.save(self.state_file)
        return stopped

    def restart(self) -> float:
        """Stop knxd and start it again in the same namespace; return seconds until it answered.

        Existing tunnels are lost: knxd forgets them. A client notices on its next send or heartbeat.
        """
        self.stop_knxd()
        return self.start_knxd()

    def stop(self) -> list[int]:
        """Stop knxd, delete the namespace and the state directory. Idempotent.

        Returns the pids of processes still inside the namespace when it was deleted (not ours to
        kill; the namespace lives on anonymously until they exit). Raises `BusError` if knxd or the
        namespace cannot be removed.
        """
        self.stop_knxd()
        return _teardown_namespace(self.ns, self.workdir)[1]

    @property
    def knxd_running(self) -> bool:
        """True if the knxd we started is alive."""
        return _same_process(self.knxd_pid, self._knxd_start)

    def __enter__(self) -> Self:
        """Start the bus unless it is already running."""
        return self if self.knxd_running else self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Stop the bus."""
        self.stop()

    # using it ------------------------------------------------------------
    def exec_args(self, cmd: Sequence[str]) -> list[str]:
        """Argv that runs ``cmd`` inside the namespace: ``["ip", "netns", "exec", ns, *cmd]``."""
        return ["ip", "netns", "exec", self.ns, *cmd]

    def entered(self) -> contextlib.AbstractContextManager[None]:
        """``with bus.entered():`` runs the block with the calling thread in the namespace (`netns_context`)."""
        return netns_context(self.ns)

    def probe(self, timeout: float = 1.0) -> dict[str, Any] | None:
        """Send knxd a description request (see module-level `probe`); None if it does not answer."""
        return probe(self.ns, self.port, timeout)

    def state(self) -> dict[str, Any]:
        """JSON-able summary: ns, owner, knxd pid and liveness, gateway, paths, ``exec_prefix`` argv."""
        return {
            **asdict(self._state),
            "gateway_ip": self.gateway_ip,
            "knxd_running": self.knxd_running,
            "owner_alive": _same_process(self._state.owner_pid, self._state.owner_start),
            "ns_exists": self.ns in list_namespaces(),
            "workdir": str(self.workdir),
            "log": str(self.log_path),
            "exec_prefix": self.exec_args([]),
            "last_start_seconds": self.last_start_seconds,
        }

    def _log_tail(self, lines: int = 10) -> str:
        try:
            return " | ".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
