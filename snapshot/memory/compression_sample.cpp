#include "snapshot/memory/compression_sample.hpp"

#include <zstd.h>

#include <algorithm>
#include <vector>

#include "snapshot/base/page_size.hpp"

namespace singleton {

// RAII for the zstd context: freed with the sample, reused for every page.
struct CompressionSample::Context {
  Context() : cctx(ZSTD_createCCtx()), out(ZSTD_compressBound(kPageBytes)) {}
  ~Context() { ZSTD_freeCCtx(cctx); }
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  ZSTD_CCtx* cctx;
  std::vector<char> out;
};

CompressionSample::CompressionSample(uint32_t every)
    : context_(std::make_unique<Context>()), every_(std::max<uint32_t>(1, every)) {}
CompressionSample::~CompressionSample() = default;
CompressionSample::CompressionSample(CompressionSample&&) noexcept = default;
CompressionSample& CompressionSample::operator=(CompressionSample&&) noexcept = default;

void CompressionSample::offer(const std::byte* page) {
  if (offered_++ % every_ != 0) return;
  if (context_->cctx == nullptr) return;  // out of memory at creation: no estimate, no crash
  const size_t n = ZSTD_compressCCtx(context_->cctx, context_->out.data(), context_->out.size(),
                                     page, kPageBytes, 1);
  // An incompressible page is stored as is by a page compressor: never count more than a page.
  compressed_bytes_ += ZSTD_isError(n) ? kPageBytes : std::min<size_t>(n, kPageBytes);
  ++sampled_pages_;
}

double CompressionSample::ratio() const {
  if (compressed_bytes_ == 0) return 1.0;
  return static_cast<double>(sampled_pages_ * kPageBytes) / static_cast<double>(compressed_bytes_);
}

}  // namespace singleton
