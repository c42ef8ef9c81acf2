#include "snapshot/discovery/qemu_cmdline.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "snapshot/discovery/discovery_limits.hpp"

namespace singleton {
namespace {

namespace json = boost::json;

// QEMU's "key=value,key=value" with ",," for a literal comma. A first item without '=' is stored
// under `implied_key` (-name foo, -m 512).
std::vector<std::pair<std::string, std::string>> split_options(std::string_view text,
                                                               const std::string& implied_key) {
  std::vector<std::pair<std::string, std::string>> items;
  std::string current;
  auto finish = [&] {
    size_t equals = current.find('=');
    if (equals == std::string::npos) {
      items.emplace_back(items.empty() ? implied_key : current, items.empty() ? current : "on");
    } else {
      items.emplace_back(current.substr(0, equals), current.substr(equals + 1));
    }
    current.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == ',') {
      if (i + 1 < text.size() && text[i + 1] == ',') {
        current += ',';
        ++i;
        continue;
      }
      finish();
    } else {
      current += text[i];
    }
  }
  if (!text.empty()) finish();
  return items;
}

std::optional<std::string> find(const std::vector<std::pair<std::string, std::string>>& items,
                                const std::string& key) {
  for (const auto& [k, v] : items)
    if (k == key) return v;
  return std::nullopt;
}

bool is_on(const std::string& value) { return value == "on" || value == "true" || value == "yes"; }

CacheMode drive_cache_mode(const std::vector<std::pair<std::string, std::string>>& items) {
  if (auto cache = find(items, "cache")) return cache_mode_from_string(*cache);
  auto direct = find(items, "cache.direct");
  if (direct && is_on(*direct)) return CacheMode::kNone;
  auto no_flush = find(items, "cache.no-flush");
  if (no_flush && is_on(*no_flush)) return CacheMode::kUnsafe;
  return CacheMode::kWriteback;  // QEMU's default
}

std::optional<DiscoveredDisk> parse_drive(std::string_view value) {
  auto items = split_options(value, "file");
  DiscoveredDisk disk;
  disk.disk.path = find(items, "file").value_or(find(items, "file.filename").value_or(""));
  if (disk.disk.path.empty()) return std::nullopt;  // an empty drive (cdrom without media)
  disk.disk.format = find(items, "format").value_or("");
  disk.disk.cache = drive_cache_mode(items);
  disk.backing_known = disk.disk.format == "raw";
  return disk;
}

// -blockdev in keyval form ("driver=file,filename=/x,cache.direct=on") as the JSON object the
// JSON form would give ({"driver":"file","filename":"/x","cache":{"direct":"on"}}).
json::object keyval_to_object(std::string_view text) {
  json::object root;
  for (const auto& [key, value] : split_options(text, "driver")) {
    json::object* node = &root;
    std::string_view rest = key;
    for (size_t dot; (dot = rest.find('.')) != std::string_view::npos;
         rest.remove_prefix(dot + 1)) {
      json::value& next = (*node)[rest.substr(0, dot)];
      if (!next.is_object()) next = json::object();
      node = &next.as_object();
    }
    (*node)[rest] = value;
  }
  return root;
}

std::optional<json::object> parse_blockdev(std::string_view text) {
  if (!text.empty() && text.front() == '{') {
    boost::system::error_code error;
    json::value value = json::parse(text, error);
    if (error || !value.is_object()) return std::nullopt;
    return value.as_object();
  }
  return keyval_to_object(text);
}

std::string string_of(const json::object& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->value().is_string() ? std::string(it->value().as_string()) : "";
}

bool flag_of(const json::value* value) {
  if (!value) return false;
  if (value->is_bool()) return value->as_bool();
  return value->is_string() && is_on(std::string(value->as_string()));
}

bool is_protocol_driver(const std::string& driver) {
  return driver == "file" || driver == "host_device" || driver == "host_cdrom";
}

bool is_filter_driver(const std::string& driver) {
  return driver == "throttle" || driver == "copy-on-read" || driver == "preallocate" ||
         driver == "blkdebug" || driver == "blklogwrites" || driver == "compress";
}

// The graph of -blockdev nodes: each top node (not a child of another) is one disk.
class BlockdevGraph {
 public:
  void add(json::object node) {
    std::string name = string_of(node, "node-name");
    if (name.empty()) name = "#anonymous" + std::to_string(nodes_.size());
    order_.push_back(name);
    nodes_[name] = std::move(node);
  }
  size_t size() const { return order_.size(); }

  // Linear in the number of nodes (hash lookups): a command line of many nodes costs little more
  // than reading it (kMaxBlockdevNodes bounds it anyway).
  std::vector<DiscoveredDisk> disks() const {
    std::unordered_set<std::string> children;
    for (const auto& [name, node] : nodes_) {
      for (const char* key : {"file", "backing"}) {
        auto it = node.find(key);
        if (it != node.end() && it->value().is_string()) children.emplace(it->value().as_string());
      }
    }
    std::vector<DiscoveredDisk> result;
    for (const auto& name : order_) {
      if (children.count(name)) continue;
      DiscoveredDisk disk;
      const json::object& top = nodes_.at(name);
      describe(top, disk, 0);
      if (disk.disk.path.empty()) continue;
      auto backing = top.find("backing");
      if (backing != top.end()) {
        disk.backing_known = true;
        if (backing->value().is_string())
          collect_backing(std::string(backing->value().as_string()), disk.disk.backing, 0);
      } else {
        disk.backing_known = disk.disk.format == "raw";
      }
      result.push_back(std::move(disk));
    }
    return result;
  }

