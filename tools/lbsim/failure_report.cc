#include "tools/lbsim/failure_report.h"

#include <cstdio>

namespace gourmet::lbsim {

bool printFailureTable(const Scenario& scenario, std::span<const NamedBalancer> balancers,
                       bool check) {
  const Scenario& s = scenario;
  const Failure& f = s.failure;
  const core::OutlierDetectionConfig rules;
  const double rate = s.load * capacityPerMs(s) * 1000;
  std::printf(
      "lbsim failure scenario: %u servers (mean service %g ms, server 0 %gx), %u workers, "
      "load %.2f (%.0f req/s), %.0f s, seed %llu\n"
      "server %u fails %.0f%% of its requests from t = %.0f s on, after %g ms each (%s, not "
      "queued)\n"
      "outlier detection \"on\": consecutive_failures %u, base_ejection_time %lld s x n, max "
      "%lld s, max_ejection_percent %u\n"
      "error rate: client-visible failures / requests arriving from t = %.0f s on\n\n",
      s.servers, s.mean_service_ms, s.slow_factor, s.workers, s.load, rate,
      static_cast<double>(s.requests) / rate, static_cast<unsigned long long>(s.seed), f.server,
      100 * f.share, f.start_ms / 1000, f.fail_ms,
      f.kind == FailureKind::kReset ? "a reset" : "a 503", rules.consecutive_failures,
      static_cast<long long>(rules.base_ejection_time.count() / 1000),
      static_cast<long long>(rules.max_ejection_time.count() / 1000), rules.max_ejection_percent,
      f.start_ms / 1000);
  std::printf(
      "| algorithm   | error rate off | error rate on | ejections | to failing off | to failing "
      "on |\n");
  std::printf(
      "|-------------|---------------:|--------------:|----------:|---------------:|-----------"
      "---:|\n");
  bool ok = true;
  for (const NamedBalancer& balancer : balancers) {
    const bool keyed = balancer.name == "hash";
    Scenario off = s, on = s;
    off.outlier_detection.reset();
    on.outlier_detection = rules;
    const Result a = simulate(*balancer.factory, keyed, off);
    const Result b = simulate(*balancer.factory, keyed, on);
    auto share = [](const Result& r) {
      return r.after_failure == 0 ? 0.0
                                  : 100.0 * static_cast<double>(r.sent_to_failing) /
                                        static_cast<double>(r.after_failure);
    };
    const bool better = b.ejections > 0 && b.errorRate() < a.errorRate();
    ok &= better;
    std::printf("| %-11.*s | %13.3f%% | %12.3f%% | %9llu | %13.1f%% | %12.1f%% |%s\n",
                static_cast<int>(balancer.name.size()), balancer.name.data(), 100 * a.errorRate(),
                100 * b.errorRate(), static_cast<unsigned long long>(b.ejections), share(a),
                share(b), check && !better ? " <- outlier detection did not help" : "");
    if (b.refused_ejections > 0) {
      std::printf("  (%llu ejections refused by max_ejection_percent)\n",
                  static_cast<unsigned long long>(b.refused_ejections));
    }
  }
  std::printf(
      "\n\"to failing\": share of those requests sent to server %u. Fast failures free a "
      "server early,\nso load-aware balancers send it more than 1/%u unless it is ejected.\n",
      f.server, s.servers);
  if (check) {
    std::printf("check: %s\n", ok ? "outlier detection lowered every balancer's error rate"
                                  : "FAILED: outlier detection did not lower every error rate");
  }
  return ok || !check;
}

}  // namespace gourmet::lbsim
