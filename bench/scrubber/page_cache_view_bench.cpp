// Throughput of the mincore PageCacheView: scanning (flags + folios, with and without hashes) a
// 256 MiB file held in the host page cache, and planning a pass over it.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <random>
#include <vector>

#include "scrubber/pass/eviction_plan.hpp"
#include "scrubber/pagecache/mincore_page_cache_view.hpp"

namespace singleton {
namespace {

constexpr uint64_t kFileBytes = 256ull << 20;

// A cached 256 MiB file of random content, removed at exit.
class CachedFile {
 public:
  CachedFile() {
    char tmpl[] = "/var/tmp/singleton-bench-XXXXXX";
    const int fd = ::mkstemp(tmpl);
    path_ = tmpl;
    std::mt19937_64 rng(1);
    std::vector<uint64_t> chunk(1 << 17);
    for (uint64_t done = 0; done < kFileBytes; done += chunk.size() * 8) {
      for (auto& w : chunk) w = rng();
      if (::pwrite(fd, chunk.data(), chunk.size() * 8, done) < 0) break;
    }
    ::fsync(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    std::vector<char> buf(1 << 20);
    for (uint64_t off = 0; off < kFileBytes; off += buf.size()) {
      if (::pread(fd, buf.data(), buf.size(), off) <= 0) break;
    }
    ::close(fd);
  }
  ~CachedFile() { ::unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

const CachedFile& cached_file() {
  static CachedFile file;
  return file;
}

std::vector<CachedPage> scan_all(PageCacheView& view, const ReadOnlyFile& file, bool hashes) {
  std::vector<CachedPage> pages;
  for (uint64_t from = 0;;) {
    ScanBatch batch = view.scan(file, from, ScanOptions{hashes});
    pages.insert(pages.end(), batch.pages.begin(), batch.pages.end());
    if (batch.done) break;
    from = batch.next_index;
  }
  return pages;
}

void BM_MincoreScan(benchmark::State& state) {
  if (::geteuid() != 0) {
    state.SkipWithError("needs root");
    return;
  }
  MincorePageCacheView view;
  ReadOnlyFile file(cached_file().path());
  uint64_t pages = 0;
  for (auto _ : state) {
    const auto scanned = scan_all(view, file, state.range(0) != 0);
    pages += scanned.size();
    benchmark::DoNotOptimize(scanned.data());
  }
  state.counters["pages/s"] = benchmark::Counter(pages, benchmark::Counter::kIsRate);
  state.SetBytesProcessed(static_cast<int64_t>(pages * kPageBytes));
}
BENCHMARK(BM_MincoreScan)->Arg(0)->Arg(1)->ArgName("hashes")->Unit(benchmark::kMillisecond);

void BM_PlanAgainstIndex(benchmark::State& state) {
  if (::geteuid() != 0) {
    state.SkipWithError("needs root");
    return;
  }
  MincorePageCacheView view;
  ReadOnlyFile file(cached_file().path());
  const auto pages = scan_all(view, file, true);
  std::vector<uint64_t> hashes;
  for (size_t i = 0; i < pages.size(); i += 2) hashes.push_back(pages[i].hash);  // half held
  std::mt19937_64 rng(2);
  for (int i = 0; i < 1'000'000; ++i) hashes.push_back(rng());  // a 4 GiB guest's worth of noise
  const PageIndex index(std::move(hashes));
  const PageIndex* holders[] = {&index};
  const ScrubPolicy policy(SharedPolicy::kAll);
  for (auto _ : state) {
    uint64_t budget = UINT64_MAX;
    EvictionPlan plan;
    plan_batch(pages, policy, holders, budget, plan);
    benchmark::DoNotOptimize(plan.pages);
  }
  state.counters["pages/s"] =
      benchmark::Counter(pages.size() * state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_PlanAgainstIndex)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace singleton

BENCHMARK_MAIN();
