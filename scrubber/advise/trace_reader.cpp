#include "scrubber/advise/trace_reader.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <cmath>
#include <limits>
#include <unordered_map>

#include "snapshot/base/error.hpp"

namespace singleton::advise {
namespace {

namespace json = boost::json;

constexpr size_t kMaxLineBytes = 1 << 20;
constexpr size_t kMaxNameBytes = 4096;

struct LineError {
  std::string what;
};

const json::value& field(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) throw LineError{std::string("no \"") + key + "\""};
  return *v;
}

std::string text_field(const json::object& o, const char* key) {
  const json::value& v = field(o, key);
  if (!v.is_string()) throw LineError{std::string("\"") + key + "\" is not a string"};
  const json::string& s = v.get_string();
  if (s.empty() || s.size() > kMaxNameBytes)
    throw LineError{std::string("\"") + key + "\" is empty or longer than 4096 bytes"};
  return std::string(s.data(), s.size());
}

uint64_t whole_field(const json::object& o, const char* key, uint64_t min, uint64_t max) {
  const json::value& v = field(o, key);
  bool ok = false;
  uint64_t n = 0;
  if (v.is_uint64()) {
    n = v.get_uint64();
    ok = true;
  } else if (v.is_int64() && v.get_int64() >= 0) {
    n = static_cast<uint64_t>(v.get_int64());
    ok = true;
  }
  if (!ok || n < min || n > max)
    throw LineError{std::string("\"") + key + "\" is not a whole number from " +
                    std::to_string(min) + " to " + std::to_string(max)};
  return n;
}

double seconds_field(const json::object& o, const char* key) {
  const json::value& v = field(o, key);
  double t = -1;
  if (v.is_double()) t = v.get_double();
  else if (v.is_int64()) t = static_cast<double>(v.get_int64());
  else if (v.is_uint64()) t = static_cast<double>(v.get_uint64());
  if (!(t >= 0 && t <= kMaxTraceSeconds))
    throw LineError{std::string("\"") + key + "\" is not a number of seconds from 0 to 1e9"};
  return t;
}

// Names to dense indices, in order of first appearance.
class Names {
 public:
  uint32_t index(const std::string& name, std::vector<std::string>& names) {
    const auto [it, added] = index_.emplace(name, static_cast<uint32_t>(names.size()));
    if (added) names.push_back(name);
    return it->second;
  }

 private:
  std::unordered_map<std::string, uint32_t> index_;
};

}  // namespace

Trace read_trace(std::istream& in, const std::string& name) {
  Trace trace;
  Names vm_names, image_names;
  std::vector<std::unordered_map<uint64_t, uint32_t>> dense;  // per image: page -> dense page
  std::string line;
  uint64_t number = 0;
  json::parser parser;
  while (std::getline(in, line)) {
    ++number;
    try {
      if (line.size() > kMaxLineBytes) throw LineError{"longer than 1 MiB"};
      if (std::all_of(line.begin(), line.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); }))
        continue;
      json::error_code ec;
      parser.reset();
      parser.write(line, ec);  // the whole line: one value, nothing after it
      if (ec) throw LineError{"not JSON (" + ec.message() + ")"};
      const json::value v = parser.release();
      if (!v.is_object()) throw LineError{"not a JSON object"};
      const json::object& o = v.get_object();
      if (o.contains("summary")) continue;  // `singleton trace --json`'s last line
      const std::string vm = text_field(o, "vm");
      const std::string image = text_field(o, "image");
      const uint64_t page = whole_field(o, "page", 0, kMaxTracePage - 1);
      whole_field(o, "pid", 1, std::numeric_limits<int32_t>::max());
      const std::string op = text_field(o, "op");
      if (op != "read" && op != "write") throw LineError{"\"op\" is neither \"read\" nor \"write\""};
      const double t = seconds_field(o, "t");

      const uint32_t v_index = vm_names.index(vm, trace.vms);
      if (v_index == trace.vm_images.size()) trace.vm_images.emplace_back();
      const uint32_t i_index = image_names.index(image, trace.images);
      if (i_index == dense.size()) {
        dense.emplace_back();
        trace.image_pages.push_back(0);
      }
      auto& pages = dense[i_index];
      const auto [it, added] = pages.emplace(page, static_cast<uint32_t>(pages.size()));
      if (added) trace.image_pages[i_index] = pages.size();
      if (pages.size() >= std::numeric_limits<uint32_t>::max() - 2)
        throw LineError{"more than 2^32 distinct pages of one image"};
      std::vector<uint32_t>& mine = trace.vm_images[v_index];
      auto slot = std::find(mine.begin(), mine.end(), i_index);
      if (slot == mine.end()) slot = mine.insert(mine.end(), i_index);
      const bool write = op == "write";
      trace.writes += write;
      trace.records.push_back(TraceRecord{t, v_index, static_cast<uint32_t>(slot - mine.begin()),
                                          it->second, write});
    } catch (const LineError& e) {
      throw Error(ExitCode::kUsage, name + " line " + std::to_string(number) + ": " + e.what);
    }
  }
  if (in.bad()) throw Error(ExitCode::kUsage, name + ": read error after line " + std::to_string(number));
  std::stable_sort(trace.records.begin(), trace.records.end(),
                   [](const TraceRecord& a, const TraceRecord& b) { return a.t < b.t; });
  return trace;
}

}  // namespace singleton::advise
