// Decoding of COPY's text format (one data row per line, tab-separated, \N for NULL,
// backslash escapes) into a ChangeBatch row. The fields are the same output-function
// text forms pgoutput sends, so a snapshot row and a streamed row go through the same
// value codecs.
#pragma once

#include <string>
#include <string_view>

#include "core/change.h"
#include "core/status.h"

namespace walflow::pg {

class CopyTextDecoder {
 public:
  // Appends a row of `ncols` datums to `batch` and returns the index of its first datum.
  // A line with a different number of fields is an error naming what it found.
  Result<int32_t> DecodeRow(std::string_view line, size_t ncols, ChangeBatch* batch);

 private:
  std::string scratch_;
};

}  // namespace walflow::pg
