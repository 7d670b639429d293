"""The origin and the proxies under test: their configs (each in its own
folder of the run's temp dir) and how to start them on 127.0.0.1.

Every server listens on a port probed free just before it starts (gourmet
binds port 0 itself and prints the port); a start that loses the race for
the port is retried on a new one.

The proxies are set up to do the same work per request: keep-alive on both
sides with an idle upstream pool large enough for 500 clients (so nobody
pays for upstream connects because of a pool limit), the client's Host kept,
X-Forwarded-For/-Proto/-Host added (gourmet always adds them), no access log,
and no request-count or short idle limits on connections.
"""

import os
import re
import shutil
import subprocess
from dataclasses import dataclass

from procs import free_port, port_accepts

# Paths the origin serves, by body size.
PATHS = {"5 B": "/small", "4 KiB": "/4k", "64 KiB": "/64k"}
BODY_SIZES = {"/small": 5, "/4k": 4096, "/64k": 65536}

NOFILE = 16384           # per nginx worker, and HAProxy's budget (2 per conn)
UPSTREAM_KEEPALIVE = 1024
IDLE_TIMEOUT = "300s"
MANY = 100_000_000       # "no limit" for nginx's keepalive_requests


def binary(name):
    path = shutil.which(name) or f"/usr/sbin/{name}"
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"{name} not found; run tools/bench/run.sh, which installs it")
    return path


