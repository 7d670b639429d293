// lbsim: how the balancers behave in front of servers of uneven speed.
//
// Runs the simulation of tools/lbsim/simulation.h for every algorithm the
// registry knows, prints mean/p50/p99/p99.9 response times at one load, and
// with --svg sweeps the load from 0.50 to 0.95 and plots p99 against it.
// The balancers are the proxy's own (balancers::findBalancer), so what this
// shows is what the proxy does, up to the workload model.
//
// `--scenario failure` runs tools/lbsim/failure_report.h instead: one
// server fails half of its requests from t = 10 s, and each balancer's
// error rate is shown with outlier detection off and on.

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "balancers/registry.h"
#include "tools/lbsim/failure_report.h"
#include "tools/lbsim/simulation.h"
#include "tools/lbsim/svg_plot.h"

namespace gourmet::lbsim {
namespace {

// Every algorithm, in the order of the table; `hash` gets a random key per
// request (one of Scenario::key_space clients).
constexpr std::string_view kAlgorithms[] = {"round_robin", "random", "least_conn", "p2c",
                                            "ewma",        "jiq",    "hash"};

constexpr double kSweepLoads[] = {0.50, 0.55, 0.60, 0.65, 0.70, 0.75, 0.80, 0.85, 0.90, 0.95};

enum class ScenarioKind { kLatency, kFailure };

struct Options {
  Scenario scenario;
  std::string svg_path;
  ScenarioKind kind = ScenarioKind::kLatency;
  double duration_s = 120;  // failure scenario: simulated time
  bool slow_factor_given = false;
  bool check = false;
};

void usage(FILE* out) {
  std::fprintf(
      out,
      "usage: lbsim [--load 0.8] [--servers 10] [--slow-factor 5] [--workers 4]\n"
      "             [--requests 200000] [--seed 1] [--svg p99.svg]\n"
      "       lbsim --scenario failure [--duration 120] [--fail-kind 503|reset] [--check]\n"
      "             [--load 0.8] [--servers 10] [--slow-factor 1] [--workers 4] [--seed 1]\n"
      "\n"
      "Simulates Poisson arrivals at LOAD times the servers' capacity, spread over\n"
      "WORKERS dispatchers that each run their own balancer (sharing the servers'\n"
      "active counts, as the proxy's workers do), in front of SERVERS FIFO servers\n"
      "with exponential service times of mean 10 ms, server 0 SLOW-FACTOR times\n"
      "slower. Prints response times per algorithm; --svg also sweeps the load\n"
      "from 0.50 to 0.95 and writes a plot of p99 against load.\n"
      "\n"
      "--scenario failure: server 0 fails half of its requests (after 1 ms, a 503\n"
      "or a reset) from t = 10 s on; prints each algorithm's error rate over DURATION\n"
      "seconds with outlier detection off and on (gourmet's defaults). --check\n"
      "exits 1 unless outlier detection lowers every algorithm's error rate.\n");
}

bool parseDouble(std::string_view text, double& out) {
  std::string copy(text);
  char* end = nullptr;
  out = std::strtod(copy.c_str(), &end);
  return !copy.empty() && end == copy.c_str() + copy.size();
}

bool parseUnsigned(std::string_view text, uint64_t& out) {
  std::string copy(text);
  if (copy.empty() || copy[0] == '-') return false;
  char* end = nullptr;
  out = std::strtoull(copy.c_str(), &end, 10);
  return end == copy.c_str() + copy.size();
}

// Errors name the flag and the value; the caller prints them with the usage.
bool parseOptions(int argc, char** argv, Options& options, std::string& error) {
  Scenario& s = options.scenario;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i], value;
    if (arg == "-h" || arg == "--help") {
      usage(stdout);
      std::exit(0);
    }
    if (arg == "--check") {
      options.check = true;
      continue;
    }
    if (size_t eq = arg.find('='); eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      error = std::string(arg) + " needs a value";
      return false;
    }
    uint64_t n = 0;
    double d = 0;
    bool ok = true;
    if (arg == "--load") {
      ok = parseDouble(value, d) && d > 0 && d <= 2;
      s.load = d;
    } else if (arg == "--servers") {
      ok = parseUnsigned(value, n) && n >= 1 && n <= 10000;
      s.servers = static_cast<uint32_t>(n);
    } else if (arg == "--slow-factor") {
      ok = parseDouble(value, d) && d > 0 && d <= 1000;
      s.slow_factor = d;
      options.slow_factor_given = true;
    } else if (arg == "--workers") {
      ok = parseUnsigned(value, n) && n >= 1 && n <= 1024;
      s.workers = static_cast<uint32_t>(n);
    } else if (arg == "--requests") {
      ok = parseUnsigned(value, n) && n >= 100 && n <= 100000000;
      s.requests = n;
    } else if (arg == "--seed") {
      ok = parseUnsigned(value, n);
      s.seed = n;
    } else if (arg == "--scenario") {
      ok = value == "latency" || value == "failure";
      options.kind = value == "failure" ? ScenarioKind::kFailure : ScenarioKind::kLatency;
    } else if (arg == "--duration") {
      ok = parseDouble(value, d) && d > 10 && d <= 100000;
      options.duration_s = d;
    } else if (arg == "--fail-kind") {
      ok = value == "reset" || value == "503";
      s.failure.kind = value == "503" ? FailureKind::k503 : FailureKind::kReset;
    } else if (arg == "--svg") {
      ok = !value.empty();
      options.svg_path = value;
    } else {
      error = "unknown option " + std::string(arg);
      return false;
    }
    if (!ok) {
      error = "bad value '" + std::string(value) + "' for " + std::string(arg) +
              " (load in (0, 2], servers 1..10000, slow-factor in (0, 1000], workers 1..1024, "
              "requests 100..1e8, scenario latency|failure, duration in (10, 1e5] s, fail-kind "
              "reset|503)";
      return false;
    }
  }
  return true;
}

