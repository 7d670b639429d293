#include "tests/integration/harness.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#ifndef GOURMET_BINARY
#error "GOURMET_BINARY must name the gourmet executable (set by tests/meson.build)"
#endif

namespace gourmet::testing {

namespace {

constexpr Millis kStartupTimeout{10'000};
constexpr std::string_view kListening = "listening on 127.0.0.1:";

// Spawns gourmet with stdin from /dev/null, stdout to `out_fd` (or
// /dev/null when -1) and stderr to `err_fd`. The test process has threads,
// so the child calls only async-signal-safe functions before exec. It asks
// to be killed when its parent dies, so a crashed or interrupted test run
// leaves no proxy behind (the signal follows the spawning thread: spawn from
// the test's main thread, as the fixtures do).
pid_t spawnGourmet(const std::vector<std::string>& args, int out_fd, int err_fd) {
  // GOURMET_TEST_BINARY runs the suite against another build (e.g. the code
  // before a fix, to see a new test fail there).
  const char* override_binary = std::getenv("GOURMET_TEST_BINARY");
  const std::string binary =
      override_binary != nullptr && *override_binary != '\0' ? override_binary : GOURMET_BINARY;
  std::vector<std::string> argv_storage{binary};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();

  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
  const int null_in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const int null_out = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (null_in < 0 || null_out < 0 || ::dup2(null_in, 0) < 0 ||
      ::dup2(out_fd >= 0 ? out_fd : null_out, 1) < 0 || ::dup2(err_fd, 2) < 0) {
    ::_exit(127);
  }
  ::execv(argv[0], argv.data());
  ::_exit(127);
}

// Polls waitpid until the child is reaped or the deadline passes.
std::optional<int> waitUntil(pid_t pid, Clock::time_point deadline) {
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return std::nullopt;
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(2ms);
  }
}

int killAndReap(pid_t pid, Millis grace) {
  ::kill(pid, SIGTERM);
  if (auto st = waitUntil(pid, Clock::now() + grace)) return *st;
  ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

std::string yamlQuote(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// The lines that end a reload, whichever way it went.
const std::vector<std::string_view> kReloadOutcomes = {
    "] reload: version ", "] reload: configuration unchanged", "] reload failed"};

// Complete lines of `text` (a trailing partial line is still being written)
// that contain any of `needles`.
std::vector<std::string> linesContaining(const std::string& text,
                                         const std::vector<std::string_view>& needles) {
  std::vector<std::string> out;
  for (size_t at = 0, end; (end = text.find('\n', at)) != std::string::npos; at = end + 1) {
    const std::string_view line(text.data() + at, end - at);
    for (const auto needle : needles) {
      if (line.find(needle) != std::string_view::npos) {
        out.emplace_back(line);
        break;
      }
    }
  }
  return out;
}

}  // namespace

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string templ = fmt::format("{}/gourmet-it-XXXXXX", base && *base ? base : "/tmp");
  if (!::mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed");
  path_ = templ;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::filesystem::path TempDir::write(const std::string& name, std::string_view content) const {
  const auto file = path_ / name;
  std::ofstream(file, std::ios::binary) << content;
  return file;
}

ProcessResult runGourmet(const std::vector<std::string>& args, Millis timeout) {
  ProcessResult result;
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return result;
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return result;
  }
  const pid_t pid = spawnGourmet(args, out_pipe[1], err_pipe[1]);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  const auto deadline = Clock::now() + timeout;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  while (pid > 0 && (fds[0].fd >= 0 || fds[1].fd >= 0)) {
    const auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
    if (left <= 0) {
      result.timed_out = true;
      break;
    }
    if (::poll(fds, 2, static_cast<int>(left)) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        fds[i].fd = -1;  // closed; the descriptor itself is closed below
      }
    }
  }
  ::close(out_pipe[0]);
  ::close(err_pipe[0]);
  if (pid <= 0) return result;
  std::optional<int> status;
  if (!result.timed_out) status = waitUntil(pid, deadline);
  if (!status) {
    result.timed_out = true;
    status = killAndReap(pid, 0ms);
  }
  result.exited = WIFEXITED(*status) && !result.timed_out;
  result.exit_code = WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
  // No test expects gourmet to die of a signal; one that checks only for a
  // non-zero code must not mistake a crash for a refusal.
  if (!result.timed_out && WIFSIGNALED(*status)) {
    ADD_FAILURE() << "gourmet died of signal " << WTERMSIG(*status) << " ("
                  << ::strsignal(WTERMSIG(*status)) << "); stderr:\n"
                  << result.err;
  }
  return result;
}

GourmetProcess::GourmetProcess(const std::string& config, std::vector<std::string> extra_args,
                               const std::string& config_name) {
  config_ = dir_.write(config_name, config);
  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    failure_ = "pipe2 failed";
    return;
  }
  std::vector<std::string> args{"-c", config_.string()};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  pid_ = spawnGourmet(args, -1, err_pipe[1]);
  ::close(err_pipe[1]);
  if (pid_ <= 0) {
    ::close(err_pipe[0]);
    failure_ = "fork failed";
    return;
  }
  reader_ = std::thread([this, fd = err_pipe[0]] { readStderr(fd); });

