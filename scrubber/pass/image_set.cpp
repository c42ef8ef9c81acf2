#include "scrubber/pass/image_set.hpp"

#include <map>
#include <utility>

#include "snapshot/base/error.hpp"

namespace singleton {

ImageSet collect_images(const std::vector<Vm>& vms) {
  ImageSet set;
  std::map<std::pair<uint64_t, uint64_t>, size_t> by_inode;
  std::map<std::string, size_t> failed_by_path;
  auto attach = [](Image& image, size_t vm) {
    if (image.vms.empty() || image.vms.back() != vm) image.vms.push_back(vm);
  };
  for (size_t v = 0; v < vms.size(); ++v) {
    for (const VmDisk& disk : vms[v].disks) {
      if (!uses_host_cache(disk.cache)) {
        set.uncached_disks.push_back(vms[v].name + ": " + disk.path +
                                     " (cache=" + to_string(disk.cache) + ")");
        continue;
      }
      std::vector<std::string> chain{disk.path};
      chain.insert(chain.end(), disk.backing.begin(), disk.backing.end());
      for (size_t i = 0; i < chain.size(); ++i) {
        const std::string& path = chain[i];
        try {
          ReadOnlyFile file(path);
          // Discovery matched the path to a file the VMM holds open; the path may name another file
          // by now (renamed over): only that file may be read for this VM.
          if (disk.held.size() == chain.size() &&
              FileId{file.device(), file.inode()} != disk.held[i]) {
            throw Error(
                ExitCode::kPartial,
                "image " + path + ": not the file the VM holds open (replaced since discovery)");
          }
          const auto key = std::make_pair(file.device(), file.inode());
          auto [it, inserted] = by_inode.emplace(key, set.images.size());
          if (inserted) set.images.push_back(Image{path, std::move(file), {}, ""});
          attach(set.images[it->second], v);
        } catch (const Error& e) {
          auto [it, inserted] = failed_by_path.emplace(path, set.images.size());
          if (inserted) set.images.push_back(Image{path, std::nullopt, {}, e.what()});
          attach(set.images[it->second], v);
        }
      }
    }
  }
  return set;
}

}  // namespace singleton
