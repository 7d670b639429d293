"""The balance mode: how gourmet's two workers share the load with
`server.accept_balance: kernel` (SO_REUSEPORT, the kernel's hash decides)
against `least_loaded` (the accepting worker hands a connection to the other
one when that one carries less).

Each run is a fresh gourmet with 2 workers, so its per-worker counters
(logged on SIGUSR2) start at 0. A snapshot is taken just before and just
after the wrk run; connections and requests are the difference, the server
p99 is the cumulative histogram of the process. No warm-up, so that the
histogram holds the measured run only (in `busy` also the hog's requests).

Scenarios: `c50` and `c500` (keep-alive /small with 50 and 500
connections), `close` (a new connection per request, so least_loaded's
handoffs are paid on every request) and `busy`: a hog of keep-alive connections pinned on worker 0
streams /64k in a process of its own (`python3 balance.py hog ...`, so the
GIL of the bench does not slow it down) while wrk runs as in `c50`.

The hog pins its connections itself: open one, send a request, SIGUSR2, and
keep it when worker 0's `connections` went up. Connections that landed on
worker 1 are held until pinning ends and closed then: closed at once, they
would leave worker 1 empty, and least_loaded would hand every later
connection to it, so no second one could ever be pinned on worker 0.
"""

import argparse
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import time

import load
import servers

KEY = "balance"
WORKERS = 2
BALANCES = ("kernel", "least_loaded")
SCENARIOS = [
    load.Mode("c50", "keep-alive, 50 conns, 5 B", "c50"),
    load.Mode("c500", "keep-alive, 500 conns, 5 B", "c500", connections=500),
    # What handing over costs where every request is a new connection.
    load.Mode("close", "Connection: close, 50 conns, 5 B", "close",
              headers=["Connection: close"]),
    load.Mode("busy", "keep-alive, 50 conns, 5 B; worker 0 busy with a /64k hog", "busy"),
]
SCENARIO_BY_KEY = {s.key: s for s in SCENARIOS}
HOG_CONNS = 8
HOG_ATTEMPTS = 300
HOG_PATH = "/64k"
RUN_OVERHEAD = 1.0   # seconds per run beyond the duration: start, snapshots, stop
PIN_SECONDS = 1.0    # the hog's pinning, per busy run

WORKER_LINE = re.compile(
    r"worker (\d+): open (\d+), busy (\d+), connections (\d+) \((\d+) in, (\d+) out\), "
    r"requests (\d+), p50 ([\d.]+) ms, p99 ([\d.]+) ms, p99\.9 ([\d.]+) ms")
COUNTERS = ("connections", "handed_in", "handed_out", "requests")
HOG_READY = re.compile(r"^hog: ready, pinned (\d+) in (\d+) attempts", re.MULTILINE)
HOG_DONE = re.compile(r"^hog: stopped, (\d+) requests", re.MULTILINE)


def seconds(rounds, duration):
    """The estimate for bench.py's plan."""
    runs = rounds * len(SCENARIOS) * len(BALANCES)
    return runs * (duration + RUN_OVERHEAD) + rounds * len(BALANCES) * PIN_SECONDS


# ---------------------------------------------------------------- SIGUSR2

def _worker_lines(log_path):
    try:
        with open(log_path, encoding="utf-8", errors="replace") as f:
            return WORKER_LINE.findall(f.read())
    except OSError:
        return []


def _parse(fields):
    index, open_, busy, conns, handed_in, handed_out, requests, p50, p99, p999 = fields
    return int(index), {"open": int(open_), "busy": int(busy), "connections": int(conns),
                        "handed_in": int(handed_in), "handed_out": int(handed_out),
                        "requests": int(requests), "p50_ms": float(p50), "p99_ms": float(p99),
                        "p999_ms": float(p999)}


