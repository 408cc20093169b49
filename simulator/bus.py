"""A real KNX/IP bus for end-to-end tests and the demo: knxd inside a private network namespace.

Why a namespace
    knxd joins the KNX multicast group 224.0.23.12 even when it only serves tunnelling. In the host's
    network namespace that sends IGMP membership reports to the real LAN, so knxd must never run
    there. `KnxdBus` creates a namespace of its own (name ``knxevse-<owner pid>-<6 hex>``) that has
    only ``lo``, up, with the route ``224.0.0.0/4 dev lo src 127.0.0.1`` (without it knxd exits with
    "Link down"), and starts knxd inside it with ``ip netns exec``. knxd then serves KNXnet/IP
    tunnelling over UDP on 127.0.0.1:3671 *of that namespace* (8 tunnel slots, individual addresses
    0.0.2-0.0.9, knxd's own routing off). Nothing is reachable from the host namespace.

Who runs where
    Every tunnel client (Home Assistant, the simulator, pytest) runs inside the same namespace and uses
    ``ConnectionConfig(connection_type=ConnectionType.TUNNELING, gateway_ip="127.0.0.1",
    gateway_port=3671, local_ip="127.0.0.1")``. Three ways in:

    * a whole process: ``ip netns exec NS CMD...`` (`KnxdBus.exec_args` builds that argv);
    * one thread of this process: ``with netns_context(ns):`` (``os.setns``). On Linux the network
      namespace belongs to a thread, not to the process. A socket keeps the namespace it was created
      in for its whole life, and a new thread starts in the namespace of the thread that created it.
      The e2e tests use this: a fixture moves the main thread, where pytest-asyncio runs the event
      loop, into the namespace for one test and back afterwards. Sockets made in that time (xknx's UDP
      tunnel, also with xknx's ``threaded=True``, whose thread is created then) live in the namespace.
      Threads started earlier (executor pools) stay where they were;
    * one socket: `socket_in_netns` (a short-lived helper thread enters the namespace, creates the
      socket and exits).

Reaching Home Assistant from the host (recommended approach)
    Run Home Assistant inside the namespace like every other bus client
    (``ip netns exec NS .venv/bin/hass -c CONFIG``; it listens on port 8123 there, where only ``lo``
    exists), and run a TCP forwarder in the host namespace::

        python -m simulator.bus forward NS 8123        # host 127.0.0.1:8123 -> NS 127.0.0.1:8123

    `forward_tcp` listens on host 127.0.0.1 only. For each accepted connection it creates the
    upstream socket inside the namespace (see `socket_in_netns`), connects it to 127.0.0.1:8123 there
    and copies bytes both ways, half-closes included, so HTTP and websockets both work. So Home
    Assistant is reachable from the host at http://127.0.0.1:8123 and only there. The forwarder is pure
    Python (asyncio), needs root only for ``setns``, and holds no state in the host namespace beyond
    its listening socket; stopping it (SIGINT/SIGTERM) is the whole cleanup.

    Alternatives considered and rejected:

    * a veth pair: the host end needs an address, a route and NAT or ``route_localnet`` to appear as
      127.0.0.1:8123, and it leaves state in the host namespace that a crashed run can leak;
    * Home Assistant in the host namespace with only UDP 3671 bridged: KNXnet/IP carries the client's
      IP address and port inside its payload (HPAI), so a relay has to keep a mapping per tunnel and
      rewrite or ``route_back``; 3671 on the host's 127.0.0.1 would also collide between parallel runs;
    * socat (``TCP-LISTEN:8123,bind=127.0.0.1,fork EXEC:'ip netns exec NS socat STDIO TCP:...'``): an
      extra package and two processes per connection.

    Consequence: a process in the namespace has no route to the internet. Home Assistant must find
    every requirement already installed (pre-install them; ``hass --skip-pip`` makes this explicit),
    and anything that calls the cloud fails at once with "Network is unreachable".

State and cleanup
    Each bus writes ``STATE_DIR/<ns>/state.json`` (plus ``knxd.ini`` and ``knxd.log``) before it
    creates the namespace. STATE_DIR is ``$KNXEVSE_STATE_DIR``, else ``/run/knxevse`` as root, else
    ``$XDG_RUNTIME_DIR/knxevse``, else ``/tmp/knxevse-<uid>``. The state names the owner process
    (pid and start time) and the knxd process (pid and start time). `cleanup_stale` tears down every
    bus whose owner is dead: it stops the recorded knxd (only if pid, start time and name still match)
    and any other knxd inside that namespace (only this module starts knxd in a ``knxevse-``
    namespace), deletes the namespace and the state. Namespaces with our prefix but without state are
    handled by the owner pid in their name. Other processes are never killed; those still inside a
    deleted namespace are reported (``left_pids``).

Figures (measured on a 2-core VM, knxd 0.14.54, xknx 4.0.0)
    ``start()`` about 30-40 ms in all, of which knxd needs 12-25 ms until it answers; ``restart()``
    12-17 ms; ``stop()`` about 7 ms. Two tunnel clients connect in under 2 ms. A GroupValueWrite
    from one client reaches the other in about 0.4 ms; write -> echo round trip about 0.7 ms (1.2 ms
    with ``threaded=True``); a burst of 2000 writes arrives complete at about 3300 telegrams/s. After
    a knxd restart, a client that sends reconnects by itself about 2 s later (two missed ACKs); one
    that only listens notices at its next heartbeat.

Command line (prints JSON on stdout; exit status 0 ok, 1 error, 2 bus unavailable on this machine)::

    python -m simulator.bus start [--owner-pid PID] [--name NS] [--port 3671] [--field F]
    python -m simulator.bus stop [NS ...]          # no NS: the buses owned by the calling process
    python -m simulator.bus restart NS             # restart knxd only, same namespace
    python -m simulator.bus status [NS ...]
    python -m simulator.bus cleanup
    python -m simulator.bus forward NS HOST_PORT [NS_PORT] [--host 127.0.0.1]   # runs until SIGTERM

The owner of a bus started from the command line defaults to the *parent* process (the calling
shell script). Pass ``--owner-pid $$`` from bash to be explicit: a bus whose owner exits is fair game
for anybody's ``cleanup``. ``--field ns`` prints just that value (``NS=$(... start --field ns
--owner-pid $$)``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import ipaddress
import json
import os
import re
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

NS_PREFIX = "knxevse-"
"""Every namespace this module creates is named ``knxevse-<owner pid>-<6 hex digits>``."""
KNX_PORT = 3671
"""UDP port knxd serves tunnelling on, inside the namespace."""
GATEWAY_IP = "127.0.0.1"
"""Address of knxd for clients inside the namespace."""
NETNS_DIR = Path("/run/netns")
CLONE_NEWNET = 0x40000000

_NS_NAME_RE = re.compile(r"^knxevse-[A-Za-z0-9_.-]{1,48}$")
_NS_OWNER_RE = re.compile(r"^knxevse-(\d+)-")

KNXD_INI_TEMPLATE = """\
# Written by simulator/bus.py for namespace {ns}. Tunnelling only, knxd's own routing stays off.
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


