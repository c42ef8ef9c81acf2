// What a libvirt domain XML says about a VM: name, UUID, memory, disks with their cache modes
// and backing chains.
//
// The XML is parsed with libxml2 as untrusted input: documents with a DOCTYPE (the only place
// entities can be declared: billion laughs, external entities) are refused before parsing, the
// network is off, entities are never substituted, and libxml2's default depth limit applies.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "snapshot/discovery/discovered_disk.hpp"

namespace singleton {

struct DomainDescription {
  std::string name;
  std::string uuid;
  uint64_t memory_bytes = 0;  // <currentMemory>, else <memory>; 0 when absent
  std::vector<DiscoveredDisk> disks;
};

// Throws Error(kPartial) naming `origin` (e.g. "domain 'vm1' XML") and the reason: malformed,
// DOCTYPE/entity declarations, wrong root element, bad memory size, over 16 MiB.
DomainDescription parse_domain_xml(std::string_view xml, const std::string& origin);

}  // namespace singleton
