#include "pg/stream_spool.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace walflow::pg {
namespace {

constexpr size_t kRecordHeader = 12;  // u64 WAL position + u32 length

void PutHeader(char* p, Lsn lsn, uint32_t len) {
  std::memcpy(p, &lsn.value, 8);
  std::memcpy(p + 8, &len, 4);
}

}  // namespace

StreamSpool::StreamSpool(std::string dir, Xid top_xid, size_t memory_limit)
    : path_(std::move(dir) + "/xact-" + std::to_string(top_xid.value) + ".spool"),
      top_xid_(top_xid),
      memory_limit_(memory_limit) {}

StreamSpool::~StreamSpool() {
  if (file_ != nullptr) {
    std::fclose(file_);
    ::unlink(path_.c_str());
  }
}

Status StreamSpool::AppendRecord(Lsn wal_start, std::string_view message) {
  char header[kRecordHeader];
  PutHeader(header, wal_start, static_cast<uint32_t>(message.size()));
  buffer_.append(header, kRecordHeader);
  buffer_.append(message);
  if (buffer_.size() > memory_limit_) return Spill();
  return Status::OK();
}

Status StreamSpool::Append(Lsn wal_start, Xid xid, std::string_view message, bool is_schema) {
  if (xid != top_xid_ && (subxacts_.empty() || subxacts_.back().xid != xid)) {
    bool seen = false;
    for (const auto& s : subxacts_) seen |= s.xid == xid;
    if (!seen) subxacts_.push_back({xid, bytes()});
  }
  if (is_schema) schema_records_.push_back({bytes(), wal_start, std::string(message)});
  return AppendRecord(wal_start, message);
}

Status StreamSpool::Spill() {
  if (file_ == nullptr) {
    file_ = std::fopen(path_.c_str(), "w+b");
    if (file_ == nullptr) {
      return IOError("cannot create spool file " + path_ + " for streamed transaction " +
                     std::to_string(top_xid_.value) + ": " + std::strerror(errno));
    }
  }
  if (!buffer_.empty()) {
    if (std::fseek(file_, 0, SEEK_END) != 0 ||
        std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size()) {
      return IOError("cannot write spool file " + path_ + ": " + std::strerror(errno));
    }
    file_bytes_ += buffer_.size();
    buffer_.clear();
  }
  return Status::OK();
}

Status StreamSpool::AbortSubtransaction(Xid sub_xid) {
  size_t i = 0;
  while (i < subxacts_.size() && subxacts_[i].xid != sub_xid) ++i;
  if (i == subxacts_.size()) return Status::OK();  // it wrote nothing we hold
  const uint64_t cut = subxacts_[i].offset;
  subxacts_.resize(i);
  if (cut >= file_bytes_) {
    buffer_.resize(cut - file_bytes_);
  } else {
    if (std::fflush(file_) != 0 || ::ftruncate(fileno(file_), static_cast<off_t>(cut)) != 0) {
      return IOError("cannot truncate spool file " + path_ + ": " + std::strerror(errno));
    }
    file_bytes_ = cut;
    buffer_.clear();
  }
  // Re-add the schema messages that were cut off.
  std::vector<SchemaRecord> kept, readd;
  for (auto& r : schema_records_) (r.offset < cut ? kept : readd).push_back(std::move(r));
  schema_records_ = std::move(kept);
  for (auto& r : readd) {
    schema_records_.push_back({bytes(), r.wal_start, r.message});
    WF_RETURN_IF_ERROR(AppendRecord(r.wal_start, r.message));
  }
  return Status::OK();
}

Status StreamSpool::Replay(const std::function<Status(Lsn, std::string_view)>& fn) {
  std::string record;
  if (file_ != nullptr) {
    if (std::fflush(file_) != 0 || std::fseek(file_, 0, SEEK_SET) != 0) {
      return IOError("cannot read spool file " + path_ + ": " + std::strerror(errno));
    }
    uint64_t read = 0;
    char header[kRecordHeader];
    while (read < file_bytes_) {
      if (std::fread(header, 1, kRecordHeader, file_) != kRecordHeader) {
        return DataLoss("spool file " + path_ + " is shorter than written");
      }
      uint64_t lsn;
      uint32_t len;
      std::memcpy(&lsn, header, 8);
      std::memcpy(&len, header + 8, 4);
      record.resize(len);
      if (len > 0 && std::fread(record.data(), 1, len, file_) != len) {
        return DataLoss("spool file " + path_ + " is shorter than written");
      }
      read += kRecordHeader + len;
      WF_RETURN_IF_ERROR(fn(Lsn(lsn), record));
    }
  }
  size_t pos = 0;
  while (pos + kRecordHeader <= buffer_.size()) {
    uint64_t lsn;
    uint32_t len;
    std::memcpy(&lsn, buffer_.data() + pos, 8);
    std::memcpy(&len, buffer_.data() + pos + 8, 4);
    WF_RETURN_IF_ERROR(fn(Lsn(lsn), std::string_view(buffer_.data() + pos + kRecordHeader, len)));
    pos += kRecordHeader + len;
  }
  return Status::OK();
}

}  // namespace walflow::pg
