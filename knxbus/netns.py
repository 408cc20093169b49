"""Network namespaces for the test bus: constants, errors, availability, /proc helpers, entering one."""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

NS_PREFIX = "knxevse-"
"""Every namespace this module creates is named ``knxevse-<owner pid>-<6 hex digits>``."""
KNX_PORT = 3671
"""UDP port knxd serves tunnelling on, inside the namespace."""
GATEWAY_IP = "127.0.0.1"
"""Address of knxd for clients inside the namespace."""
NETNS_DIR = Path("/run/netns")
CLONE_NEWNET = 0x40000000


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