 private:
  const json::object* resolve(const json::value& reference) const {
    if (reference.is_object()) return &reference.as_object();
    if (!reference.is_string()) return nullptr;
    auto it = nodes_.find(std::string(reference.as_string()));
    return it == nodes_.end() ? nullptr : &it->second;
  }

  // Walks a node down its "file" children to the protocol node: format and path, cache mode.
  void describe(const json::object& node, DiscoveredDisk& disk, int depth) const {
    if (depth > 16) return;
    std::string driver = string_of(node, "driver");
    const json::value* direct = nullptr;
    const json::value* no_flush = nullptr;
    if (auto cache = node.find("cache"); cache != node.end() && cache->value().is_object()) {
      direct = cache->value().as_object().if_contains("direct");
      no_flush = cache->value().as_object().if_contains("no-flush");
    }
    if (flag_of(direct)) disk.disk.cache = CacheMode::kNone;
    if (disk.disk.cache == CacheMode::kUnknown && flag_of(no_flush))
      disk.disk.cache = CacheMode::kUnsafe;
    if (is_protocol_driver(driver)) {
      disk.disk.path = string_of(node, "filename");
      if (disk.disk.cache == CacheMode::kUnknown) disk.disk.cache = CacheMode::kWriteback;
      return;
    }
    if (!is_filter_driver(driver) && disk.disk.format.empty()) disk.disk.format = driver;
    auto file = node.find("file");
    if (file == node.end()) return;
    if (const json::object* child = resolve(file->value())) describe(*child, disk, depth + 1);
  }

  void collect_backing(const std::string& name, std::vector<std::string>& chain, int depth) const {
    auto it = nodes_.find(name);
    // One past the bound: the caller sees the chain is too deep and says so.
    if (it == nodes_.end() || depth > static_cast<int>(kMaxChainDepth)) return;
    DiscoveredDisk layer;
    describe(it->second, layer, 0);
    if (!layer.disk.path.empty()) chain.push_back(layer.disk.path);
    auto backing = it->second.find("backing");
    if (backing != it->second.end() && backing->value().is_string())
      collect_backing(std::string(backing->value().as_string()), chain, depth + 1);
  }

  std::unordered_map<std::string, json::object> nodes_;
  std::vector<std::string> order_;
};

std::string option_name(const std::string& arg) {
  if (arg.size() > 2 && arg[0] == '-' && arg[1] == '-') return arg.substr(1);
  return arg;
}

}  // namespace

bool is_qemu_command(const std::vector<std::string>& argv) {
  if (argv.empty()) return false;
  std::string_view program = argv[0];
  size_t slash = program.rfind('/');
  if (slash != std::string_view::npos) program.remove_prefix(slash + 1);
  return program.rfind("qemu-system-", 0) == 0 || program == "qemu-kvm";
}

QemuCommandLine parse_qemu_cmdline(const std::vector<std::string>& argv) {
  QemuCommandLine result;
  result.ram_bytes = uint64_t{128} << 20;
  BlockdevGraph blockdevs;
  for (size_t i = 1; i + 1 < argv.size(); ++i) {
    std::string option = option_name(argv[i]);
    const std::string& value = argv[i + 1];
    if (option == "-name") {
      auto items = split_options(value, "guest");
      result.name = find(items, "guest").value_or("");
    } else if (option == "-uuid") {
      result.uuid = value;
    } else if (option == "-m") {
      auto items = split_options(value, "size");
      if (auto size = find(items, "size")) {
        if (auto bytes = parse_size_with_unit(*size, uint64_t{1} << 20)) result.ram_bytes = *bytes;
      }
    } else if (option == "-drive") {
      if (result.disks.size() == kMaxDisksPerVm) {
        result.too_much = "more than " + std::to_string(kMaxDisksPerVm) + " disks";
        return result;
      }
      if (auto disk = parse_drive(value)) result.disks.push_back(std::move(*disk));
    } else if (option == "-hda" || option == "-hdb" || option == "-hdc" || option == "-hdd") {
      if (result.disks.size() == kMaxDisksPerVm) {
        result.too_much = "more than " + std::to_string(kMaxDisksPerVm) + " disks";
        return result;
      }
      DiscoveredDisk disk;
      disk.disk.path = value;
      disk.disk.cache = CacheMode::kWriteback;
      result.disks.push_back(std::move(disk));
    } else if (option == "-blockdev") {
      // Stop before parsing more: the bound is on the work as much as on the result.
      if (blockdevs.size() == kMaxBlockdevNodes) {
        result.too_much = "more than " + std::to_string(kMaxBlockdevNodes) + " -blockdev nodes";
        return result;
      }
      if (auto node = parse_blockdev(value)) blockdevs.add(std::move(*node));
    } else {
      continue;  // a flag or an option we do not need; its value (if any) is skipped next round
    }
    ++i;
  }
  for (auto& disk : blockdevs.disks()) result.disks.push_back(std::move(disk));
  if (result.disks.size() > kMaxDisksPerVm)
    result.too_much = "more than " + std::to_string(kMaxDisksPerVm) + " disks";
  return result;
}

}  // namespace singleton
