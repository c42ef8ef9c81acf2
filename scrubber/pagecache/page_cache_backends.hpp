// The makers of the PageCacheView backends, as make_page_cache_view() knows them. Each throws
// Error(ExitCode::kEnvironment) saying why its backend cannot work on this host.
#pragma once

#include <memory>

#include "scrubber/pagecache/page_cache_view.hpp"

namespace singleton {

// mmap + MADV_RANDOM + mincore + pagemap/kpageflags; root for folios and flags.
std::unique_ptr<PageCacheView> make_mincore_page_cache_view();

// The singleton_pcache module (/dev/singleton_pcache). Defined in kmod_page_cache_view.cpp;
// registered in page_cache_view_factory.cpp (kBackends).
std::unique_ptr<PageCacheView> make_kmod_page_cache_view();

}  // namespace singleton
