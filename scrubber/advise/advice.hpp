// What `singleton advise` concludes from a trace: every policy's expected outcome at the host's
// sizes, and which one to run. Only policies a host can run today are recommended (not the
// upper bounds demote and save, nor readmit, which nothing implements); among them the fewest
// device reads wins, and a near tie goes to the smaller host cache (memory left for others).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "scrubber/advise/cache_policy.hpp"
#include "scrubber/advise/model_counters.hpp"
#include "scrubber/advise/trace_replay.hpp"

namespace singleton::advise {

struct AdviceInput {
  std::vector<uint64_t> guest_blocks;  // per VM of the trace
  uint64_t host_blocks = 0;
  SharedRule rule = SharedRule::kAll;
  double warmup = 0.2;
  // The pressure policy's settings to compare (blocks): each --evict-step, and the headroom at
  // which the watch starts evicting (its auto: max(16 MiB, 5% of the limit)).
  std::vector<uint64_t> evict_steps = {16 * 256};
  uint64_t headroom = 16 * 256;
};

struct PolicyOutcome {
  Policy policy;
  std::string meaning;  // what it is on a host, in a few words
  bool runnable;        // a host can run it today (singleton's options or QEMU's cache=)
  ModelCounters counters;
  ModelSummary summary;
};

struct Advice {
  std::vector<PolicyOutcome> outcomes;
  size_t best = 0;          // index into outcomes
  std::string settings;     // how to run the best one
  std::string why;          // one sentence
};

// Device reads within this share (or 0.5 per 1,000 accesses) count as a tie.
inline constexpr double kTieShare = 0.01;

// The policies advise compares: the watch's modes at the trace's rate (eager as soon as the
// placement tracker sees a read, and every 60 s like a cron scrub), pressure in both orders at
// each step of `input`, cache=none with and without the memory given to the guests, and the
// bounds.
std::vector<Policy> advice_policies(const Trace& trace, const AdviceInput& input);

Advice advise(const Trace& trace, const AdviceInput& input);

}  // namespace singleton::advise