using Algorithm = NamedBalancer;

// The failure scenario's defaults: servers alike (unless --slow-factor),
// the failure from t = 10 s, and as many requests as DURATION seconds hold.
Scenario failureScenario(const Options& options) {
  Scenario s = options.scenario;
  if (!options.slow_factor_given) s.slow_factor = 1;
  s.failure.start_ms = 10000;
  s.failure.server = 0;
  s.failure.share = 0.5;
  s.failure.fail_ms = 1;
  s.requests = static_cast<uint64_t>(options.duration_s * 1000 * s.load * capacityPerMs(s));
  return s;
}

void printTable(const Scenario& s, const std::vector<Algorithm>& algorithms) {
  const double capacity = capacityPerMs(s) * 1000;
  std::printf(
      "lbsim: %u servers, server 0 %gx slower; fast servers' mean service %g ms (exponential, "
      "FIFO)\n"
      "load %.2f: %.0f of %.0f req/s (Poisson); %u workers; %llu requests, first %llu warm-up; "
      "seed %llu\n\n",
      s.servers, s.slow_factor, s.mean_service_ms, s.load, s.load * capacity, capacity, s.workers,
      static_cast<unsigned long long>(s.requests),
      static_cast<unsigned long long>(s.requests / kWarmupDivisor),
      static_cast<unsigned long long>(s.seed));
  std::printf("| algorithm   |  mean ms |   p50 ms |   p99 ms |  p999 ms | to slow |\n");
  std::printf("|-------------|---------:|---------:|---------:|---------:|--------:|\n");
  bool any_overloaded = false;
  for (const Algorithm& algorithm : algorithms) {
    Result r = simulate(*algorithm.factory, algorithm.name == "hash", s);
    any_overloaded |= r.slow_overloaded;
    std::printf("| %-11.*s | %8.1f | %8.1f | %8.1f | %8.1f | %5.1f%%%s |\n",
                static_cast<int>(algorithm.name.size()), algorithm.name.data(), r.mean_ms, r.p50_ms,
                r.p99_ms, r.p999_ms, 100 * r.slow_share, r.slow_overloaded ? "*" : " ");
    if (r.unrouted > 0) {
      std::printf("  (%llu requests found no server)\n",
                  static_cast<unsigned long long>(r.unrouted));
    }
  }
  const double fair = 100 / (s.mean_service_ms * s.slow_factor) / capacityPerMs(s);
  std::printf(
      "\n\"to slow\": share of requests sent to server 0, whose share of the capacity "
      "is %.1f%%.\n",
      fair);
  if (any_overloaded) {
    std::printf(
        "* server 0 was offered over 110%% of what it can serve: its queue grew all "
        "along, so these percentiles grow with --requests.\n");
  }
}

