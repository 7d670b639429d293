"""Instructions per request under callgrind: a noise-free figure for
regressions. Each proxy (gourmet with 1 worker; nginx with
`master_process off`, one process) runs under valgrind against the shared
origin; after a warm-up the counters are zeroed (callgrind_control -z), a
fixed number of sequential keep-alive requests is sent on one connection,
and the counters are dumped (callgrind_control -d). Startup, warm-up and
shutdown are thus left out, and the figure is what the proxy executes per
request, event loop included."""

import glob
import os
import subprocess
import time

import load
import servers
from procs import free_port, port_accepts

WARMUP_REQUESTS = 200


def _control(flag, pid):
    out = subprocess.run(["callgrind_control", flag, str(pid)], capture_output=True,
                         text=True, timeout=60)
    if out.returncode != 0 or "OK" not in out.stdout:
        raise RuntimeError(f"callgrind_control {flag} {pid}: {out.stdout}{out.stderr}")


def _dumped_ir(prefix, pid, timeout=30):
    """Ir total of the first dump (`PREFIX.PID.1`)."""
    path = f"{prefix}.{pid}.1"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
            events = totals = None
            for line in text.splitlines():
                if line.startswith("events:"):
                    events = line.split()[1:]
                elif line.startswith("totals:") or line.startswith("summary:"):
                    totals = line.split()[1:]
            if events and totals:
                return int(totals[events.index("Ir")])
        time.sleep(0.2)
    raise RuntimeError(f"no callgrind dump at {path}; files: {glob.glob(prefix + '*')}")


def _measure(procs, name, argv, log, port_of, requests, folder):
    prefix = os.path.join(folder, f"callgrind.{name}")
    proc = procs.start(f"{name} (callgrind)",
                       ["valgrind", "--tool=callgrind", f"--callgrind-out-file={prefix}.%p"]
                       + argv, log)
    try:
        proc.wait_until(lambda: port_of() is not None and port_accepts(port_of()), 180,
                        "listening under valgrind")
        port = port_of()
        load.keepalive_requests(port, WARMUP_REQUESTS)
        _control("-z", proc.pid)
        load.keepalive_requests(port, requests)
        _control("-d", proc.pid)
        return _dumped_ir(prefix, proc.pid) / requests
    finally:
        procs.stop(proc)


def measure(procs, tmp, origin_port, gourmet_bin, requests):
    folder = servers.make_folder(tmp, "callgrind")

    gourmet_dir = servers.make_folder(folder, "gourmet")
    config = servers.gourmet_config(gourmet_dir, origin_port, 1)
    gourmet_log = gourmet_dir + "/out.log"

    def gourmet_port():
        try:
            with open(gourmet_log, encoding="utf-8", errors="replace") as f:
                match = servers.LISTENING.search(f.read())
        except OSError:
            return None
        return int(match.group(1)) if match else None

    gourmet_ir = _measure(procs, "gourmet", [gourmet_bin, "-c", config, "--workers", "1"],
                          gourmet_log, gourmet_port, requests, folder)

    nginx_dir = servers.make_folder(folder, "nginx")
    nginx_port = free_port()
    nginx_argv = servers.nginx_proxy_argv(nginx_dir, nginx_port, origin_port, 1,
                                          master_process=False)
    nginx_ir = _measure(procs, "nginx", nginx_argv, nginx_dir + "/out.log",
                        lambda: nginx_port, requests, folder)
    return {"requests": requests, "gourmet_ir": gourmet_ir, "nginx_ir": nginx_ir,
            "ratio": gourmet_ir / nginx_ir}
