#include "pg/stream_capture.h"

#include <cerrno>
#include <cstring>

namespace walflow::pg {

StreamCaptureWriter::~StreamCaptureWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

Status StreamCaptureWriter::Open(const std::string& path) {
  file_ = std::fopen(path.c_str(), "ab");
  if (file_ == nullptr) {
    return IOError("cannot open capture file " + path + ": " + std::strerror(errno));
  }
  path_ = path;
  return Status::OK();
}

Status StreamCaptureWriter::Append(Lsn wal_start, std::string_view message) {
  char header[12];
  for (int i = 0; i < 8; ++i) header[i] = static_cast<char>((wal_start.value >> (8 * i)) & 0xff);
  const auto len = static_cast<uint32_t>(message.size());
  for (int i = 0; i < 4; ++i) header[8 + i] = static_cast<char>((len >> (8 * i)) & 0xff);
  if (std::fwrite(header, 1, sizeof header, file_) != sizeof header ||
      std::fwrite(message.data(), 1, message.size(), file_) != message.size()) {
    return IOError("cannot write capture file " + path_ + ": " + std::strerror(errno));
  }
  return Status::OK();
}

Status ReadCapture(std::string_view bytes, const std::function<Status(Lsn, std::string_view)>& fn) {
  size_t pos = 0;
  while (pos < bytes.size()) {
    if (bytes.size() - pos < 12) return DataLoss("capture ends inside a frame header");
    uint64_t lsn = 0;
    uint32_t len = 0;
    for (int i = 7; i >= 0; --i) lsn = (lsn << 8) | static_cast<uint8_t>(bytes[pos + i]);
    for (int i = 3; i >= 0; --i) len = (len << 8) | static_cast<uint8_t>(bytes[pos + 8 + i]);
    pos += 12;
    if (bytes.size() - pos < len) return DataLoss("capture ends inside a message");
    WF_RETURN_IF_ERROR(fn(Lsn(lsn), bytes.substr(pos, len)));
    pos += len;
  }
  return Status::OK();
}

}  // namespace walflow::pg
