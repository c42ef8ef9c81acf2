// Which guest files an image's host-cached pages are: each cached page of the image file is
// taken to its virtual-disk offset (itself for raw; through the L1/L2 tables for qcow2), then
// to whatever the disk layout says holds that offset.
#pragma once

#include <cstddef>
#include <string>

#include "scrubber/report/disk_layout.hpp"
#include "scrubber/report/image_cache_classes.hpp"
#include "scrubber/report/qcow2_cluster_map.hpp"
#include "scrubber/report/report_model.hpp"

namespace singleton {

// Names of what is not file data.
inline constexpr const char* kOutsideFilesystems = "(outside file systems)";
inline constexpr const char* kImageFormatMetadata = "(image format metadata)";

// `qcow2`: nullptr for a raw image. `top_files`: how many files to list by name (the others are
// summed in other_files).
ImageExplanation attribute_cache(const ImageCacheClasses& classes, const Qcow2ClusterMap* qcow2,
                                 const DiskLayout& layout, size_t top_files,
                                 const std::string& disk);

}  // namespace singleton
