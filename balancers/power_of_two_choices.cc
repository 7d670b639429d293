#include "balancers/power_of_two_choices.h"

#include <algorithm>
#include <cmath>

namespace gourmet::balancers {

PowerOfTwoChoices::PowerOfTwoChoices(const ServerSet& servers, const BalancerParams& params,
                                     uint32_t worker_index)
    : servers_(servers),
      sampler_(servers),
      random_(params.seed, worker_index),
      choice_count_(std::max<uint32_t>(params.choice_count, 1)),
      bias_(params.active_request_bias),
      drawn_(servers.size(), 0) {}

double PowerOfTwoChoices::load(size_t server) const {
  const uint32_t active = servers_.active(server);
  if (active == 0 || bias_ <= 0) return 0;
  const double scaled = bias_ == 1.0 ? active : std::pow(active, bias_);
  return scaled / sampler_.weight(server);
}

size_t PowerOfTwoChoices::pick(const PickContext& ctx) {
  if (!sampler_.refresh(ctx.now_ms)) return kNoServer;
  // The first draw wins every tie, so idle servers are chosen in proportion
  // to their weights.
  size_t best = sampler_.draw(random_);
  double best_load = load(best);
  const auto consider = [&](size_t server) {
    const double server_load = load(server);
    if (server_load < best_load) {
      best = server;
      best_load = server_load;
    }
  };

  const size_t eligible = sampler_.eligibleCount();
  if (eligible <= choice_count_) {
    // From a random place, so that ties among the rest do not favour the
    // front of the list.
    const size_t count = drawn_.size();
    const size_t start = random_.below(count);
    for (size_t n = 0; n < count; ++n) {
      const size_t i = start + n < count ? start + n : start + n - count;
      if (i != best && sampler_.weight(i) > 0) consider(i);
    }
    return best;
  }

  ++draw_epoch_;
  drawn_[best] = draw_epoch_;
  // Redraw duplicates, within a bound: a heavy server can keep coming up,
  // and a smaller sample is better than an unbounded pick.
  uint32_t wanted = choice_count_ - 1;
  for (uint32_t attempts = 4 * choice_count_; wanted > 0 && attempts > 0; --attempts) {
    const size_t server = sampler_.draw(random_);
    if (drawn_[server] == draw_epoch_) continue;
    drawn_[server] = draw_epoch_;
    --wanted;
    consider(server);
  }
  return best;
}

std::unique_ptr<Balancer> PowerOfTwoChoicesFactory::create(const ServerSet& servers,
                                                           const BalancerParams& params,
                                                           uint32_t worker_index) const {
  return std::make_unique<PowerOfTwoChoices>(servers, params, worker_index);
}

}  // namespace gourmet::balancers