class BusError(RuntimeError):
    """The namespace or knxd could not be set up, reached or torn down. The message says why."""


class BusUnavailableError(BusError):
    """The bus cannot run on this machine at all (not root, no ``ip netns``, no knxd). ``str()`` is the reason."""


# --------------------------------------------------------------------------- availability


def unavailable_reason() -> str | None:
    """Return why the bus cannot run here, or None if it can.

    Checks: Linux, effective uid 0 (namespaces need CAP_SYS_ADMIN), ``ip`` with a working ``netns``
    subcommand, and ``knxd`` on PATH. Cheap (one ``ip netns list``); meant for pytest ``skipif``.
    """
    if not sys.platform.startswith("linux"):
        return "network namespaces need Linux"
    if os.geteuid() != 0:
        return "needs root to create network namespaces (run the e2e tests as root, as CI does)"
    if shutil.which("ip") is None:
        return "`ip` (iproute2) not found"
    try:
        subprocess.run(["ip", "netns", "list"], check=True, capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError) as err:
        return f"`ip netns` does not work here: {err}"
    if shutil.which("knxd") is None:
        return "knxd not installed (apt-get install -y knxd knxd-tools)"
    return None


# --------------------------------------------------------------------------- /proc helpers


def _proc_start_ticks(pid: int) -> int | None:
    """Start time of a live process in clock ticks since boot; None if it is gone or a zombie."""
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError):
        return None
    fields = data[data.rindex(")") + 2 :].split()  # fields[0] is field 3 (state)
    if fields[0] in ("Z", "X", "x"):
        return None
    return int(fields[19])  # field 22: starttime


