#include "snapshot/memory/page_hash.hpp"
#include "snapshot/base/page_size.hpp"

namespace singleton {

uint64_t zero_page_hash() {
  static const uint64_t hash = [] {
    static const unsigned char zeros[kPageBytes] = {};
    return XXH64(zeros, kPageBytes, 0);
  }();
  return hash;
}

}  // namespace singleton