  // The whole line, so that a port split across two reads is never cut short.
  const auto listening_line = [&] {
    const size_t at = stderr_.find(kListening);
    return at != std::string::npos && stderr_.find('\n', at) != std::string::npos;
  };
  std::unique_lock lock(mu_);
  const bool seen =
      cv_.wait_for(lock, kStartupTimeout, [&] { return listening_line() || stderr_closed_; });
  const size_t at = stderr_.find(kListening);
  if (!listening_line()) {
    failure_ = seen ? "gourmet exited before listening" : "no 'listening on' line within 10 s";
    return;
  }
  const unsigned long port = std::strtoul(stderr_.c_str() + at + kListening.size(), nullptr, 10);
  if (port == 0 || port > 65535) {
    failure_ = "unparsable port in 'listening on' line";
    return;
  }
  port_ = static_cast<uint16_t>(port);
}

GourmetProcess::~GourmetProcess() {
  stop();
  if (reader_.joinable()) reader_.join();
  checkExitStatus();
}

void GourmetProcess::checkExitStatus() const {
  if (pid_ <= 0) return;  // never started: the fixture reported why
  if (!exit_status_) {
    ADD_FAILURE() << "gourmet (pid " << pid_ << ") could not be reaped\n" << describe();
    return;
  }
  const int status = *exit_status_;
  if (WIFEXITED(status) && WEXITSTATUS(status) == expected_exit_) return;
  std::string how =
      WIFEXITED(status)
          ? fmt::format("exited with {}", WEXITSTATUS(status))
          : fmt::format("died of signal {} ({}){}", WTERMSIG(status), ::strsignal(WTERMSIG(status)),
                        WTERMSIG(status) == SIGKILL ? ", killed after not exiting on SIGTERM" : "");
  ADD_FAILURE() << "gourmet (pid " << pid_ << ") " << how << ", expected exit " << expected_exit_
                << "\n"
                << describe();
}

void GourmetProcess::readStderr(int fd) {
  char buf[4096];
  for (;;) {
    {
      std::unique_lock lock(mu_);
      while (stderr_held_until_ &&
             cv_.wait_until(lock, *stderr_held_until_) == std::cv_status::no_timeout) {
      }
      stderr_held_until_.reset();
    }
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    std::lock_guard lock(mu_);
    if (n <= 0) {
      stderr_closed_ = true;
      cv_.notify_all();
      break;
    }
    stderr_.append(buf, static_cast<size_t>(n));
    cv_.notify_all();
  }
  ::close(fd);
}

void GourmetProcess::holdStderr(Millis up_to) {
  std::lock_guard lock(mu_);
  stderr_held_until_ = Clock::now() + up_to;
}

void GourmetProcess::releaseStderr() {
  std::lock_guard lock(mu_);
  stderr_held_until_.reset();
  cv_.notify_all();
}

std::string GourmetProcess::stderrText() const {
  std::lock_guard lock(mu_);
  return stderr_;
}

bool GourmetProcess::waitForStderr(std::string_view needle, Millis timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] {
    return stderr_.find(needle) != std::string::npos || stderr_closed_;
  }) && stderr_.find(needle) != std::string::npos;
}

std::vector<std::string> GourmetProcess::stderrLines(std::string_view needle) const {
  std::lock_guard lock(mu_);
  return linesContaining(stderr_, {needle});
}

