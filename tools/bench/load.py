"""Load: the measured modes (wrk), idle connections for the memory mode,
and a tiny sequential keep-alive client (sanity checks, callgrind)."""

import re
import socket
import subprocess
import time
from dataclasses import dataclass, field

from procs import tree_cpu_seconds, tree_rss_kib


@dataclass
class Mode:
    key: str
    title: str          # for the table
    short: str          # for the chart
    path: str = "/small"
    connections: int = 50
    headers: list = field(default_factory=list)


MODES = [
    Mode("small", "keep-alive, 50 conns, 5 B", "ka 5 B"),
    Mode("4k", "keep-alive, 50 conns, 4 KiB", "ka 4 KiB", path="/4k"),
    Mode("64k", "keep-alive, 50 conns, 64 KiB", "ka 64 KiB", path="/64k"),
    Mode("close", "Connection: close, 50 conns, 5 B", "close",
         headers=["Connection: close"]),
    Mode("c500", "keep-alive, 500 conns, 5 B", "ka 500 conns", connections=500),
]
MODE_BY_KEY = {m.key: m for m in MODES}
IDLE_KEY = "idle"


def wrk_argv(port, mode, duration, threads):
    argv = ["wrk", f"-t{threads}", f"-c{mode.connections}", f"-d{duration}s", "--latency",
            "--timeout", "10s"]
    for header in mode.headers:
        argv += ["-H", header]
    return argv + [f"http://127.0.0.1:{port}{mode.path}"]


_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(text):
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise ValueError(f"unexpected wrk time {text!r}")
    return float(match.group(1)) * _UNIT[match.group(2)]


def parse_wrk(out):
    def grab(pattern):
        match = re.search(pattern, out, re.MULTILINE)
        if not match:
            raise RuntimeError(f"wrk output without {pattern!r}:\n{out}")
        return match

    result = {
        "requests": int(grab(r"^\s*(\d+) requests in")[1]),
        "rps": float(grab(r"^Requests/sec:\s*([\d.]+)")[1]),
        "p50_ms": _ms(grab(r"^\s*50%\s+(\S+)")[1]),
        "p99_ms": _ms(grab(r"^\s*99%\s+(\S+)")[1]),
        "errors": 0,
    }
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       out)
    if errors:
        result["errors"] += sum(int(n) for n in errors.groups())
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        result["errors"] += int(non2xx.group(1))
    return result


def run_wrk(argv, timeout):
    out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({out.returncode}):\n{out.stderr}")
    return out.stdout


def measure_load(target, mode, duration, warmup, threads, origin=None):
    """Warm up, then one wrk run with the CPU time of the target's process
    tree (and the origin's, for reference) sampled before and after."""
    if warmup > 0:
        run_wrk(wrk_argv(target.port, mode, warmup, threads), warmup + 30)
        time.sleep(0.3)
    cpu0 = tree_cpu_seconds(target.pid)
    origin0 = tree_cpu_seconds(origin.pid) if origin else 0.0
    out = run_wrk(wrk_argv(target.port, mode, duration, threads), duration + 60)
    cpu1 = tree_cpu_seconds(target.pid)
    origin1 = tree_cpu_seconds(origin.pid) if origin else 0.0
    result = parse_wrk(out)
    n = max(result["requests"], 1)
    result["cpu_us"] = (cpu1 - cpu0) * 1e6 / n
    if origin and origin.pid != target.pid:
        result["origin_cpu_us"] = (origin1 - origin0) * 1e6 / n
    return result


# ---------------------------------------------------------------- raw HTTP

def request_bytes(path="/small", extra=""):
    return f"GET {path} HTTP/1.1\r\nHost: bench.local\r\n{extra}\r\n".encode()


def read_response(sock, pending=b""):
    """Reads one response (Content-Length or chunked); returns (status,
    body length, bytes already read of the next response)."""
    buf = pending
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the response head")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    fields = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip()
    if "content-length" in fields:
        length = int(fields["content-length"])
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed in the response body")
            rest += chunk
        return status, length, rest[length:]
    if "chunked" in fields.get("transfer-encoding", "").lower():
        while b"\r\n0\r\n\r\n" not in rest and not rest.startswith(b"0\r\n\r\n"):
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed in a chunked body")
            rest += chunk
        end = rest.index(b"0\r\n\r\n") + 5
        return status, end, rest[end:]
    return status, 0, rest


def keepalive_requests(port, count, path="/small"):
    """count sequential requests on one connection; returns body sizes seen."""
    sizes = set()
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        pending, request = b"", request_bytes(path)
        for _ in range(count):
            sock.sendall(request)
            status, size, pending = read_response(sock, pending)
            if status != 200:
                raise RuntimeError(f"port {port} {path}: status {status}")
            sizes.add(size)
    return sizes


# ---------------------------------------------------------------- idle memory

def _open(port, count):
    socks = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        socks.append(sock)
    return socks


IDLE_BATCH = 50  # connections with a request in flight at once (= the warm-up's)


def _one_request_each(socks, batch=IDLE_BATCH):
    """One request per connection, batch connections in flight at a time."""
    request = request_bytes()
    for start in range(0, len(socks), batch):
        group = socks[start:start + batch]
        for sock in group:
            sock.sendall(request)
        for sock in group:
            status, _, _ = read_response(sock)
            if status != 200:
                raise RuntimeError(f"idle mode: status {status}")


def _closed_count(socks):
    closed = 0
    for sock in socks:
        sock.setblocking(False)
        try:
            if sock.recv(1, socket.MSG_PEEK) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
    return closed


def measure_idle(target, count, settle=1.0):
    """RSS growth of the target's process tree per idle keep-alive
    connection: fresh (accepted, nothing sent) and after one request each.
    A warm-up with the same concurrency first fills the upstream pool, so the
    growth is what the client connections themselves cost."""
    warm = _open(target.port, IDLE_BATCH)
    _one_request_each(warm)
    for sock in warm:
        sock.close()
    time.sleep(settle / 2)
    base = tree_rss_kib(target.pid)
    socks = []
    try:
        socks = _open(target.port, count)
        time.sleep(settle)
        fresh = tree_rss_kib(target.pid)
        _one_request_each(socks)
        time.sleep(settle)
        idle = tree_rss_kib(target.pid)
        closed = _closed_count(socks)
    finally:
        for sock in socks:
            sock.close()
    time.sleep(settle / 2)
    return {
        "base_kib": base,
        "fresh_kib_per_conn": (fresh - base) / count,
        "idle_kib_per_conn": (idle - base) / count,
        "closed": closed,
    }
