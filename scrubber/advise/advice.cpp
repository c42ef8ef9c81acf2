#include "scrubber/advise/advice.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace singleton::advise {
namespace {

std::string meaning(const Policy& p, uint64_t period_60s) {
  switch (p.kind) {
    case PolicyKind::kInclusive: return "cache=writeback, no singleton";
    case PolicyKind::kNone: return "cache=none (host cache unused)";
    case PolicyKind::kNoneBiggerGuests: return "cache=none, host cache memory given to the guests";
    case PolicyKind::kEager:
      return p.period == 1 ? "singleton watch --evict-when always"
             : p.period == period_60s ? "singleton scrub every 60 s"
                                      : "evict duplicates every " + std::to_string(p.period) + " accesses";
    case PolicyKind::kPressure: {
      std::ostringstream step;
      step << static_cast<double>(p.step) / 256;
      return std::string("singleton watch --evict-when pressure --evict-order ") +
             (p.order == EvictOrder::kNewest ? "newest" : "oldest") + " --evict-step " + step.str();
    }
    case PolicyKind::kReadmit: return "eager + re-read dropped blocks into the host (not implemented)";
    case PolicyKind::kDemote: return "upper bound: dropped blocks move to the host for free";
    case PolicyKind::kSaveOnOverwrite: return "upper bound: a share of dropped blocks saved";
  }
  return "";
}

uint64_t accesses_per_60s(const Trace& trace) {
  if (trace.records.size() < 2) return 1;
  const double span = trace.records.back().t - trace.records.front().t;
  if (!(span > 0)) return trace.records.size();
  return std::max<uint64_t>(1, static_cast<uint64_t>(std::llround(
                                   static_cast<double>(trace.records.size()) / span * 60.0)));
}

}  // namespace

std::vector<Policy> advice_policies(const Trace& trace, const AdviceInput& input) {
  std::vector<Policy> all;
  for (const char* name : {"inclusive", "none", "none-bigger-guests", "eager:1"})
    all.push_back(parse_policy(name));
  Policy scrub = parse_policy("eager");
  scrub.period = accesses_per_60s(trace);
  if (scrub.period > 1) all.push_back(scrub);
  for (const uint64_t step : input.evict_steps)
    for (const EvictOrder order : {EvictOrder::kNewest, EvictOrder::kOldest}) {
      Policy p = parse_policy("pressure:newest");
      p.order = order;
      p.step = std::max<uint64_t>(step, 1);
      p.headroom = input.headroom;
      all.push_back(p);
    }
  for (const char* name : {"readmit", "demote", "save:0.5"}) all.push_back(parse_policy(name));
  return all;
}

Advice advise(const Trace& trace, const AdviceInput& input) {
  Advice advice;
  const Topology topology = trace_topology(trace, input.guest_blocks, input.host_blocks, input.rule);
  const uint64_t period_60s = accesses_per_60s(trace);
  for (const Policy& p : advice_policies(trace, input)) {
    PolicyOutcome o{p, meaning(p, period_60s), !p.is_bound() && p.kind != PolicyKind::kReadmit, {}, {}};
    o.counters = replay(trace, topology, p, input.warmup);
    o.summary = summarize(o.counters);
    advice.outcomes.push_back(o);
  }
  // The runnable policy with the fewest device reads; near ties to the smaller host cache.
  double fewest = INFINITY;
  for (const PolicyOutcome& o : advice.outcomes)
    if (o.runnable) fewest = std::min(fewest, o.summary.device_reads_per_1000);
  const double tie = std::max(fewest * kTieShare, 0.5);
  bool chosen = false;
  for (size_t i = 0; i < advice.outcomes.size(); ++i) {
    const PolicyOutcome& o = advice.outcomes[i];
    if (!o.runnable || o.summary.device_reads_per_1000 > fewest + tie) continue;
    if (!chosen || o.summary.host_mean_blocks < advice.outcomes[advice.best].summary.host_mean_blocks) {
      advice.best = i;
      chosen = true;
    }
  }
  const PolicyOutcome& best = advice.outcomes[advice.best];
  advice.settings = best.meaning;
  advice.why = "fewest device reads of the policies a host can run (" +
               std::to_string(static_cast<int64_t>(std::llround(best.summary.device_reads_per_1000))) +
               " per 1,000 guest misses), the smallest host cache among those within 1%";
  return advice;
}

}  // namespace singleton::advise