def first_line(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    text = (out.stdout + out.stderr).strip()
    return text.splitlines()[0] if text else "?"


@dataclass
class Target:
    name: str        # direct | nginx | haproxy | gourmet (| gourmet-w2 ...)
    port: int
    proc: object     # procs.Proc; its tree is what CPU and RSS are read from

    @property
    def pid(self):
        return self.proc.pid


def make_folder(tmp, name):
    path = os.path.join(tmp, name)
    os.makedirs(path, exist_ok=True)
    os.chmod(path, 0o755)  # nginx workers may run as nobody when we are root
    return path


def _start_on_free_port(procs, name, make_argv, attempts=3, timeout=20):
    """make_argv(port) -> argv; retried on a fresh port if the start fails."""
    error = None
    for attempt in range(attempts):
        port = free_port()
        argv, log = make_argv(port)
        proc = procs.start(name, argv, log)
        try:
            proc.wait_until(lambda: port_accepts(port), timeout, f"listening on {port}")
            return Target(name, port, proc)
        except RuntimeError as e:
            error = e
            procs.stop(proc)
    raise RuntimeError(f"{name} did not start after {attempts} attempts: {error}")


# ---------------------------------------------------------------- nginx

def _nginx_conf(prefix, workers, server_block, master_process=True, main_extra=""):
    temp = "\n".join(f"  {kind}_temp_path {prefix}/temp/{kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return f"""# written by tools/bench
daemon off;
master_process {"on" if master_process else "off"};
worker_processes {workers};
worker_rlimit_nofile {NOFILE};
pid {prefix}/nginx.pid;
{main_extra}error_log {prefix}/error.log warn;
events {{
  worker_connections {NOFILE // 2};
}}
http {{
  access_log off;
  default_type application/octet-stream;
{temp}
  sendfile on;
  tcp_nopush off;
  tcp_nodelay on;
  keepalive_timeout {IDLE_TIMEOUT};
  keepalive_requests {MANY};
  open_file_cache max=64 inactive=1h;
  open_file_cache_valid 1h;
{server_block}
}}
"""


def _nginx_argv(prefix, conf_text):
    os.makedirs(os.path.join(prefix, "temp"), exist_ok=True)
    conf = os.path.join(prefix, "nginx.conf")
    with open(conf, "w") as f:
        f.write(conf_text)
    return [binary("nginx"), "-p", prefix, "-c", conf, "-e", os.path.join(prefix, "error.log")]


def start_origin(procs, tmp, workers, name="origin"):
    """nginx serving 5 bytes at /small and 4 KiB / 64 KiB files at /4k, /64k."""
    prefix = make_folder(tmp, name)
    www = make_folder(prefix, "www")
    for path, size in BODY_SIZES.items():
        if path != "/small":
            with open(os.path.join(www, path.lstrip("/")), "wb") as f:
                f.write(b"x" * size)

    def argv(port):
        server = f"""  server {{
    listen 127.0.0.1:{port} backlog=4096;
    root {www};
    location = /small {{
      default_type text/plain;
      return 200 "hello";
    }}
    location /r {{  # the routes mode's /r0999/small
      default_type text/plain;
      return 200 "hello";
    }}
  }}"""
        return _nginx_argv(prefix, _nginx_conf(prefix, workers, server)), prefix + "/out.log"

    target = _start_on_free_port(procs, name, argv)
    target.name = "direct"
    return target


PROXY_TO_ORIGIN = """      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_max_temp_file_size 0;"""


def nginx_proxy_argv(prefix, port, origin_port, workers, master_process=True, regexes=None):
    """regexes: None for `location /`, else one `location ~ REGEX` each, in
    order (nginx tries regex locations in config order, as gourmet does),
    with PCRE JIT on, as a tuned nginx would have it."""
    if regexes is not None:
        return _nginx_regex_argv(prefix, port, origin_port, workers, regexes)
    server = f"""  upstream origin {{
    server 127.0.0.1:{origin_port};
    keepalive {UPSTREAM_KEEPALIVE};
    keepalive_requests {MANY};
    keepalive_timeout {IDLE_TIMEOUT};
  }}
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    location / {{
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_max_temp_file_size 0;
    }}
  }}"""
    return _nginx_argv(prefix, _nginx_conf(prefix, workers, server, master_process))


def _nginx_regex_argv(prefix, port, origin_port, workers, regexes):
    locations = "\n".join(f"    location ~ {regex} {{\n{PROXY_TO_ORIGIN}\n    }}"
                          for regex in regexes)
    server = f"""  upstream origin {{
    server 127.0.0.1:{origin_port};
    keepalive {UPSTREAM_KEEPALIVE};
    keepalive_requests {MANY};
    keepalive_timeout {IDLE_TIMEOUT};
  }}
  server {{
    listen 127.0.0.1:{port} backlog=4096;
{locations}
  }}"""
    return _nginx_argv(prefix, _nginx_conf(prefix, workers, server, main_extra="pcre_jit on;\n"))


def start_nginx(procs, tmp, workers, origin_port, name="nginx", regexes=None):
    prefix = make_folder(tmp, name)
    return _start_on_free_port(
        procs, name,
        lambda port: (nginx_proxy_argv(prefix, port, origin_port, workers, regexes=regexes),
                      prefix + "/out.log"))


# ---------------------------------------------------------------- HAProxy

def start_haproxy(procs, tmp, workers, origin_port, name="haproxy", regexes=None):
    """regexes: None for a default backend, else one `use_backend origin if
    { path_reg REGEX }` each, tried in order."""
    prefix = make_folder(tmp, name)
    if regexes is None:
        routing = "  default_backend origin\n"
    else:
        routing = "".join(f"  use_backend origin if {{ path_reg {regex} }}\n" for regex in regexes)
    maxconn = NOFILE // 2 - 100

    def argv(port):
        cfg = f"""# written by tools/bench
global
  nbthread {workers}
  maxconn {maxconn}

defaults
  mode http
  option http-keep-alive
  option forwardfor
  http-reuse always
  timeout connect 5s
  timeout client {IDLE_TIMEOUT}
  timeout server {IDLE_TIMEOUT}
  timeout http-keep-alive {IDLE_TIMEOUT}
  timeout http-request 10s

frontend fe
  bind 127.0.0.1:{port} backlog 4096
  maxconn {maxconn}
  http-request set-header X-Forwarded-Proto http
  http-request set-header X-Forwarded-Host %[req.hdr(host)]
{routing}
backend origin
  server origin 127.0.0.1:{origin_port}
"""
        path = os.path.join(prefix, "haproxy.cfg")
        with open(path, "w") as f:
            f.write(cfg)
        return [binary("haproxy"), "-db", "-f", path], prefix + "/out.log"

    return _start_on_free_port(procs, name, argv)


# ---------------------------------------------------------------- gourmet

def gourmet_config(prefix, origin_port, workers, accept_balance=None, regexes=None):
    """accept_balance: None keeps gourmet's default (kernel). regexes: the
    locations' paths, in order (default one, "^/")."""
    path = os.path.join(prefix, "gourmet.yaml")
    balance = f"  accept_balance: {accept_balance}\n" if accept_balance else ""
    locations = "".join(f'    - path: "{regex}"\n      upstream: origin\n'
                        for regex in (regexes or ["^/"]))
    with open(path, "w") as f:
        f.write(f"""# written by tools/bench
server:
  address: 127.0.0.1
  port: 0
  workers: {workers}
{balance}  client_idle_timeout: {IDLE_TIMEOUT}
  locations:
{locations}upstreams:
  origin:
    keepalive: {UPSTREAM_KEEPALIVE}
    keepalive_timeout: {IDLE_TIMEOUT}
    servers:
      - address: 127.0.0.1:{origin_port}
""")
    return path


LISTENING = re.compile(r"listening on 127\.0\.0\.1:(\d+)")


def gourmet_port(proc):
    match = LISTENING.search(proc.log_text())
    return int(match.group(1)) if match else None


def start_gourmet(procs, tmp, workers, origin_port, gourmet_bin, name="gourmet",
                  accept_balance=None, regexes=None):
    prefix = make_folder(tmp, name)
    config = gourmet_config(prefix, origin_port, workers, accept_balance, regexes)
    proc = procs.start(name, [gourmet_bin, "-c", config, "--workers", str(workers)],
                       prefix + "/out.log")
    proc.wait_until(lambda: gourmet_port(proc) is not None, 20, "'listening on' line")
    port = gourmet_port(proc)
    proc.wait_until(lambda: port_accepts(port), 10, f"accepting on {port}")
    return Target(name, port, proc)


def versions(gourmet_bin):
    def number(text):
        match = re.search(r"\d+\.\d+[\w.+~-]*", text)
        return match.group(0) if match else text

    return {
        "gourmet": number(first_line([gourmet_bin, "--version"])),
        "nginx": number(first_line([binary("nginx"), "-v"])),
        "HAProxy": number(first_line([binary("haproxy"), "-v"])),
        "wrk": number(first_line(["wrk", "-v"])),
    }
