// What the tests of `singleton watch` with the placement tracker share: the --json pass
// reports summed by tracker, a private pass lock and config, /metrics samples, the measured
// pages of a file in an image.
#pragma once

#include <stdlib.h>

#include <boost/json.hpp>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "tests/integration/http_get.hpp"
#include "tests/vm/fixtures.hpp"

namespace singleton::testing {

using guestkit::ScratchDir;

constexpr uint64_t kMiB = 1 << 20;

// What the watch's --json reports say, summed by tracker, from report number `from` on.
struct PassTotals {
  size_t passes = 0;  // every report read, whichever tracker
  size_t bpf_passes = 0, scan_passes = 0;
  uint64_t bpf_evicted = 0, scan_evicted = 0;
  uint64_t host_hashed = 0, guest_hashed = 0;  // bpf passes
  uint64_t retry_pages = 0;       // bpf passes: held pages queued for a retry
  uint64_t held_back_pages = 0;   // bpf passes: skipped as dirty or under writeback
};

inline PassTotals read_passes(const std::string& path, size_t from = 0) {
  PassTotals t;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] != '{' || t.passes++ < from) continue;
    const auto o = boost::json::parse(line).as_object();
    const uint64_t evicted = o.at("totals").at("evicted_pages").to_number<uint64_t>();
    if (o.at("tracker").as_string() == "bpf") {
      ++t.bpf_passes;
      t.bpf_evicted += evicted;
      t.host_hashed += o.at("tracked").at("host_pages_hashed").to_number<uint64_t>();
      t.guest_hashed += o.at("tracked").at("guest_pages_hashed").to_number<uint64_t>();
      t.retry_pages += o.at("tracked").at("retry_pages").to_number<uint64_t>();
      const auto& skipped = o.at("totals").at("skipped_by_reason");
      t.held_back_pages += skipped.at("dirty").to_number<uint64_t>() +
                           skipped.at("writeback").to_number<uint64_t>();
    } else {
      ++t.scan_passes;
      t.scan_evicted += evicted;
    }
  }
  return t;
}

// Our own pass lock and no config file: other singletons on this host neither block nor see us.
inline void use_own_lock_and_config(const ScratchDir& dir) {
  ::setenv("SINGLETON_LOCK_FILE", (dir / "pass.lock").c_str(), 1);
  ::setenv("SINGLETON_CONFIG", (dir / "absent.conf").c_str(), 1);
}

// A sample of the watch's /metrics, by name (no labels); -1 when absent.
inline double metric(int port, const std::string& name) {
  const std::string body = http_get(port, "/metrics");
  const auto at = body.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stod(body.substr(at + name.size() + 2));
}

// The pages of `file` in `image` that are measured: all but the first and last 2 MiB, which
// the guest reads too. On a host that caches in large folios (ext4 on 6.18 here: up to 2 MiB),
// host readahead puts a file's edge blocks in a folio with blocks of the next file or of
// metadata that no guest read; such a folio stays, as in every pass, and is kept out of the
// count by these guards.
inline std::vector<uint64_t> measured_pages(const std::string& image, const std::string& file) {
  const std::vector<uint64_t> all = guestkit::file_pages_in_image(image, file);
  constexpr size_t kGuard = 2 * kMiB / 4096;
  return std::vector<uint64_t>(all.begin() + kGuard, all.end() - kGuard);
}

inline int metrics_port(const std::string& log) {
  const auto at = log.find("port ");
  return at == std::string::npos ? -1 : std::stoi(log.substr(at + 5));
}

}  // namespace singleton::testing
