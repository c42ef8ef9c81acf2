// Names that came from other processes (VM names, image paths) made safe to show: a control byte or
// invalid UTF-8 in them must not move the cursor, clear the terminal, split a log line or a
// Prometheus sample.
#pragma once

#include <string>
#include <string_view>

namespace singleton {

// `text` with every control byte (C0, DEL, C1 code points) and every byte that is not part of valid
// UTF-8 written as \xHH; everything else (printable UTF-8) unchanged.
std::string printable(std::string_view text);

// True when printable(text) == text.
bool is_printable(std::string_view text);

}  // namespace singleton