def _proc_comm(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None


def _same_process(pid: int | None, start_ticks: int | None) -> bool:
    """Tell whether ``pid`` is alive and (when known) started at ``start_ticks``, i.e. was not reused."""
    if not pid:
        return False
    ticks = _proc_start_ticks(pid)
    return ticks is not None and (start_ticks is None or ticks == start_ticks)


def pid_alive(pid: int) -> bool:
    """Tell whether process ``pid`` exists and is not a zombie."""
    return _proc_start_ticks(pid) is not None


def _netns_inode(ns: str) -> int | None:
    try:
        return (NETNS_DIR / ns).stat().st_ino
    except OSError:
        return None


def _pids_in_netns(inode: int) -> list[int]:
    """Live processes whose main thread is in the network namespace with this inode."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "ns" / "net").stat().st_ino == inode and _proc_start_ticks(int(entry.name)):
                pids.append(int(entry.name))
        except OSError:
            continue
    return sorted(pids)


def list_namespaces() -> list[str]:
    """Names of all named network namespaces (``/run/netns``), ours or not, sorted."""
    try:
        return sorted(p.name for p in NETNS_DIR.iterdir())
    except OSError:
        return []


# --------------------------------------------------------------------------- entering a namespace


def _setns(fd: int) -> None:
    if hasattr(os, "setns"):  # Python >= 3.12
        os.setns(fd, CLONE_NEWNET)
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _open_netns(ns: str) -> int:
    try:
        return os.open(NETNS_DIR / ns, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise BusError(f"network namespace {ns!r} does not exist") from None


@contextlib.contextmanager
def netns_context(ns: str) -> Iterator[None]:
    """Move the *calling thread* into network namespace ``ns`` for the ``with`` block, then back.

    Only this thread moves (Linux keeps the network namespace per thread). Sockets created inside
    the block stay in ``ns`` for life, also after the block; threads started inside the block stay in
    ``ns`` too. Needs CAP_SYS_ADMIN. Raises `BusError` if ``ns`` does not exist, OSError if setns fails.
    """
    target = _open_netns(ns)
    saved = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(saved)
    finally:
        os.close(target)
        os.close(saved)


def run_in_netns[T](ns_fd: int, func: Callable[[], T]) -> T:
    """Run ``func()`` on a fresh thread that first enters the namespace open at ``ns_fd``; return its result.

    The thread ends afterwards, so no thread of this process is left in the namespace. Exceptions
    from ``func`` (or from setns) are re-raised in the caller. Blocks for the call (~0.1 ms + func).
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            _setns(ns_fd)
            box["result"] = func()
        except BaseException as err:
            box["error"] = err

    thread = threading.Thread(target=target, name="knxevse-netns-helper", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    result: T = box["result"]
    return result


def socket_in_netns(
    ns: str | int, family: int = socket.AF_INET, type: int = socket.SOCK_STREAM, proto: int = 0
) -> socket.socket:
    """Create a socket that lives in network namespace ``ns`` (a name, or an open fd of one).

    The socket can then be used from any thread; it stays in ``ns``. Raises `BusError` if the
    namespace does not exist, OSError if setns or socket creation fails.
    """
    if isinstance(ns, int):
        return run_in_netns(ns, lambda: socket.socket(family, type, proto))
    fd = _open_netns(ns)
    try:
        return run_in_netns(fd, lambda: socket.socket(family, type, proto))
    finally:
        os.close(fd)


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


# --------------------------------------------------------------------------- state


def default_state_dir() -> Path:
    """Directory holding one sub-directory per bus (see module docstring for the order of choices)."""
    if env := os.environ.get("KNXEVSE_STATE_DIR"):
        return Path(env)
    if os.geteuid() == 0:
        return Path("/run/knxevse")
    if xdg := os.environ.get("XDG_RUNTIME_DIR"):
        return Path(xdg) / "knxevse"
    return Path(f"/tmp/knxevse-{os.getuid()}")


@dataclass
class BusState:
    """What ``state.json`` records about one bus. Times are seconds (Unix time for ``created_at``)."""

    ns: str
    owner_pid: int
    owner_start: int | None
    port: int = KNX_PORT
    knxd_pid: int | None = None
    knxd_start: int | None = None
    created_at: float = 0.0

    @classmethod
    def load(cls, path: Path) -> BusState:
        """Read a state file. Raises OSError or ValueError (also for JSON errors, missing keys)."""
        raw = json.loads(path.read_text())
        try:
            return cls(**{k: raw[k] for k in cls.__dataclass_fields__ if k in raw})
        except TypeError as err:
            raise ValueError(f"{path}: {err}") from err

    def save(self, path: Path) -> None:
        """Write atomically (temp file + rename)."""
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=1) + "\n")
        tmp.replace(path)


