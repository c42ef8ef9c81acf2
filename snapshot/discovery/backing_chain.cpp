#include "snapshot/discovery/backing_chain.hpp"

#include <boost/json.hpp>

#include "snapshot/base/error.hpp"
#include "snapshot/base/subprocess.hpp"

namespace singleton {

std::vector<std::string> parse_qemu_img_backing_chain(std::string_view json_text,
                                                      const std::string& origin) {
  boost::system::error_code error;
  boost::json::value value = boost::json::parse(json_text, error);
  if (error) throw Error(ExitCode::kPartial, origin + ": unparsable JSON: " + error.message());
  // --backing-chain gives an array (top image first); without it, one object.
  std::vector<std::string> chain;
  if (!value.is_array()) {
    if (!value.is_object()) throw Error(ExitCode::kPartial, origin + ": not a JSON array");
    return chain;
  }
  const auto& images = value.as_array();
  for (size_t i = 1; i < images.size(); ++i) {
    const auto* image = images[i].if_object();
    const auto* filename = image ? image->if_contains("filename") : nullptr;
    if (!filename || !filename->is_string())
      throw Error(ExitCode::kPartial, origin + ": image " + std::to_string(i) + " has no filename");
    chain.emplace_back(filename->as_string());
  }
  return chain;
}

std::vector<std::string> query_backing_chain(const std::string& path, const std::string& format) {
  std::string origin = "qemu-img info " + path;
  // Without -f qemu-img probes the format, and an image whose content looks like qcow2 names any
  // file as its backing (CVE-2024-4467 pattern).
  if (format.empty()) throw Error(ExitCode::kUsage, origin + ": no format given: not probed");
  ProgramOutput output = run_confined(
      {"qemu-img", "info", "-U", "--backing-chain", "--output=json", "-f", format, "--", path},
      Confinement{});
  if (output.timed_out) throw Error(ExitCode::kPartial, origin + ": timed out");
  if (output.exit_status != 0) {
    std::string err = output.err;
    while (!err.empty() && err.back() == '\n') err.pop_back();
    throw Error(ExitCode::kPartial,
                origin + ": exit " + std::to_string(output.exit_status) + ": " + err);
  }
  return parse_qemu_img_backing_chain(output.out, origin);
}

}  // namespace singleton
