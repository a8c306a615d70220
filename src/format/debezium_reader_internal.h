// Message helpers shared by the pieces of the Debezium reader (debezium_reader.h): how a
// value appears in an error, so every piece reports alike.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"
#include "format/json_tree.h"

namespace walflow::format {

// A value's text in a message: quoted, and cut after 64 bytes ("...") as the encoder cuts it.
std::string Shown(std::string_view text);

// A name in a message, quoted whole.
std::string Quoted(std::string_view name);

// "expected <what>, got <JSON type>".
Status Expected(const char* what, const JsonValue& got);

}  // namespace walflow::format
