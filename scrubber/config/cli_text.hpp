// Texts of `singleton --help` shared by the commands: what the tool does and its exit codes.
#pragma once

namespace singleton {

inline constexpr const char* kExitCodesHelp =
    "Exit codes:\n"
    "  0  done\n"
    "  1  done in part: a VM or an image failed (named on stderr / in the JSON), the rest was "
    "done\n"
    "  2  usage or configuration error (bad option, missing image, unknown VM)\n"
    "  3  environment: not root, unsupported kernel, module missing, another pass holds the "
    "lock\n";

inline constexpr const char* kSharedPolicyHelp =
    "Shared images (one backing file under several VMs):\n"
    "  --shared-policy all (default) evicts a page only when EVERY VM attached to the image\n"
    "    holds its content: the host copy still serves the VMs that lack it, and one tenant's\n"
    "    memory never decides what another tenant has to wait for (no cross-VM timing signal).\n"
    "    What `all` still allows: a VM learns nothing from a page it does not hold; when every\n"
    "    VM on the image holds a block, each of them sees the next one's read of it go to disk\n"
    "    (the same as if the host had evicted it under memory pressure).\n"
    "  --shared-policy any evicts when ONE attached VM holds it: a smaller host cache, at the\n"
    "    cost of disk re-reads by the others. SINGLE-TENANT HOSTS ONLY: a guest that reads (or\n"
    "    merely holds) a shared base image's content evicts it for every tenant, so one\n"
    "    tenant's memory decides what the others wait for, and can time their reads.\n";

}  // namespace singleton
