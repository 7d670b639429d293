"""Processes the benchmark starts: spawn with a log file, wait until ready,
stop by pid, and read CPU time and RSS of a process tree from /proc.

Nothing here looks processes up by name: every pid is one we started or a
descendant of one (found through the ppid field of /proc/PID/stat).
"""

import os
import signal
import socket
import subprocess
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _stat_fields(pid):
    """Fields of /proc/PID/stat after the command name (field 3 onwards)."""
    with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
        data = f.read()
    return data[data.rindex(")") + 2:].split()


def _all_parents():
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            parents[int(entry)] = int(_stat_fields(entry)[1])
        except (OSError, ValueError, IndexError):
            continue  # exited while we looked
    return parents


def tree_pids(root):
    """root and all of its live descendants."""
    parents = _all_parents()
    if root not in parents:
        return []
    children = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def tree_cpu_seconds(root):
    """user+sys of the tree, reaped children included (cutime+cstime), so a
    worker that exits between two samples does not lose its time."""
    ticks = 0
    for pid in tree_pids(root):
        try:
            f = _stat_fields(pid)
            ticks += int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
        except (OSError, ValueError, IndexError):
            continue
    return ticks / CLK_TCK


def tree_rss_kib(root):
    """Sum of VmRSS over the tree, in KiB."""
    total = 0
    for pid in tree_pids(root):
        try:
            with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except (OSError, ValueError):
            continue
    return total


class Proc:
    """A child process with its output in a log file. Started in its own
    session, so a Ctrl-C on the terminal reaches only the benchmark, which
    then stops its children in order."""

    def __init__(self, name, argv, log_path, cwd=None):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                          stderr=subprocess.STDOUT, cwd=cwd,
                                          start_new_session=True)
        self.pid = self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def log_text(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log_tail(self, lines=15):
        return "\n".join(self.log_text().splitlines()[-lines:])

    def wait_until(self, check, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            if not self.alive():
                raise RuntimeError(f"{self.name} exited during start-up ({what}); log:\n"
                                   + self.log_tail())
            time.sleep(0.05)
        raise RuntimeError(f"{self.name}: {what} not within {timeout} s; log:\n" + self.log_tail())

    def stop(self, timeout=10):
        """SIGTERM the process, then SIGKILL it and any descendant left, by pid."""
        if self.popen.returncode is not None:
            return
        descendants = [p for p in tree_pids(self.pid) if p != self.pid]
        try:
            os.kill(self.pid, signal.SIGTERM)
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.pid, signal.SIGKILL)
            self.popen.wait()
        except ProcessLookupError:
            self.popen.wait()
        for pid in descendants:  # e.g. nginx workers orphaned by a killed master
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


class ProcSet:
    """Every process the benchmark started; stop_all() in a finally block."""

    def __init__(self):
        self.procs = []

    def start(self, *args, **kwargs):
        proc = Proc(*args, **kwargs)
        self.procs.append(proc)
        return proc

    def stop(self, proc):
        proc.stop()
        if proc in self.procs:
            self.procs.remove(proc)

    def stop_all(self):
        for proc in reversed(self.procs):
            try:
                proc.stop()
            except Exception as e:  # keep stopping the others
                print(f"bench: stopping {proc.name} (pid {proc.pid}): {e}")
        self.procs.clear()