bool GourmetProcess::waitForStderrLines(std::string_view needle, size_t n, Millis timeout) const {
  std::unique_lock lock(mu_);
  const auto enough = [&] { return linesContaining(stderr_, {needle}).size() >= n; };
  return cv_.wait_for(lock, timeout, [&] { return enough() || stderr_closed_; }) && enough();
}

void GourmetProcess::rewriteConfig(std::string_view content) const {
  const auto next = dir_.write("next-" + config_.filename().string(), content);
  std::filesystem::rename(next, config_);
}

std::vector<std::string> GourmetProcess::reloadOutcomes() const {
  std::lock_guard lock(mu_);
  return linesContaining(stderr_, kReloadOutcomes);
}

std::optional<std::string> GourmetProcess::reload(Millis timeout) const {
  std::unique_lock lock(mu_);
  const size_t before = linesContaining(stderr_, kReloadOutcomes).size();
  if (pid_ <= 0 || exit_status_) return std::nullopt;
  ::kill(pid_, SIGHUP);
  std::vector<std::string> outcomes;
  cv_.wait_for(lock, timeout, [&] {
    outcomes = linesContaining(stderr_, kReloadOutcomes);
    return outcomes.size() > before || stderr_closed_;
  });
  if (outcomes.size() <= before) return std::nullopt;
  return outcomes[before];
}

std::optional<long> GourmetProcess::statusKib(std::string_view field) const {
  if (pid_ <= 0 || exit_status_) return std::nullopt;
  std::ifstream in(fmt::format("/proc/{}/status", pid_));
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > field.size() && line.compare(0, field.size(), field) == 0 &&
        line[field.size()] == ':') {
      return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
    }
  }
  return std::nullopt;
}

std::optional<int> GourmetProcess::stop(Millis grace) {
  if (pid_ > 0 && !exit_status_) exit_status_ = killAndReap(pid_, grace);
  return exit_status_;
}

void GourmetProcess::signal(int sig) const {
  if (pid_ > 0 && !exit_status_) ::kill(pid_, sig);
}

std::optional<int> GourmetProcess::waitForExit(Millis timeout) {
  if (pid_ > 0 && !exit_status_) exit_status_ = waitUntil(pid_, Clock::now() + timeout);
  return exit_status_;
}

std::string GourmetProcess::describe() const {
  std::string err = stderrText();
  if (err.size() > 4000) err = "..." + err.substr(err.size() - 4000);
  if (failure_.empty()) return fmt::format("gourmet stderr:\n{}", err);
  return fmt::format("gourmet failed: {}; stderr:\n{}", failure_, err);
}

std::string ConfigSpec::yaml() const {
  std::string out =
      fmt::format("server:\n  address: 127.0.0.1\n  port: {}\n  workers: {}\n", port, workers);
  if (drain_timeout) out += fmt::format("  drain_timeout: {}\n", *drain_timeout);
  if (accept_balance) out += fmt::format("  accept_balance: {}\n", *accept_balance);
  out += "  locations:\n";
  for (const auto& l : locations) {
    out += fmt::format("    - path: {}\n      upstream: {}\n", yamlQuote(l.path), l.upstream);
    if (l.rewrite) out += fmt::format("      rewrite: {}\n", yamlQuote(*l.rewrite));
  }
  out += "upstreams:\n";
  for (const auto& u : upstreams) {
    out += fmt::format("  {}:\n    servers:\n", u.name);
    for (const auto& s : u.servers) {
      out += fmt::format("      - path: {}\n        weight: {}\n", yamlQuote(s.address), s.weight);
    }
    out += fmt::format("    connect_timeout: {}\n    response_timeout: {}\n", u.connect_timeout,
                       u.response_timeout);
    for (size_t at = 0; at < u.extra.size();) {
      const size_t end = std::min(u.extra.find('\n', at), u.extra.size());
      out += fmt::format("    {}\n", std::string_view(u.extra).substr(at, end - at));
      at = end + 1;
    }
  }
  return out;
}

std::string singleOriginConfig(const std::string& origin_address) {
  ConfigSpec spec;
  spec.upstreams = {UpstreamSpec{.servers = {{origin_address, 1}}}};
  return spec.yaml();
}

void Gate::open() {
  std::lock_guard lock(mu_);
  open_ = true;
  cv_.notify_all();
}

bool Gate::wait(Millis timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return open_; });
}

}  // namespace gourmet::testing