def _run(args: Sequence[str]) -> None:
    proc = subprocess.run(list(args), capture_output=True, text=True, timeout=30, check=False)
    if proc.returncode != 0:
        raise BusError(f"`{' '.join(args)}` failed ({proc.returncode}): {proc.stderr.strip()}")


def _stop_pid(
    pid: int, start_ticks: int | None, timeout: float, popen: subprocess.Popen[bytes] | None
) -> bool:
    """SIGTERM, then SIGKILL after ``timeout`` s, one knxd we started. False if it was already gone."""
    if not _same_process(pid, start_ticks) or _proc_comm(pid) != "knxd":
        if popen is not None:
            popen.poll()  # reap
        return False
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        if popen is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                popen.wait(wait)
                return True
        else:
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                if not _same_process(pid, start_ticks):
                    return True
                time.sleep(0.01)
    raise BusError(f"knxd pid {pid} survived SIGKILL")


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


def _teardown_namespace(ns: str, workdir: Path | None) -> tuple[list[int], list[int]]:
    """Kill every knxd inside ``ns``, delete ``ns`` and ``workdir``. Returns (knxd pids killed, pids left)."""
    killed: list[int] = []
    left: list[int] = []
    inode = _netns_inode(ns)
    if inode is not None:
        for pid in _pids_in_netns(inode):
            if _proc_comm(pid) == "knxd":  # only this module starts knxd in a knxevse- namespace
                if _stop_pid(pid, _proc_start_ticks(pid), 3.0, None):
                    killed.append(pid)
            else:
                left.append(pid)
        _run(["ip", "netns", "delete", ns])
    if workdir is not None:
        shutil.rmtree(workdir, ignore_errors=True)
    return killed, left


# --------------------------------------------------------------------------- many buses


def _owner_from_name(ns: str) -> int | None:
    match = _NS_OWNER_RE.match(ns)
    return int(match.group(1)) if match else None


def bus_status(state_dir: Path | str | None = None) -> list[dict[str, Any]]:
    """One dict per known bus (state files) and per ``knxevse-`` namespace without state.

    Keys: ``ns``, ``owner_pid``, ``owner_alive``, ``knxd_pid``, ``knxd_running``, ``ns_exists``,
    ``stale`` (owner dead: `cleanup_stale` would remove it), ``has_state``.
    """
    directory = Path(state_dir) if state_dir else default_state_dir()
    namespaces = set(list_namespaces())
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for sub in sorted(directory.glob(f"{NS_PREFIX}*")) if directory.is_dir() else []:
        seen.add(sub.name)
        try:
            state = BusState.load(sub / "state.json")
        except (OSError, ValueError):
            owner = _owner_from_name(sub.name)
            alive = owner is not None and _same_process(owner, None)
            out.append(
                {
                    "ns": sub.name,
                    "owner_pid": owner,
                    "owner_alive": alive,
                    "knxd_pid": None,
                    "knxd_running": False,
                    "ns_exists": sub.name in namespaces,
                    "stale": not alive,
                    "has_state": False,
                }
            )
            continue
        alive = _same_process(state.owner_pid, state.owner_start)
        out.append(
            {
                "ns": state.ns,
                "owner_pid": state.owner_pid,
                "owner_alive": alive,
                "knxd_pid": state.knxd_pid,
                "knxd_running": _same_process(state.knxd_pid, state.knxd_start),
                "ns_exists": state.ns in namespaces,
                "stale": not alive,
                "has_state": True,
            }
        )
    for ns in sorted(namespaces - seen):
        if not ns.startswith(NS_PREFIX):
            continue
        owner = _owner_from_name(ns)
        alive = owner is not None and _same_process(owner, None)
        inode = _netns_inode(ns)
        knxd = [p for p in _pids_in_netns(inode) if _proc_comm(p) == "knxd"] if inode else []
        out.append(
            {
                "ns": ns,
                "owner_pid": owner,
                "owner_alive": alive,
                "knxd_pid": knxd[0] if knxd else None,
                "knxd_running": bool(knxd),
                "ns_exists": True,
                "stale": not alive,
                "has_state": False,
            }
        )
    return out


