// Positions of a partitioned source (Kafka): the next offset to read of each partition,
// written "topic:partition=offset,..." (Kafka topic names use only [a-zA-Z0-9._-], so the
// text needs no escaping wherever a sink stores it).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "core/status.h"

namespace walflow::runtime {

using SourceOffsets = std::map<std::string, int64_t>;  // "topic:partition" → next offset

std::string FormatSourceOffsets(const SourceOffsets& offsets);
// InvalidArgument naming the damaged entry.
Result<SourceOffsets> ParseSourceOffsets(const std::string& text);
// Raises each entry of `into` to at least the one in `from`.
void MergeSourceOffsets(const SourceOffsets& from, SourceOffsets* into);

}  // namespace walflow::runtime