def snapshot(pid, log_path, workers=WORKERS, timeout=5.0):
    """SIGUSR2 to gourmet, then the lines it logs: {worker index: counters}.
    Lines are counted before the signal, so only the new ones are read; one
    caller at a time (the hog pins before the bench's first snapshot)."""
    before = len(_worker_lines(log_path))
    os.kill(pid, signal.SIGUSR2)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = _worker_lines(log_path)
        if len(lines) >= before + workers:
            return dict(_parse(f) for f in lines[before:before + workers])
        time.sleep(0.002)
    raise RuntimeError(f"no {workers} worker lines in {log_path} within {timeout} s of SIGUSR2")


def difference(before, after):
    """Per worker: the counters' change during the run, the rest as after."""
    return [{"worker": i, **after[i], **{k: after[i][k] - before[i][k] for k in COUNTERS}}
            for i in sorted(after)]


# ---------------------------------------------------------------- the hog

def _connect(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def pin(pid, log_path, port, want, attempts):
    """Up to `want` keep-alive connections served by worker 0, each with one
    answered request; (connections, attempts made)."""
    kept, held = [], []
    last = snapshot(pid, log_path)
    tries = 0
    try:
        while len(kept) < want and tries < attempts:
            tries += 1
            sock = _connect(port)
            sock.sendall(load.request_bytes("/small"))
            status, _, _ = load.read_response(sock)
            if status != 200:
                raise RuntimeError(f"pinning: status {status}")
            now = snapshot(pid, log_path)
            gained = [i for i in now if now[i]["connections"] > last[i]["connections"]]
            (kept if gained == [0] else held).append(sock)
            last = now
    finally:
        for sock in held:
            sock.close()
    _wait_for_open(pid, log_path, len(kept))
    return kept, tries


def _wait_for_open(pid, log_path, on_zero, timeout=5.0):
    """Until the held connections are closed on the server side too."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = snapshot(pid, log_path)
        if now[0]["open"] == on_zero and all(now[i]["open"] == 0 for i in now if i != 0):
            return
        time.sleep(0.05)


class Stop(Exception):
    """SIGTERM from the bench: stop streaming and report."""


class Stream:
    """One hog connection: GET /64k, read the whole response, again."""

    def __init__(self, sock, request):
        self.sock, self.request = sock, request
        self.head, self.body_left = b"", None
        sock.setblocking(False)
        self.send()

    def send(self):
        self.sock.send(self.request)  # a few bytes into an empty send buffer

    def readable(self):
        """Bytes arrived; returns the number of responses completed."""
        data = self.sock.recv(1 << 18)
        if not data:
            raise ConnectionError("gourmet closed a hog connection")
        done = 0
        while data:
            if self.body_left is None:
                self.head += data
                end = self.head.find(b"\r\n\r\n")
                if end < 0:
                    return done
                head, data = self.head[:end].decode("latin-1"), self.head[end + 4:]
                self.head = b""
                if head.split(" ", 2)[1] != "200":
                    raise RuntimeError(f"hog: {head.splitlines()[0]}")
                length = re.search(r"(?im)^content-length:\s*(\d+)", head)
                if not length:
                    raise RuntimeError("hog: response without Content-Length")
                self.body_left = int(length.group(1))
            take = min(self.body_left, len(data))
            self.body_left -= take
            data = data[take:]
            if self.body_left == 0:
                self.body_left = None
                done += 1
                self.send()
        return done


def stream(socks, path):
    """Until SIGTERM; the number of responses read."""
    selector = selectors.DefaultSelector()
    request = load.request_bytes(path)
    for sock in socks:
        selector.register(sock, selectors.EVENT_READ, Stream(sock, request))
    done = 0
    try:
        while True:
            for key, _ in selector.select(timeout=1.0):
                done += key.data.readable()
    except Stop:
        return done
    except Exception:
        print(f"hog: stopped, {done} requests", flush=True)
        raise


def hog_main(argv):
    p = argparse.ArgumentParser(description="pin keep-alive connections on gourmet's "
                                            "worker 0, then stream a path on them")
    p.add_argument("--pid", type=int, required=True, help="gourmet, for SIGUSR2")
    p.add_argument("--log", required=True, help="gourmet's stderr")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--conns", type=int, default=HOG_CONNS)
    p.add_argument("--attempts", type=int, default=HOG_ATTEMPTS)
    p.add_argument("--path", default=HOG_PATH)
    args = p.parse_args(argv)

    def on_term(_signum, _frame):
        raise Stop()
    signal.signal(signal.SIGTERM, on_term)
    try:
        socks, tries = pin(args.pid, args.log, args.port, args.conns, args.attempts)
        print(f"hog: ready, pinned {len(socks)} in {tries} attempts", flush=True)
        done = stream(socks, args.path)
    except Stop:
        done = 0
    print(f"hog: stopped, {done} requests", flush=True)


# ---------------------------------------------------------------- runs

def _start_hog(procs, target, log_path):
    prefix = os.path.dirname(log_path)
    argv = [sys.executable, os.path.abspath(__file__), "hog", "--pid", str(target.pid),
            "--log", log_path, "--port", str(target.port)]
    hog = procs.start(f"hog-{target.name}", argv, os.path.join(prefix, "hog.log"))
    try:
        hog.wait_until(lambda: HOG_READY.search(hog.log_text()), 120, "hog ready")
    except BaseException:
        procs.stop(hog)
        raise
    ready = HOG_READY.search(hog.log_text())
    return hog, {"pinned": int(ready.group(1)), "attempts": int(ready.group(2))}


def _stop_hog(procs, hog, info):
    alive = hog.alive()
    procs.stop(hog)
    done = HOG_DONE.search(hog.log_text())
    info["requests"] = int(done.group(1)) if done else None
    if not alive:
        info["exited_early"] = hog.log_tail(5)


def measure(procs, tmp, gourmet_bin, origin, scenario, balance, duration, threads, name):
    """One run on a fresh gourmet; stops what it started, also on error."""
    target = servers.start_gourmet(procs, tmp, WORKERS, origin.port, gourmet_bin, name,
                                   accept_balance=balance)
    hog, row = None, {}
    try:
        log_path = target.proc.log_path
        if scenario.key == "busy":
            hog, row["hog"] = _start_hog(procs, target, log_path)
        before = snapshot(target.pid, log_path)
        out = load.run_wrk(load.wrk_argv(target.port, scenario, duration, threads),
                           duration + 60)
        after = snapshot(target.pid, log_path)
        if hog:
            _stop_hog(procs, hog, row["hog"])
            hog = None
        row.update(load.parse_wrk(out))
        row["workers"] = difference(before, after)
    finally:
        if hog:
            procs.stop(hog)
        procs.stop(target.proc)
    return row


def _line(tag, row):
    w = row["workers"]
    hog = row.get("hog")
    return (f"{tag} {KEY} {row['scenario']:4} {row['balance']:12} {row['rps']:>10,.0f} req/s  "
            f"p50 {row['p50_ms']:7.3f} ms  p99 {row['p99_ms']:7.3f} ms  conns "
            + " / ".join(str(x["connections"]) for x in w)
            + "  handed " + str(sum(x["handed_out"] for x in w))
            + (f"  hog {hog['pinned']} pinned in {hog['attempts']}, {hog['requests']} req"
               if hog else "")
            + (f"  (errors: {row['errors']})" if row["errors"] else ""))


def one_round(procs, tmp, gourmet_bin, origin, duration, threads, round_number, tag):
    """Every scenario with kernel, then least_loaded, each on a fresh process."""
    rows = []
    for scenario in SCENARIOS:
        for balance in BALANCES:
            row = {"round": round_number, "scenario": scenario.key, "balance": balance}
            try:
                row.update(measure(procs, tmp, gourmet_bin, origin, scenario, balance,
                                   duration, threads,
                                   f"balance-{scenario.key}-{balance}-{round_number}"))
                print(_line(tag, row), flush=True)
            except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
                print(f"{tag} {KEY} {scenario.key:4} {balance:12} FAILED: {e}", flush=True)
                row["failed"] = str(e)
            rows.append(row)
            time.sleep(0.5)
    return rows


if __name__ == "__main__":
    if sys.argv[1:2] != ["hog"]:
        sys.exit("usage: balance.py hog --pid PID --log PATH --port PORT  (run by bench.py)")
    hog_main(sys.argv[2:])
