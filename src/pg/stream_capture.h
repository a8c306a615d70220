// A recording of the pgoutput messages of a replication session, for bug reports and
// replay tests: frames of [u64 WAL start, little-endian][u32 length][message], in arrival
// order. Replaying the frames through PgOutputDecoder reproduces the session's events.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>

#include "core/ids.h"
#include "core/status.h"

namespace walflow::pg {

class StreamCaptureWriter {
 public:
  StreamCaptureWriter() = default;
  ~StreamCaptureWriter();
  StreamCaptureWriter(const StreamCaptureWriter&) = delete;
  StreamCaptureWriter& operator=(const StreamCaptureWriter&) = delete;

  // Opens `path` for appending.
  Status Open(const std::string& path);
  Status Append(Lsn wal_start, std::string_view message);
  bool is_open() const { return file_ != nullptr; }

 private:
  FILE* file_ = nullptr;
  std::string path_;
};

// Calls `fn` for each frame of a capture held in memory; kDataLoss on a truncated frame.
Status ReadCapture(std::string_view bytes, const std::function<Status(Lsn, std::string_view)>& fn);

}  // namespace walflow::pg