def cleanup_stale(state_dir: Path | str | None = None) -> list[dict[str, Any]]:
    """Tear down every bus whose owner process is dead; leave live ones alone.

    For each: stop its knxd (by recorded pid and start time, plus any knxd inside its namespace),
    delete the namespace, remove its state directory. Returns one dict per bus removed:
    ``{"ns", "owner_pid", "knxd_stopped": [pids], "left_pids": [pids]}``. Errors for one bus are
    reported as ``"error"`` in its dict instead of raising.
    """
    directory = Path(state_dir) if state_dir else default_state_dir()
    cleaned: list[dict[str, Any]] = []
    for entry in bus_status(directory):
        if not entry["stale"]:
            continue
        ns = entry["ns"]
        result: dict[str, Any] = {
            "ns": ns,
            "owner_pid": entry["owner_pid"],
            "knxd_stopped": [],
            "left_pids": [],
        }
        try:
            if entry["has_state"]:
                state = BusState.load(directory / ns / "state.json")
                if state.knxd_pid and _stop_pid(state.knxd_pid, state.knxd_start, 3.0, None):
                    result["knxd_stopped"].append(state.knxd_pid)
            killed, result["left_pids"] = _teardown_namespace(ns, directory / ns)
            result["knxd_stopped"] += killed
        except (BusError, OSError, ValueError) as err:
            result["error"] = str(err)
        cleaned.append(result)
    return cleaned


# --------------------------------------------------------------------------- TCP forwarder


