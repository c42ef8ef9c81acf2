// Chooses the PageCacheView backend for `--backend auto|kmod|mincore`.
#include <string>
#include <string_view>

#include "scrubber/pagecache/page_cache_backends.hpp"
#include "scrubber/pagecache/page_cache_view.hpp"
#include "snapshot/base/error.hpp"

namespace singleton {
namespace {

struct Backend {
  std::string_view name;
  std::unique_ptr<PageCacheView> (*make)();
};

// The backends, in the order `auto` prefers them. Registering a backend is one line here (its
// maker declared in page_cache_backends.hpp, its file listed in scrubber/pagecache/CMakeLists.txt).
constexpr Backend kBackends[] = {
    {"kmod", &make_kmod_page_cache_view},
    {"mincore", &make_mincore_page_cache_view},
};

}  // namespace

BackendChoice backend_choice_from_string(const std::string& text) {
  if (text == "auto") return BackendChoice::kAuto;
  if (text == "kmod") return BackendChoice::kKmod;
  if (text == "mincore") return BackendChoice::kMincore;
  throw Error(ExitCode::kUsage, "unknown backend '" + text + "' (expected auto, kmod or mincore)");
}

ChosenView make_page_cache_view(BackendChoice choice) {
  if (choice != BackendChoice::kAuto) {
    const std::string_view wanted = choice == BackendChoice::kKmod ? "kmod" : "mincore";
    for (const Backend& backend : kBackends) {
      if (backend.name == wanted) return ChosenView{backend.make(), ""};
    }
    throw Error(ExitCode::kEnvironment,
                "backend " + std::string(wanted) +
                    " is not available: this singleton was built without it (the "
                    "singleton_pcache module backend is not part of this build yet)");
  }
  std::string note;
  bool kmod_registered = false;
  for (const Backend& backend : kBackends) kmod_registered |= backend.name == "kmod";
  if (!kmod_registered) note = "kmod: not built into this singleton; ";
  for (const Backend& backend : kBackends) {
    try {
      auto view = backend.make();
      if (!note.empty()) note += "using " + std::string(backend.name);
      return ChosenView{std::move(view), note};
    } catch (const Error& unavailable) {
      // Remember why, so the user learns why a slower backend was used.
      note += std::string(backend.name) + ": " + unavailable.what() + "; ";
    }
  }
  throw Error(ExitCode::kEnvironment, "no page-cache backend works here: " + note);
}

}  // namespace singleton
