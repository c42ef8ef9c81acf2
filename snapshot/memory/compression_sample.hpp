// How well guest RAM would compress, estimated from a sample of its pages: zstd level 1, page by
// page (what zswap/zram-like page compressors see: one 4 KiB page at a time, no shared window).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace singleton {

class CompressionSample {
 public:
  // `every`: one page of every `every` offered goes into the sample (1: all of them).
  explicit CompressionSample(uint32_t every = 100);
  ~CompressionSample();
  CompressionSample(CompressionSample&&) noexcept;
  CompressionSample& operator=(CompressionSample&&) noexcept;
  CompressionSample(const CompressionSample&) = delete;
  CompressionSample& operator=(const CompressionSample&) = delete;

  // Offers one 4 KiB page; every `every`-th is compressed and counted.
  void offer(const std::byte* page);

  uint32_t every() const { return every_; }
  uint64_t sampled_pages() const { return sampled_pages_; }
  uint64_t compressed_bytes() const { return compressed_bytes_; }
  // Sampled bytes / compressed bytes (1.0 when nothing was sampled).
  double ratio() const;

 private:
  struct Context;
  std::unique_ptr<Context> context_;  // the zstd compression context and its output buffer
  uint32_t every_ = 100;
  uint64_t offered_ = 0;
  uint64_t sampled_pages_ = 0;
  uint64_t compressed_bytes_ = 0;
};

}  // namespace singleton
