"""State files of the test buses, stopping knxd, deleting namespaces, and cleaning up stale buses."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .netns import (
    KNX_PORT,
    NS_PREFIX,
    BusError,
    _netns_inode,
    _pids_in_netns,
    _proc_comm,
    _proc_start_ticks,
    _same_process,
    list_namespaces,
)

_NS_OWNER_RE = re.compile(r"^knxevse-(\d+)-")


# --------------------------------------------------------------------------- state


def default_state_dir() -> Path:
    """Directory of one sub-directory per bus.

    ``$KNXEVSE_STATE_DIR``, else ``/run/knxevse`` as root, else ``$XDG_RUNTIME_DIR/knxevse``, else
    ``/tmp/knxevse-<uid>``.
    """
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