class TcpForwarder:
    """Listens in the caller's namespace, forwards each connection to ``ns_host:ns_port`` inside ``ns``.

    Create with `forward_tcp`. ``port`` is the bound listening port. ``connections`` counts accepted
    connections. Close with `close` (or ``async with``).
    """

    def __init__(self, ns: str, ns_port: int, ns_host: str = GATEWAY_IP) -> None:
        """Describe the target; `forward_tcp` starts listening."""
        self.ns = ns
        self.ns_port = ns_port
        self.ns_host = ns_host
        self.connections = 0
        self._ns_fd: int | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def port(self) -> int:
        """The listening port (useful with ``host_port=0``)."""
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def _listen(self, host: str, port: int) -> None:
        self._ns_fd = _open_netns(self.ns)
        self._server = await asyncio.start_server(self._handle, host, port, reuse_address=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None and self._ns_fd is not None
        self._tasks.add(task)
        self.connections += 1
        up_writer: asyncio.StreamWriter | None = None
        try:
            sock = socket_in_netns(self._ns_fd, socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            try:
                await asyncio.get_running_loop().sock_connect(sock, (self.ns_host, self.ns_port))
            except OSError:
                sock.close()
                return
            up_reader, up_writer = await asyncio.open_connection(sock=sock)
            pumps = {
                asyncio.create_task(_pump(reader, up_writer)),
                asyncio.create_task(_pump(up_reader, writer)),
            }
            try:
                await asyncio.wait(pumps, return_when=asyncio.FIRST_EXCEPTION)
            finally:
                for pump in pumps:
                    pump.cancel()
                await asyncio.gather(*pumps, return_exceptions=True)
        finally:
            for w in (writer, up_writer):
                if w is not None:
                    w.close()
                    with contextlib.suppress(Exception):
                        await w.wait_closed()
            self._tasks.discard(task)

    async def close(self) -> None:
        """Stop listening, drop open connections, release the namespace fd."""
        if self._server is not None:
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None
        if self._ns_fd is not None:
            os.close(self._ns_fd)
            self._ns_fd = None

    async def __aenter__(self) -> Self:
        """Return self (already listening)."""
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Close."""
        await self.close()


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until EOF, then half-close the other side. Connection errors propagate."""
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    if writer.can_write_eof():
        writer.write_eof()


async def forward_tcp(
    host_port: int, ns: str, ns_port: int, *, host: str = GATEWAY_IP, ns_host: str = GATEWAY_IP
) -> TcpForwarder:
    """Listen on ``host:host_port`` in the caller's namespace and forward TCP into ``ns_host:ns_port`` in ``ns``.

    Returns a listening `TcpForwarder` (``host_port=0`` picks a free port: see ``.port``). A
    connection that cannot be made inside ``ns`` (nothing listening) is closed at once. Needs
    CAP_SYS_ADMIN. Raises `BusError` if ``ns`` does not exist, OSError if the port is taken, and
    ValueError for a ``host`` that is not a loopback address: what it forwards (the demo's Home
    Assistant) must not be reachable from other machines.
    """
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"the forwarder listens on loopback addresses only, not {host!r}")
    forwarder = TcpForwarder(ns, ns_port, ns_host)
    try:
        await forwarder._listen(host, host_port)
    except BaseException:
        await forwarder.close()
        raise
    return forwarder


# --------------------------------------------------------------------------- command line


def _print(obj: Any) -> None:
    print(json.dumps(obj, indent=None, sort_keys=True), flush=True)


async def _serve_forward(ns: str, host_port: int, ns_port: int, host: str) -> None:
    forwarder = await forward_tcp(host_port, ns, ns_port, host=host)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    _print({"forwarding": f"{host}:{forwarder.port}", "ns": ns, "ns_port": ns_port, "pid": os.getpid()})
    await stop.wait()
    await forwarder.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m simulator.bus``; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m simulator.bus", description=__doc__.split("\n")[0])
    parser.add_argument("--state-dir", help="default: $KNXEVSE_STATE_DIR, /run/knxevse, ...")
    sub = parser.add_subparsers(dest="command", required=True)
    p_start = sub.add_parser("start", help="create a namespace with knxd; print its state")
    p_start.add_argument("--owner-pid", type=int, default=os.getppid(), help="default: the parent process")
    p_start.add_argument("--name", help=f"namespace name (must start with {NS_PREFIX})")
    p_start.add_argument("--port", type=int, default=KNX_PORT)
    p_start.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for knxd")
    p_start.add_argument("--field", help="print only this field of the state, as plain text")
    p_stop = sub.add_parser("stop", help="stop buses (default: those owned by the parent process)")
    p_stop.add_argument("ns", nargs="*")
    p_restart = sub.add_parser("restart", help="restart knxd in an existing bus")
    p_restart.add_argument("ns")
    p_status = sub.add_parser("status", help="list buses")
    p_status.add_argument("ns", nargs="*")
    sub.add_parser("cleanup", help="tear down buses whose owner process is dead")
    p_fwd = sub.add_parser("forward", help="forward host TCP HOST_PORT into the namespace (foreground)")
    p_fwd.add_argument("ns")
    p_fwd.add_argument("host_port", type=int)
    p_fwd.add_argument("ns_port", type=int, nargs="?")
    p_fwd.add_argument("--host", default=GATEWAY_IP)
    args = parser.parse_args(argv)
    state_dir = args.state_dir
    try:
        if args.command == "start":
            bus = KnxdBus(
                ns=args.name,
                port=args.port,
                owner_pid=args.owner_pid,
                state_dir=state_dir,
                ready_timeout=args.timeout,
            ).start()
            state = bus.state()
            if args.field:
                print(state[args.field], flush=True)
            else:
                _print(state)
        elif args.command == "stop":
            names = args.ns or [
                b["ns"] for b in bus_status(state_dir) if b["has_state"] and b["owner_pid"] == os.getppid()
            ]
            stopped = []
            for ns in names:
                try:
                    left = KnxdBus.attach(ns, state_dir=state_dir).stop()
                except BusError:
                    left = _teardown_namespace(ns, None)[1] if ns in list_namespaces() else []
                stopped.append({"ns": ns, "left_pids": left})
            _print({"stopped": stopped})
        elif args.command == "restart":
            bus = KnxdBus.attach(args.ns, state_dir=state_dir)
            seconds = bus.restart()
            _print({**bus.state(), "restart_seconds": seconds})
        elif args.command == "status":
            buses = [b for b in bus_status(state_dir) if not args.ns or b["ns"] in args.ns]
            for b in buses:
                b["probe"] = probe(b["ns"], timeout=0.3) if b["ns_exists"] and b["knxd_running"] else None
            _print({"buses": buses})
        elif args.command == "cleanup":
            _print({"cleaned": cleanup_stale(state_dir)})
        elif args.command == "forward":
            asyncio.run(_serve_forward(args.ns, args.host_port, args.ns_port or args.host_port, args.host))
    except BusUnavailableError as err:
        _print({"error": str(err), "unavailable": True})
        return 2
    except (BusError, OSError) as err:
        _print({"error": str(err)})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
