#include "scrubber/advise/cache_policy.hpp"

#include <charconv>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace singleton::advise {
namespace {

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, sep)) parts.push_back(part);
  if (!text.empty() && text.back() == sep) parts.emplace_back();
  return parts;
}

uint64_t whole(const std::string& text, const std::string& policy, uint64_t min) {
  uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < min)
    throw std::invalid_argument("policy " + policy + ": '" + text + "' is not a whole number >= " +
                                std::to_string(min));
  return v;
}

std::string rate_text(double r) {
  std::ostringstream s;
  s << r;
  return s.str();
}

}  // namespace

std::string Policy::name() const {
  switch (kind) {
    case PolicyKind::kInclusive: return "inclusive";
    case PolicyKind::kNone: return "none";
    case PolicyKind::kNoneBiggerGuests: return "none-bigger-guests";
    case PolicyKind::kEager: return "eager:" + std::to_string(period);
    case PolicyKind::kPressure: {
      std::string n = std::string("pressure:") + (order == EvictOrder::kNewest ? "newest" : "oldest");
      if (step != 1 || headroom != 0) n += ":" + std::to_string(step);
      if (headroom != 0) n += ":" + std::to_string(headroom);
      return n;
    }
    case PolicyKind::kReadmit: return "readmit";
    case PolicyKind::kDemote: return "demote";
    case PolicyKind::kSaveOnOverwrite: return "save:" + rate_text(catch_rate);
  }
  return "?";
}

Policy parse_policy(const std::string& text) {
  const std::vector<std::string> p = split(text, ':');
  Policy policy;
  const std::string& word = p.empty() ? text : p[0];
  auto arity = [&](size_t min, size_t max) {
    if (p.size() < min || p.size() > max)
      throw std::invalid_argument("policy " + text + ": wrong number of settings");
  };
  if (word == "inclusive" || word == "none" || word == "none-bigger-guests" || word == "readmit" ||
      word == "demote") {
    arity(1, 1);
    policy.kind = word == "inclusive"   ? PolicyKind::kInclusive
                  : word == "none"      ? PolicyKind::kNone
                  : word == "readmit"   ? PolicyKind::kReadmit
                  : word == "demote"    ? PolicyKind::kDemote
                                        : PolicyKind::kNoneBiggerGuests;
  } else if (word == "eager") {
    arity(1, 2);
    policy.kind = PolicyKind::kEager;
    if (p.size() == 2) policy.period = whole(p[1], text, 1);
  } else if (word == "pressure") {
    arity(2, 4);
    policy.kind = PolicyKind::kPressure;
    if (p[1] == "newest") policy.order = EvictOrder::kNewest;
    else if (p[1] == "oldest") policy.order = EvictOrder::kOldest;
    else throw std::invalid_argument("policy " + text + ": order is newest or oldest");
    if (p.size() >= 3) policy.step = whole(p[2], text, 1);
    if (p.size() == 4) policy.headroom = whole(p[3], text, 0);
  } else if (word == "save") {
    arity(2, 2);
    policy.kind = PolicyKind::kSaveOnOverwrite;
    char* end = nullptr;
    policy.catch_rate = std::strtod(p[1].c_str(), &end);
    if (p[1].empty() || *end != '\0' || !std::isfinite(policy.catch_rate) ||
        policy.catch_rate < 0 || policy.catch_rate > 1)
      throw std::invalid_argument("policy " + text + ": the catch rate is a number from 0 to 1");
  } else {
    throw std::invalid_argument("unknown policy '" + text +
                                "' (inclusive, none, none-bigger-guests, eager:T, "
                                "pressure:newest|oldest[:STEP[:HEADROOM]], readmit, demote, save:RATE)");
  }
  return policy;
}

std::vector<Policy> standard_policies() {
  std::vector<Policy> all;
  for (const char* name : {"inclusive", "none", "none-bigger-guests", "eager:1", "eager:1000",
                           "pressure:newest", "pressure:oldest", "readmit", "demote", "save:0.5"})
    all.push_back(parse_policy(name));
  return all;
}

}  // namespace singleton::advise
