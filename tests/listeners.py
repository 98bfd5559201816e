"""Listening TCP sockets of a process tree, read from /proc: what the local stack and its tasks open, for the
check that everything listens on loopback only."""

from __future__ import annotations

import ipaddress
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Listener:
    address: str
    port: int
    pid: int
    command: str


def wait_for_listeners(info, pg_data: Path, timeout: float = 60) -> set[Listener]:
    """The stack's and PostgreSQL's listeners once the api-server and both log servers listen (the log servers
    start alongside the scheduler and the triggerer, so they may come up after the health check passes)."""
    deadline = time.monotonic() + timeout
    while True:
        found = current_listeners(info, pg_data)
        log_servers = [item for item in found if "serve-logs" in item.command]
        if (any(item.port == info.port for item in found) and len(log_servers) >= 2) or time.monotonic() > deadline:
            return found
        time.sleep(1)


def current_listeners(info, pg_data: Path) -> set[Listener]:
    """TCP sockets in LISTEN state held by the stack's processes or the embedded PostgreSQL."""
    pids = stack_pids(info.pid) | postgres_pids(pg_data)
    by_inode = listening_inodes()
    found = set()
    for pid in pids:
        for inode in socket_inodes(pid):
            if inode in by_inode:
                address, port = by_inode[inode]
                found.add(Listener(address, port, pid, command_of(pid)))
    return found


def is_loopback(address: str) -> bool:
    """127.0.0.0/8 and ::1, and IPv4 loopback written as IPv6 (Java's ::ffff:127.0.0.1)."""
    ip = ipaddress.ip_address(address)
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or bool(mapped and mapped.is_loopback)


def listening_inodes() -> dict[int, tuple[str, int]]:
    """inode -> (address, port) of every listening TCP socket in this network namespace."""
    found = {}
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] != "0A":  # TCP_LISTEN
                continue
            hex_address, hex_port = fields[1].split(":")
            found[int(fields[9])] = (proc_address(hex_address, family), int(hex_port, 16))
    return found


def proc_address(hex_address: str, family: int) -> str:
    """/proc/net/tcp* print an address as 32-bit words in host (little-endian) order."""
    raw = bytes.fromhex(hex_address)
    host_order = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    return socket.inet_ntop(family, host_order)


def stack_pids(leader: int) -> set[int]:
    """The stack's process group and every descendant of its leader: Airflow puts each task process in a
    group of its own (`setpgid` in the task supervisor), and with it whatever the task starts (Spark's JVM)."""
    parents: dict[int, int] = {}
    pids = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()  # after "pid (comm)"
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        parents[int(entry.name)] = int(fields[1])
        if int(fields[2]) == leader:  # the process group
            pids.add(int(entry.name))
    seen, frontier = {leader}, {leader}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - seen
        seen |= frontier
    return pids | seen


def postgres_pids(pg_data: Path) -> set[int]:
    """The postmaster (the only PostgreSQL process that listens)."""
    pid_file = pg_data / "postmaster.pid"
    return {int(pid_file.read_text().split()[0])} if pid_file.exists() else set()


def socket_inodes(pid: int) -> set[int]:
    inodes = set()
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(int(target[8:-1]))
    except (FileNotFoundError, ProcessLookupError):
        pass  # the process ended meanwhile
    return inodes


def command_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except FileNotFoundError:
        return "?"
