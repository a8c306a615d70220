#include "pg/stream_spool.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace walflow::pg {
namespace {

constexpr size_t kRecordHeader = 12;  // u64 WAL position + u32 length

void PutHeader(char* p, Lsn lsn, uint32_t len) {
  std::memcpy(p, &lsn.value, 8);
  std::memcpy(p + 8, &len, 4);
}

// Closes the FILE when the replay ends, however it ends.
struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};

}  // namespace

StreamSpool::StreamSpool(std::string dir, Xid top_xid, size_t memory_limit)
    : path_(std::move(dir) + "/xact-" + std::to_string(top_xid.value) + ".spool"),
      top_xid_(top_xid),
      memory_limit_(memory_limit) {}

StreamSpool::~StreamSpool() {
  if (created_) ::unlink(path_.c_str());
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
  if (buffer_.empty() && created_) return Status::OK();
  // The first spill creates (or empties) the file; later ones append.
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (created_ ? O_APPEND : O_TRUNC);
  const int fd = ::open(path_.c_str(), flags, 0600);
  if (fd < 0) {
    return IOError("cannot create spool file " + path_ + " for streamed transaction " +
                   std::to_string(top_xid_.value) + ": " + std::strerror(errno));
  }
  created_ = true;
  size_t written = 0;
  while (written < buffer_.size()) {
    ssize_t n = ::write(fd, buffer_.data() + written, buffer_.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status s = IOError("cannot write spool file " + path_ + ": " + std::strerror(errno));
      ::close(fd);
      // What reached the file before the error is not counted: cut it off again.
      (void)::truncate(path_.c_str(), static_cast<off_t>(file_bytes_));
      return s;
    }
    written += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) {
    return IOError("cannot write spool file " + path_ + ": " + std::strerror(errno));
  }
  file_bytes_ += buffer_.size();
  buffer_.clear();
  buffer_.shrink_to_fit();  // the memory limit counts what is held, so give it back
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
    if (::truncate(path_.c_str(), static_cast<off_t>(cut)) != 0) {
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
  if (file_bytes_ > 0) {
    std::unique_ptr<FILE, FileCloser> file(std::fopen(path_.c_str(), "rbe"));
    if (file == nullptr) {
      return IOError("cannot read spool file " + path_ + ": " + std::strerror(errno));
    }
    uint64_t read = 0;
    char header[kRecordHeader];
    while (read < file_bytes_) {
      if (std::fread(header, 1, kRecordHeader, file.get()) != kRecordHeader) {
        return DataLoss("spool file " + path_ + " is shorter than written");
      }
      uint64_t lsn;
      uint32_t len;
      std::memcpy(&lsn, header, 8);
      std::memcpy(&len, header + 8, 4);
      record.resize(len);
      if (len > 0 && std::fread(record.data(), 1, len, file.get()) != len) {
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

StreamSpools::StreamSpools(std::string dir, size_t memory_limit)
    : dir_(std::move(dir)), memory_limit_(memory_limit) {}

StreamSpool& StreamSpools::Open(Xid top_xid) {
  auto& spool = spools_[top_xid];
  if (!spool) spool = std::make_unique<StreamSpool>(dir_, top_xid, memory_limit_);
  return *spool;
}

StreamSpool* StreamSpools::Find(Xid top_xid) {
  auto it = spools_.find(top_xid);
  return it == spools_.end() ? nullptr : it->second.get();
}

void StreamSpools::Forget(const StreamSpool& spool) {
  bytes_ -= spool.bytes();
  memory_ -= spool.memory_bytes();
}

std::unique_ptr<StreamSpool> StreamSpools::Take(Xid top_xid) {
  auto it = spools_.find(top_xid);
  if (it == spools_.end()) return nullptr;
  std::unique_ptr<StreamSpool> spool = std::move(it->second);
  spools_.erase(it);
  Forget(*spool);
  return spool;
}

void StreamSpools::Drop(Xid top_xid) { Take(top_xid).reset(); }

Status StreamSpools::Update(StreamSpool& spool, const std::function<Status()>& op) {
  const uint64_t bytes_before = spool.bytes();
  const uint64_t memory_before = spool.memory_bytes();
  Status s = op();
  bytes_ = bytes_ - bytes_before + spool.bytes();
  memory_ = memory_ - memory_before + spool.memory_bytes();
  WF_RETURN_IF_ERROR(s);
  while (memory_ > memory_limit_) {
    StreamSpool* largest = nullptr;
    for (auto& [xid, candidate] : spools_) {
      if (largest == nullptr || candidate->memory_bytes() > largest->memory_bytes()) {
        largest = candidate.get();
      }
    }
    if (largest == nullptr || largest->memory_bytes() == 0) break;
    const uint64_t held = largest->memory_bytes();
    WF_RETURN_IF_ERROR(largest->Spill());
    memory_ -= held - largest->memory_bytes();
  }
  return Status::OK();
}

Status StreamSpools::Append(StreamSpool& spool, Lsn wal_start, Xid xid, std::string_view message,
                            bool is_schema) {
  return Update(spool, [&] { return spool.Append(wal_start, xid, message, is_schema); });
}

Status StreamSpools::AbortSubtransaction(StreamSpool& spool, Xid sub_xid) {
  return Update(spool, [&] { return spool.AbortSubtransaction(sub_xid); });
}

}  // namespace walflow::pg
