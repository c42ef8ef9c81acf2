// An allocator for the model's big node arrays: anonymous memory asked to be backed by
// transparent huge pages (madvise(MADV_HUGEPAGE); hosts commonly run THP in "madvise" mode).
// At the scale the arrays are gigabytes read at random: with 4 KiB pages every access
// is also a TLB miss and a page walk that misses the caches; 2 MiB pages take most of that away.
// Where THP is off the memory is still ordinary anonymous memory.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <new>

namespace singleton::advise {

// Whether allocations from now on ask for huge pages (bench/sim/sim_bench turns it off for its
// baseline in the same process).
inline bool use_huge_pages = true;

template <typename T>
struct HugePageAllocator {
  using value_type = T;
  // Below this an array goes to operator new: a huge page would be mostly empty.
  static constexpr size_t kHugePage = size_t{2} << 20;

  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) {}

  T* allocate(size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < kHugePage) return static_cast<T*>(::operator new(bytes));
    // Rounded up to whole huge pages, so that the last one can be huge too.
    const size_t mapped = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    void* p = ::mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    if (use_huge_pages) ::madvise(p, mapped, MADV_HUGEPAGE);  // advice only: without THP, small
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < kHugePage) {
      ::operator delete(p);
      return;
    }
    ::munmap(p, (bytes + kHugePage - 1) / kHugePage * kHugePage);
  }
  template <typename U>
  bool operator==(const HugePageAllocator<U>&) const { return true; }
};

}  // namespace singleton::advise
