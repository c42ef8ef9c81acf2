#include "scrubber/report/readonly_overlay.hpp"

#include <stdlib.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdlib>

#include "snapshot/base/error.hpp"
#include "snapshot/base/subprocess.hpp"

namespace singleton {

std::string chain_json(const std::vector<ChainFile>& chain) {
  boost::json::value below = nullptr;
  for (size_t i = chain.size(); i-- > 0;) {
    const ChainFile& f = chain[i];
    boost::json::object node{
        {"driver", f.format},
        {"file", {{"driver", f.block_device ? "host_device" : "file"},
                  {"filename", f.path},
                  {"locking", "off"},
                  {"cache", {{"direct", f.direct}}}}}};
    if (f.format == "qcow2") node["backing"] = below;  // null: no (further) backing file
    below = std::move(node);
  }
  return "json:" + boost::json::serialize(below);
}

ReadOnlyOverlay::ReadOnlyOverlay(const std::vector<ChainFile>& chain, uint64_t virtual_size) {
  if (chain.empty()) throw Error(ExitCode::kPartial, "no image to inspect");
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") +
                        "/singleton-report-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) throw_errno("mkdtemp " + pattern);
  dir_ = pattern;
  path_ = dir_ + "/overlay.qcow2";
  const ProgramOutput out =
      run_program({"qemu-img", "create", "-q", "-f", "qcow2", "-u", "-b", chain_json(chain), "-F",
                   chain.front().format, path_, std::to_string(virtual_size)});
  if (out.exit_status != 0) {
    ::rmdir(dir_.c_str());
    throw Error(ExitCode::kPartial, "qemu-img create (overlay for " + chain.front().path +
                                        "): " + out.err.substr(0, 500));
  }
}

ReadOnlyOverlay::~ReadOnlyOverlay() {
  ::unlink(path_.c_str());
  ::rmdir(dir_.c_str());
}

}  // namespace singleton
