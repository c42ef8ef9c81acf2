#include "snapshot/discovery/domain_xml.hpp"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include <climits>
#include <memory>
#include <optional>

#include "snapshot/base/error.hpp"

namespace singleton {
namespace {

constexpr size_t kMaxXmlBytes = 16 << 20;

struct ParserContextDeleter {
  void operator()(xmlParserCtxt* context) const { xmlFreeParserCtxt(context); }
};
struct DocumentDeleter {
  void operator()(xmlDoc* document) const { xmlFreeDoc(document); }
};
struct XmlStringDeleter {
  void operator()(xmlChar* text) const { xmlFree(text); }
};

[[noreturn]] void fail(const std::string& origin, const std::string& why) {
  throw Error(ExitCode::kPartial, origin + ": " + why);
}

bool is_element(const xmlNode* node, const char* name) {
  return node->type == XML_ELEMENT_NODE && xmlStrEqual(node->name, BAD_CAST name);
}

const xmlNode* child(const xmlNode* parent, const char* name) {
  for (const xmlNode* node = parent->children; node; node = node->next)
    if (is_element(node, name)) return node;
  return nullptr;
}

std::optional<std::string> attribute(const xmlNode* node, const char* name) {
  if (!node) return std::nullopt;
  // Entities are never substituted and DOCTYPEs are refused, so the value is plain text.
  std::unique_ptr<xmlChar, XmlStringDeleter> value(xmlGetNoNsProp(node, BAD_CAST name));
  if (!value) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(value.get()));
}

std::string text_of(const xmlNode* node) {
  if (!node) return "";
  std::unique_ptr<xmlChar, XmlStringDeleter> value(xmlNodeGetContent(node));
  if (!value) return "";
  std::string text(reinterpret_cast<const char*>(value.get()));
  size_t begin = text.find_first_not_of(" \t\r\n");
  size_t end = text.find_last_not_of(" \t\r\n");
  return begin == std::string::npos ? "" : text.substr(begin, end - begin + 1);
}

// <source file=...> for type='file', <source dev=...> for type='block'; "" for others (network
// disks never touch the host page cache of a local file).
std::string source_path(const xmlNode* disk_or_backing) {
  const xmlNode* source = child(disk_or_backing, "source");
  if (!source) return "";
  std::string type = attribute(disk_or_backing, "type").value_or("file");
  if (type == "file") return attribute(source, "file").value_or("");
  if (type == "block") return attribute(source, "dev").value_or("");
  return "";
}

// Follows <backingStore> elements. Returns whether the chain's end is known: libvirt writes an
// empty <backingStore/> at the end of a chain it has probed, and nothing when it has not.
bool read_backing_chain(const xmlNode* node, std::vector<std::string>& chain,
                        const std::string& origin) {
  for (int depth = 0; depth < 64; ++depth) {
    const xmlNode* backing = child(node, "backingStore");
    if (!backing) return false;
    if (!backing->children && !backing->properties) return true;
    std::string path = source_path(backing);
    if (path.empty()) return true;  // e.g. a network backing store: nothing local below
    chain.push_back(path);
    node = backing;
  }
  fail(origin, "backing chain deeper than 64 images");
}

DiscoveredDisk read_disk(const xmlNode* disk, const std::string& origin) {
  DiscoveredDisk result;
  result.disk.path = source_path(disk);
  const xmlNode* driver = child(disk, "driver");
  result.disk.format = attribute(driver, "type").value_or("");
  // No cache attribute means the hypervisor default, which for QEMU is writeback.
  std::string cache = attribute(driver, "cache").value_or("writeback");
  result.disk.cache = cache_mode_from_string(cache == "default" ? "writeback" : cache);
  result.backing_known = read_backing_chain(disk, result.disk.backing, origin);
  if (result.disk.format == "raw" && result.disk.backing.empty()) result.backing_known = true;
  return result;
}

void refuse_declarations(std::string_view xml, const std::string& origin) {
  if (xml.size() > kMaxXmlBytes) fail(origin, "larger than 16 MiB, refused");
  if (xml.find("<!DOCTYPE") != std::string_view::npos ||
      xml.find("<!ENTITY") != std::string_view::npos)
    fail(origin, "contains a DOCTYPE or ENTITY declaration, refused (domain XML has none)");
}

}  // namespace

DomainDescription parse_domain_xml(std::string_view xml, const std::string& origin) {
  refuse_declarations(xml, origin);
  xmlInitParser();
  std::unique_ptr<xmlParserCtxt, ParserContextDeleter> context(xmlNewParserCtxt());
  if (!context) fail(origin, "cannot allocate an XML parser");
  // No XML_PARSE_NOENT (no entity substitution), no DTDLOAD, no HUGE (keeps the depth and size
  // limits), no network.
  int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA;
  std::unique_ptr<xmlDoc, DocumentDeleter> document(xmlCtxtReadMemory(
      context.get(), xml.data(), static_cast<int>(xml.size()), "domain.xml", nullptr, options));
  if (!document || !context->wellFormed) {
    const xmlError* error = xmlCtxtGetLastError(context.get());
    std::string why = "malformed XML";
    if (error && error->message) {
      std::string message = error->message;
      while (!message.empty() && message.back() == '\n') message.pop_back();
      why += " at line " + std::to_string(error->line) + ": " + message;
    }
    fail(origin, why);
  }
  if (document->intSubset || document->extSubset) fail(origin, "has a DTD, refused");
  const xmlNode* root = xmlDocGetRootElement(document.get());
  if (!root || !is_element(root, "domain")) fail(origin, "root element is not <domain>");

  DomainDescription domain;
  domain.name = text_of(child(root, "name"));
  domain.uuid = text_of(child(root, "uuid"));
  const xmlNode* memory = child(root, "currentMemory");
  if (!memory) memory = child(root, "memory");
  if (memory) {
    std::string text = text_of(memory) + " " + attribute(memory, "unit").value_or("KiB");
    auto bytes = parse_size_with_unit(text, 1024);
    if (!bytes) fail(origin, "bad memory size '" + text + "'");
    domain.memory_bytes = *bytes;
  }
  if (const xmlNode* devices = child(root, "devices")) {
    for (const xmlNode* node = devices->children; node; node = node->next) {
      if (!is_element(node, "disk")) continue;
      DiscoveredDisk disk = read_disk(node, origin);
      if (!disk.disk.path.empty()) domain.disks.push_back(std::move(disk));
    }
  }
  return domain;
}

}  // namespace singleton
