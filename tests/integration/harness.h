#pragma once

// Runs the real gourmet binary for the integration tests: one-shot runs for
// the command line, and a long-running proxy whose port is read from its
// "listening on 127.0.0.1:PORT" line (configs say `port: 0`, so the kernel
// picks a free port). Every process is stopped by its pid.
//
// Exit status is part of the behaviour under test: a GourmetProcess must exit
// 0 at teardown (SIGTERM drains and exits 0), and a crash, a non-zero exit or
// a hang past the SIGTERM grace fails the test, unless the test said what it
// expects with expectExit(). runGourmet() reports the exit code for the test
// to check, and fails the test itself when gourmet died of a signal.

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/http_wire.h"
#include "tests/integration/test_ports.h"

namespace gourmet::testing {

using namespace std::chrono_literals;

// A private directory under $TMPDIR (or /tmp), removed with its contents.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path write(const std::string& name, std::string_view content) const;

 private:
  std::filesystem::path path_;
};

struct ProcessResult {
  bool exited = false;  // false: killed by a signal or by the deadline
  int exit_code = -1;
  bool timed_out = false;
  std::string out;
  std::string err;
};

// Runs `gourmet ARGS...` to completion (killed at the deadline).
ProcessResult runGourmet(const std::vector<std::string>& args, Millis timeout = 10s);

// gourmet serving a config until stopped. `config_name` is the file's name
// in a private directory; its extension picks the format (.yaml, .toml).
class GourmetProcess {
 public:
  GourmetProcess(const std::string& config, std::vector<std::string> extra_args = {},
                 const std::string& config_name = "gourmet.yaml");
  ~GourmetProcess();
  GourmetProcess(const GourmetProcess&) = delete;
  GourmetProcess& operator=(const GourmetProcess&) = delete;

  // Started and listening; when false, describe() says why.
  bool ready() const { return port_ != 0; }
  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string configPath() const { return config_.string(); }

  std::string stderrText() const;
  bool waitForStderr(std::string_view needle, Millis timeout) const;
  // Complete stderr lines (without their newline) that contain `needle`.
  std::vector<std::string> stderrLines(std::string_view needle) const;
  // Until at least `n` complete lines contain `needle`.
  bool waitForStderrLines(std::string_view needle, size_t n, Millis timeout) const;

  // Stops reading gourmet's stderr (after the read in progress, if any)
  // until releaseStderr() or for at most `up_to`, so the pipe fills the way
  // a stuck journald's would.
  void holdStderr(Millis up_to);
  void releaseStderr();

  // Replaces the config file (atomically: a reload never reads half of it).
  void rewriteConfig(std::string_view content) const;
  // Sends SIGHUP and returns the line that tells how that reload ended
  // ("reload: version N: ...", "reload: configuration unchanged, ..." or
  // "reload failed ..."); nullopt when none comes within `timeout`.
  std::optional<std::string> reload(Millis timeout = 5s) const;
  // Every reload outcome line so far, in order.
  std::vector<std::string> reloadOutcomes() const;
  // A field of /proc/PID/status in KiB ("VmHWM", "VmRSS").
  std::optional<long> statusKib(std::string_view field) const;
  std::optional<long> peakRssKib() const { return statusKib("VmHWM"); }

  // SIGTERM, then SIGKILL after `grace`; returns the wait status (the one
  // already collected when the process has exited).
  std::optional<int> stop(Millis grace = 5s);
  // Sends `sig` without waiting (to test signal handling itself).
  void signal(int sig) const;
  // The wait status once the process exits within `timeout`.
  std::optional<int> waitForExit(Millis timeout);
  std::string describe() const;

  // The exit code this test expects instead of 0 (a config error at start
  // is 2). Checked when the object is destroyed.
  void expectExit(int code) { expected_exit_ = code; }

 private:
  void readStderr(int fd);
  // Adds a test failure unless the collected status is exit(expected_exit_).
  void checkExitStatus() const;

  TempDir dir_;
  std::filesystem::path config_;
  pid_t pid_ = -1;
  std::optional<int> exit_status_;
  int expected_exit_ = 0;
  uint16_t port_ = 0;
  std::string failure_;
  std::thread reader_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::string stderr_;
  bool stderr_closed_ = false;
  std::optional<Clock::time_point> stderr_held_until_;
};

// The config the tests build on (see the behaviour spec): one listener on
// 127.0.0.1:0, `locations` in order, `upstreams` in order.
struct ServerSpec {
  std::string address;
  int weight = 1;
};
struct UpstreamSpec {
  std::string name = "backend";
  std::vector<ServerSpec> servers;
  std::string connect_timeout = "500ms";
  std::string response_timeout = "1s";
  // More of the upstream's YAML, as written at its keys' level ("retries:\n
  // attempts: 0\n"); each line is indented under the upstream.
  std::string extra = "";
};
struct LocationSpec {
  std::string path = "^/";
  std::string upstream = "backend";
  std::optional<std::string> rewrite;
};
struct ConfigSpec {
  int workers = 2;
  uint16_t port = 0;
  std::optional<std::string> drain_timeout;   // server.drain_timeout, e.g. "300ms"
  std::optional<std::string> accept_balance;  // server.accept_balance
  std::vector<LocationSpec> locations = {LocationSpec{}};
  std::vector<UpstreamSpec> upstreams;

  std::string yaml() const;
};

// "^/" → backend → the one server `origin_address`.
std::string singleOriginConfig(const std::string& origin_address);

// A one-shot latch for origin handlers that must hold an answer until the
// test lets them go. wait() is bounded so a failed test never hangs its
// origin's threads.
class Gate {
 public:
  void open();
  bool wait(Millis timeout) const;

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool open_ = false;
};

// Polls `condition` until it holds or `timeout` passes.
template <class F>
bool eventually(F condition, Millis timeout = 5s) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (condition()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
}

}  // namespace gourmet::testing
