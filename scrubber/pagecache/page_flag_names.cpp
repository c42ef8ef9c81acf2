#include "scrubber/pagecache/page_cache_view.hpp"

namespace singleton {

std::vector<std::string> page_flag_names(uint32_t flags) {
  static constexpr std::pair<uint32_t, const char*> kNames[] = {
      {kPageDirty, "dirty"},           {kPageWriteback, "writeback"},     {kPageMapped, "mapped"},
      {kPageLocked, "locked"},         {kPageUptodate, "uptodate"},       {kPageActive, "active"},
      {kPageReferenced, "referenced"}, {kPageUnevictable, "unevictable"},
  };
  std::vector<std::string> names;
  for (const auto& [bit, name] : kNames) {
    if (flags & bit) names.emplace_back(name);
  }
  return names;
}

}  // namespace singleton
