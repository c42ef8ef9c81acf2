// `singleton pagecache FILE...`: what the host page cache holds of files (like fincore), with
// --pages every cached page with its hash and flags.
#pragma once

#include <string>
#include <vector>

namespace singleton {

int run_pagecache_command(const std::vector<std::string>& args);

}  // namespace singleton
