#include "snapshot/memory/page_hash.hpp"

namespace singleton {

uint64_t zero_page_hash() {
  static const uint64_t hash = [] {
    static const unsigned char zeros[kPageSize] = {};
    return XXH64(zeros, kPageSize, 0);
  }();
  return hash;
}

}  // namespace singleton