bool writeSweep(const Options& options, const std::vector<Algorithm>& algorithms) {
  Chart chart;
  const Scenario& s = options.scenario;
  chart.title = "p99 response time against load";
  char subtitle[200];
  std::snprintf(subtitle, sizeof subtitle,
                "%u servers (one %gx slower), %u workers, %llu requests per point, seed %llu",
                s.servers, s.slow_factor, s.workers, static_cast<unsigned long long>(s.requests),
                static_cast<unsigned long long>(s.seed));
  chart.subtitle = subtitle;
  chart.x_label = "load (arrival rate / total capacity)";
  chart.y_label = "p99 response time (ms, log scale)";
  chart.x.assign(std::begin(kSweepLoads), std::end(kSweepLoads));
  std::printf("\np99 ms by load:\n| algorithm   |");
  for (double load : kSweepLoads) std::printf(" %9.2f |", load);
  std::printf("\n|-------------|");
  for (size_t i = 0; i < std::size(kSweepLoads); ++i) std::printf("----------:|");
  std::printf("\n");
  for (const Algorithm& algorithm : algorithms) {
    Series series{std::string(algorithm.name), {}};
    std::printf("| %-11.*s |", static_cast<int>(algorithm.name.size()), algorithm.name.data());
    for (double load : kSweepLoads) {
      Scenario point = s;
      point.load = load;
      Result r = simulate(*algorithm.factory, algorithm.name == "hash", point);
      series.y.push_back(r.p99_ms);
      std::printf(" %9.1f |", r.p99_ms);
      std::fflush(stdout);
    }
    std::printf("\n");
    chart.series.push_back(std::move(series));
  }
  std::ofstream out(options.svg_path, std::ios::binary | std::ios::trunc);
  out << renderSvg(chart);
  out.close();
  if (!out) {
    std::fprintf(stderr, "lbsim: cannot write %s\n", options.svg_path.c_str());
    return false;
  }
  std::printf("\nwrote %s\n", options.svg_path.c_str());
  return true;
}

int run(int argc, char** argv) {
  Options options;
  std::string error;
  if (!parseOptions(argc, argv, options, error)) {
    std::fprintf(stderr, "lbsim: %s\n", error.c_str());
    usage(stderr);
    return 2;
  }
  std::vector<Algorithm> algorithms;
  std::string skipped;
  for (std::string_view name : kAlgorithms) {
    if (const balancers::BalancerFactory* factory = balancers::findBalancer(name)) {
      algorithms.push_back({name, factory});
    } else {
      skipped += (skipped.empty() ? "" : ", ") + std::string(name);
    }
  }
  if (options.kind == ScenarioKind::kFailure) {
    const bool ok = printFailureTable(failureScenario(options), algorithms, options.check);
    if (!skipped.empty())
      std::printf("skipped (not registered in this build): %s\n", skipped.c_str());
    return ok ? 0 : 1;
  }
  printTable(options.scenario, algorithms);
  if (!skipped.empty())
    std::printf("skipped (not registered in this build): %s\n", skipped.c_str());
  if (!options.svg_path.empty() && !writeSweep(options, algorithms)) return 1;
  return 0;
}

}  // namespace
}  // namespace gourmet::lbsim

int main(int argc, char** argv) { return gourmet::lbsim::run(argc, argv); }
