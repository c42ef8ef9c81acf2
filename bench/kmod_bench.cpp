// kmod_bench DIR [PAGES] [REPS]: inside a guest with singleton_pcache loaded, the time to list
// and hash every cached page of one file with the kmod PageCacheView versus the mincore one, in
// one run, as a ratio (mincore time / kmod time: > 1 means the module is faster). Run in a guest
// by bench/kmod-bench. Also times listing without hashes.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "scrubber/pagecache/page_cache_view.hpp"
#include "scrubber/pagecache/read_only_file.hpp"
#include "snapshot/base/error.hpp"

namespace {

// Seconds for one full scan; `pages` gets the number of pages seen.
double scan_seconds(singleton::PageCacheView& view, const singleton::ReadOnlyFile& file,
                    bool hashes, uint64_t* pages) {
  const auto start = std::chrono::steady_clock::now();
  uint64_t from = 0, n = 0, sum = 0;
  for (;;) {
    singleton::ScanBatch batch = view.scan(file, from, {.hashes = hashes});
    n += batch.pages.size();
    for (const auto& p : batch.pages) sum += p.hash;  // keep the work observable
    if (batch.done) break;
    from = batch.next_index;
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  *pages = n + (sum == 42);  // never true in practice; defeats dead-code elimination
  return s;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: kmod_bench DIR [PAGES=32768] [REPS=5]\n");
    return 2;
  }
  const std::string path = std::string(argv[1]) + "/kmod-bench.bin";
  const uint64_t want = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 32768;
  const int reps = argc > 3 ? std::atoi(argv[3]) : 5;
  try {
    {  // N pages of non-zero content, all in the cache
      int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
      if (fd < 0) singleton::throw_errno("open " + path);
      std::vector<unsigned char> chunk(1 << 20);
      for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<unsigned char>(i * 7 + 1);
      for (uint64_t off = 0; off < want * 4096; off += chunk.size()) {
        const size_t n = std::min<uint64_t>(chunk.size(), want * 4096 - off);
        chunk[0] = static_cast<unsigned char>(off >> 20);
        if (::pwrite(fd, chunk.data(), n, static_cast<off_t>(off)) != static_cast<ssize_t>(n))
          singleton::throw_errno("pwrite " + path);
      }
      ::fsync(fd);
      ::close(fd);
    }
    singleton::ReadOnlyFile file(path);
    auto kmod = singleton::make_page_cache_view(singleton::BackendChoice::kKmod).view;
    auto mincore = singleton::make_page_cache_view(singleton::BackendChoice::kMincore).view;
    std::vector<double> kh, mh, kl, ml;
    uint64_t pk = 0, pm = 0;
    for (int r = 0; r < reps; ++r) {  // interleaved, so drift hits both alike
      kh.push_back(scan_seconds(*kmod, file, true, &pk));
      mh.push_back(scan_seconds(*mincore, file, true, &pm));
      kl.push_back(scan_seconds(*kmod, file, false, &pk));
      ml.push_back(scan_seconds(*mincore, file, false, &pm));
    }
    if (pk != pm)
      std::printf("warning: kmod saw %llu pages, mincore %llu\n", (unsigned long long)pk,
                  (unsigned long long)pm);
    const double k = median(kh), m = median(mh), k2 = median(kl), m2 = median(ml);
    std::printf("kmod_bench: %llu cached pages, median of %d runs\n", (unsigned long long)pk, reps);
    std::printf(
        "  list+hash: kmod %.4f s (%.0f pages/s), mincore %.4f s (%.0f pages/s), "
        "ratio mincore/kmod %.2f\n",
        k, pk / k, m, pm / m, m / k);
    std::printf("  list only: kmod %.4f s, mincore %.4f s, ratio %.2f\n", k2, m2, m2 / k2);
    std::printf("@@SG-RESULT kmod_hash_ratio=%.2f@@\n", m / k);
    ::unlink(path.c_str());
  } catch (const singleton::Error& e) {
    std::fprintf(stderr, "kmod_bench: %s\n", e.what());
    ::unlink(path.c_str());
    return 1;
  }
  return 0;
}
