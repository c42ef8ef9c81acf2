#include "bench/sim/workload.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>
#include <stdexcept>

namespace singleton::sim {
namespace {

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, sep)) parts.push_back(part);
  return parts;
}

double number(const std::string& text, const std::string& what, double min, double max) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(v) || v < min || v > max)
    throw std::invalid_argument("workload " + what + ": '" + text + "' is not a number from " +
                                std::to_string(min) + " to " + std::to_string(max));
  return v;
}

}  // namespace

WorkloadSpec parse_workload(const std::string& text) {
  WorkloadSpec spec;
  spec.name = text;
  std::string body = text;
  if (const auto at = text.find('@'); at != std::string::npos) {
    spec.write_share = number(text.substr(at + 1), text, 0, 1);
    body = text.substr(0, at);
  }
  const std::vector<std::string> p = split(body, ':');
  if (p.empty()) throw std::invalid_argument("empty workload");
  const std::string& kind = p[0];
  auto arg = [&](size_t i, double fallback, double min, double max) {
    return p.size() > i ? number(p[i], text, min, max) : fallback;
  };
  size_t max_args = 0;
  if (kind == "uniform") {
    spec.kind = WorkloadSpec::Kind::kUniform;
  } else if (kind == "zipf") {
    spec.kind = WorkloadSpec::Kind::kZipf;
    spec.theta = arg(1, 0.8, 0.01, 10);
    max_args = 1;
  } else if (kind == "loop" || kind == "seq") {
    spec.kind = WorkloadSpec::Kind::kLoop;
    spec.share = kind == "seq" ? 1.0 : arg(1, 1.0, 1e-9, 1);
    max_args = kind == "seq" ? 0 : 1;
  } else if (kind == "hotscan") {
    spec.kind = WorkloadSpec::Kind::kHotScan;
    spec.share = arg(1, 0.2, 1e-9, 1);
    spec.hot_prob = arg(2, 0.9, 0, 1);
    max_args = 2;
  } else if (kind == "shifting") {
    spec.kind = WorkloadSpec::Kind::kShifting;
    spec.share = arg(1, 0.1, 1e-9, 1);
    spec.hot_prob = arg(2, 0.9, 0, 1);
    spec.every = static_cast<uint64_t>(arg(3, 0, 0, 1e15));
    max_args = 3;
  } else {
    throw std::invalid_argument("unknown workload '" + text +
                                "' (uniform, zipf:T, loop[:S], seq, hotscan[:H[:P]], "
                                "shifting[:H[:P[:EVERY]]], each optionally @WRITE_SHARE)");
  }
  if (p.size() > max_args + 1) throw std::invalid_argument("workload " + text + ": too many settings");
  return spec;
}

std::vector<WorkloadSpec> parse_mixture(const std::string& text) {
  std::vector<WorkloadSpec> all;
  for (const std::string& part : split(text, ',')) all.push_back(parse_workload(part));
  if (all.empty()) throw std::invalid_argument("no workload given");
  return all;
}

AccessStream::AccessStream(const WorkloadSpec& spec, uint64_t pages, uint64_t seed)
    : spec_(spec),
      pages_(std::max<uint64_t>(pages, 1)),
      rng_(seed),
      mix_(seed ^ 0x5bd1e9955bd1e995ull),
      zipf_(pages_, spec.kind == WorkloadSpec::Kind::kZipf ? spec.theta : 0.8),
      spread_(2654435761u),  // a prime near 2^32 / golden ratio
      hot_(std::clamp<uint64_t>(static_cast<uint64_t>(std::llround(spec.share * pages_)), 1, pages_)),
      first_(std::min<uint64_t>(static_cast<uint64_t>(std::llround(spec.first * pages_)), pages_ - 1)) {
  if (spec_.every == 0) spec_.every = pages_;
  while (std::gcd(spread_ % pages_, pages_) != 1) ++spread_;  // one to one on the pages
}

uint32_t AccessStream::next_in_loop() {
  const uint64_t page = (first_ + cursor_) % pages_;
  if (++cursor_ >= hot_) cursor_ = 0;
  return static_cast<uint32_t>(page);
}

uint32_t AccessStream::next_hot_scan() {
  if (hot_ >= pages_ || rng_.unit() < spec_.hot_prob) return static_cast<uint32_t>(rng_.below(hot_));
  const uint64_t page = hot_ + cursor_;
  if (++cursor_ >= pages_ - hot_) cursor_ = 0;
  return static_cast<uint32_t>(page);
}

uint32_t AccessStream::next_shifting() {
  if (++reads_ % spec_.every == 0) hot_base_ = rng_.below(pages_);
  if (rng_.unit() < spec_.hot_prob)
    return static_cast<uint32_t>((hot_base_ + rng_.below(hot_)) % pages_);
  return static_cast<uint32_t>(rng_.below(pages_));
}

}  // namespace singleton::sim
