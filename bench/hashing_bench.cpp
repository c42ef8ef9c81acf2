// Per-page costs of the design, measured on this machine (Google Benchmark):
// - hashing one 4 KiB page: XXH64 (what the kernel's xxh64() also computes, so module and
//   userspace hashes compare) against XXH3_64 (faster, but no kernel twin);
// - the checks around a hash: is the page all zeros (zero pages are not indexed), and a byte
//   comparison of a match (what "verify bytes where it is cheap" costs);
// - a page-hash set: insert and lookup of 64-bit hashes in boost::unordered_flat_set (the
//   first design's "flat hash set, a few bytes per page"), a sorted vector with binary
//   search, and std::unordered_set (node-based, for contrast).
#include <benchmark/benchmark.h>
#include <xxhash.h>

#include <algorithm>
#include <boost/unordered/unordered_flat_set.hpp>
#include <cstdint>
#include <cstring>
#include <random>
#include <unordered_set>
#include <vector>

namespace {

constexpr size_t kPage = 4096;

// A buffer larger than the last-level cache, so pages come from memory as in a snapshot.
const std::vector<uint8_t>& pages() {
  static const std::vector<uint8_t> buf = [] {
    std::vector<uint8_t> b(256u << 20);
    std::mt19937_64 rng(42);
    for (size_t i = 0; i < b.size(); i += 8) {
      uint64_t v = rng();
      std::memcpy(&b[i], &v, 8);
    }
    return b;
  }();
  return buf;
}

template <typename Hash>
void hash_pages(benchmark::State& state, Hash hash) {
  const auto& buf = pages();
  const size_t n = buf.size() / kPage;
  size_t i = 0;
  uint64_t sink = 0;
  for (auto _ : state) {
    sink ^= hash(&buf[i * kPage]);
    i = (i + 1) % n;
  }
  benchmark::DoNotOptimize(sink);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * kPage);
  state.SetItemsProcessed(state.iterations());
}

void BM_Xxh64Page(benchmark::State& state) {
  hash_pages(state, [](const uint8_t* p) { return XXH64(p, kPage, 0); });
}
BENCHMARK(BM_Xxh64Page);

void BM_Xxh3Page(benchmark::State& state) {
  hash_pages(state, [](const uint8_t* p) { return XXH3_64bits(p, kPage); });
}
BENCHMARK(BM_Xxh3Page);

void BM_IsZeroPage(benchmark::State& state) {
  // Worst case for the check: a zero page is read to its end.
  static const std::vector<uint8_t> zero(kPage, 0);
  hash_pages(state, [](const uint8_t*) {
    const uint8_t* p = zero.data();
    benchmark::DoNotOptimize(p);
    return static_cast<uint64_t>(p[0] == 0 && std::memcmp(p, p + 1, kPage - 1) == 0);
  });
}
BENCHMARK(BM_IsZeroPage);

void BM_VerifyMatchMemcmp(benchmark::State& state) {
  // Comparing a host page with the guest page whose hash matched (equal bytes: full length).
  const auto& buf = pages();
  std::vector<uint8_t> copy(buf.begin(), buf.begin() + (64u << 20));
  const size_t n = copy.size() / kPage;
  size_t i = 0;
  int sink = 0;
  for (auto _ : state) {
    sink += std::memcmp(&buf[i * kPage], &copy[i * kPage], kPage);
    i = (i + 1) % n;
  }
  benchmark::DoNotOptimize(sink);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * kPage);
}
BENCHMARK(BM_VerifyMatchMemcmp);

std::vector<uint64_t> random_hashes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint64_t> v(n);
  for (auto& x : v) x = rng();
  return v;
}

// state.range(0) = pages in the set (1 GiB of guest RAM = 262,144 pages).
template <typename Set>
void BM_SetInsert(benchmark::State& state) {
  const auto keys = random_hashes(state.range(0), 1);
  for (auto _ : state) {
    Set s;
    s.reserve(keys.size());
    for (uint64_t k : keys) s.insert(k);
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_SetInsert<boost::unordered_flat_set<uint64_t>>)->Arg(1 << 16)->Arg(1 << 20);
BENCHMARK(BM_SetInsert<std::unordered_set<uint64_t>>)->Arg(1 << 16)->Arg(1 << 20);

void BM_SortedVectorBuild(benchmark::State& state) {
  const auto keys = random_hashes(state.range(0), 1);
  for (auto _ : state) {
    std::vector<uint64_t> v(keys);
    std::sort(v.begin(), v.end());
    benchmark::DoNotOptimize(v.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_SortedVectorBuild)->Arg(1 << 16)->Arg(1 << 20);

// Lookups: half of the probes are present (a host cache half double-cached).
std::vector<uint64_t> probes(const std::vector<uint64_t>& keys) {
  auto miss = random_hashes(keys.size(), 2);
  std::vector<uint64_t> p;
  for (size_t i = 0; i < keys.size(); ++i) p.push_back(i % 2 ? keys[i] : miss[i]);
  std::shuffle(p.begin(), p.end(), std::mt19937_64(3));
  return p;
}

template <typename Set>
void BM_SetLookup(benchmark::State& state) {
  const auto keys = random_hashes(state.range(0), 1);
  Set s(keys.begin(), keys.end());
  const auto p = probes(keys);
  size_t i = 0, found = 0;
  for (auto _ : state) {
    found += s.count(p[i]);
    i = (i + 1) % p.size();
  }
  benchmark::DoNotOptimize(found);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SetLookup<boost::unordered_flat_set<uint64_t>>)->Arg(1 << 16)->Arg(1 << 20);
BENCHMARK(BM_SetLookup<std::unordered_set<uint64_t>>)->Arg(1 << 16)->Arg(1 << 20);

void BM_SortedVectorLookup(benchmark::State& state) {
  auto v = random_hashes(state.range(0), 1);
  const auto p = probes(v);
  std::sort(v.begin(), v.end());
  size_t i = 0, found = 0;
  for (auto _ : state) {
    found += std::binary_search(v.begin(), v.end(), p[i]);
    i = (i + 1) % p.size();
  }
  benchmark::DoNotOptimize(found);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SortedVectorLookup)->Arg(1 << 16)->Arg(1 << 20);

}  // namespace
