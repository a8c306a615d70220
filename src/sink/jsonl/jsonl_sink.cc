#include "sink/jsonl/jsonl_sink.h"

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "core/log.h"
#include "format/json_writer.h"

namespace walflow::sink {
namespace {

constexpr const char* kPositionFile = ".walflow-position";
constexpr const char* kLockFile = ".walflow-lock";
constexpr size_t kWriteChunk = 1 << 20;

// Reads "key": <value> from walflow's own position file.
std::string JsonField(const std::string& text, const std::string& key) {
  auto p = text.find("\"" + key + "\":");
  if (p == std::string::npos) return "";
  p += key.size() + 3;
  while (p < text.size() && text[p] == ' ') ++p;
  bool quoted = p < text.size() && text[p] == '"';
  if (quoted) ++p;
  auto end = text.find_first_of(quoted ? "\"" : ",}\n", p);
  return text.substr(p, end == std::string::npos ? std::string::npos : end - p);
}

bool ParseFileSeq(const std::string& name, uint64_t* seq) {
  if (name.size() != 25 || name.compare(0, 8, "changes-") != 0 ||
      name.compare(20, 5, "jsonl") != 0 || name[19] != '.') {
    return false;
  }
  uint64_t v = 0;
  for (size_t i = 8; i < 19; ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
    v = v * 10 + (name[i] - '0');
  }
  *seq = v;
  return true;
}

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

JsonlSink::JsonlSink(JsonlSinkOptions options)
    : options_(std::move(options)), encoder_(options_.encoding) {}

JsonlSink::~JsonlSink() = default;

Result<std::optional<JsonlSink::CommitPoint>> JsonlSink::ReadPosition(const std::string& dir) {
  auto position = storage::ReadFile(dir + "/" + kPositionFile);
  if (!position.ok()) {
    if (position.status().code() == StatusCode::kNotFound) return std::optional<CommitPoint>();
    return position.status();
  }
  const std::string& text = *position;
  auto lsn = Lsn::Parse(JsonField(text, "durable_lsn"));
  std::string file = JsonField(text, "file");
  std::string offset = JsonField(text, "offset");
  uint64_t seq;
  uint64_t offset_value = 0;
  auto [end, ec] = std::from_chars(offset.data(), offset.data() + offset.size(), offset_value);
  if (!lsn || !ParseFileSeq(file, &seq) || offset.empty() || ec != std::errc() ||
      end != offset.data() + offset.size()) {
    return DataLoss(dir + "/" + kPositionFile + " is damaged; cannot tell what the files hold");
  }
  return std::optional<CommitPoint>(
      CommitPoint{seq, offset_value, *lsn, JsonField(text, "source")});
}

std::string JsonlSink::FileName(uint64_t seq) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "changes-%011llu.jsonl", static_cast<unsigned long long>(seq));
  return buf;
}

Result<Lsn> JsonlSink::Open() {
  const std::string& dir = options_.path;
  Status s = storage::CreateDirectories(dir);
  if (!s.ok()) return s.WithContext("sink " + options_.name);

  s = lock_.Acquire(dir, kLockFile);
  if (!s.ok()) return s.WithContext("sink " + options_.name);

  WF_ASSIGN_OR_RETURN(std::vector<std::string> names, storage::ListDirectory(dir));
  std::vector<uint64_t> seqs;
  for (const auto& n : names) {
    uint64_t seq;
    if (ParseFileSeq(n, &seq)) seqs.push_back(seq);
  }

  auto position = ReadPosition(dir);
  if (!position.ok()) return position.status().WithContext("sink " + options_.name);
  if (!position->has_value()) {
    if (!seqs.empty()) {
      return FailedPrecondition(
          "sink " + options_.name + ": " + dir + " holds change files but no " + kPositionFile +
          "; walflow cannot tell what they contain. Move them away or point the sink elsewhere");
    }
    durable_ = CommitPoint{};
    // Record the empty state before the first data file exists, so that a directory with
    // change files always has a position file.
    WF_RETURN_IF_ERROR(WritePosition(durable_));
  } else {
    durable_ = **position;
  }
  // Remove what a crash left past the durable point.
  for (uint64_t seq : seqs) {
    if (seq > durable_.file_seq) {
      WF_LOG_INFO("sink", "sink {}: removing {} written after the last durable point",
                  options_.name, FileName(seq));
      WF_RETURN_IF_ERROR(storage::RemoveFile(dir + "/" + FileName(seq)));
    }
  }
  file_seq_ = durable_.file_seq;
  WF_RETURN_IF_ERROR(file_.Open(dir + "/" + FileName(file_seq_), durable_.offset));
  WF_RETURN_IF_ERROR(storage::SyncDirectory(dir));
  last_commit_ = durable_;
  return durable_.end_lsn;
}

Status JsonlSink::FlushBuffer() {
  if (buffer_.empty()) return Status::OK();
  Status s = file_.Append(buffer_);
  buffer_.clear();
  return s;
}

Status JsonlSink::RollFile() {
  WF_RETURN_IF_ERROR(FlushBuffer());
  WF_RETURN_IF_ERROR(file_.Sync());
  ++file_seq_;
  WF_RETURN_IF_ERROR(file_.Open(options_.path + "/" + FileName(file_seq_), 0));
  created_file_since_sync_ = true;
  return Status::OK();
}

Status JsonlSink::Write(const BatchSlice& slice) {
  encoder_.set_processing_time_us(NowMicros());
  const ChangeBatch& batch = *slice.batch;
  const auto& changes = batch.changes();
  const auto& markers = batch.markers();
  size_t m = slice.first_marker;
  for (size_t i = slice.first_change; i <= slice.end_change; ++i) {
    // Transactions that end before change i.
    while (m < slice.end_marker && markers[m].change_end <= i) {
      last_commit_ = CommitPoint{file_seq_, file_.size() + buffer_.size(), markers[m].end_lsn,
                                 last_commit_.source_state};
      ++m;
    }
    if (i == slice.end_change) break;
    if (!slice.Selected(changes[i])) continue;
    if (file_.size() + buffer_.size() >= options_.max_file_size) {
      WF_RETURN_IF_ERROR(RollFile());
    }
    Status s = encoder_.AppendValue(batch, changes[i], &buffer_);
    if (!s.ok()) return s.WithContext("sink " + options_.name);
    buffer_.push_back('\n');
    if (buffer_.size() >= kWriteChunk) WF_RETURN_IF_ERROR(FlushBuffer());
  }
  return Status::OK();
}

void JsonlSink::NoteSourceState(const std::string& state) { last_commit_.source_state = state; }

Status JsonlSink::WritePosition(const CommitPoint& p) {
  std::string text = "{\"format\":1,\"sink\":";
  format::AppendJsonString(options_.name, &text);
  text += ",\"file\":\"" + FileName(p.file_seq) + "\",\"offset\":" + std::to_string(p.offset) +
          ",\"durable_lsn\":\"" + p.end_lsn.ToString() + "\"";
  // Topic names and numbers only (see runtime/kafka_source.h): no escaping needed.
  if (!p.source_state.empty()) text += ",\"source\":\"" + p.source_state + "\"";
  text += "}\n";
  return storage::WriteFileAtomically(options_.path + "/" + kPositionFile, text);
}

Result<Lsn> JsonlSink::Checkpoint() {
  if (last_commit_.end_lsn == durable_.end_lsn && last_commit_.offset == durable_.offset &&
      last_commit_.file_seq == durable_.file_seq &&
      last_commit_.source_state == durable_.source_state) {
    return durable_.end_lsn;
  }
  WF_RETURN_IF_ERROR(FlushBuffer());
  WF_RETURN_IF_ERROR(file_.Sync());
  if (created_file_since_sync_) {
    WF_RETURN_IF_ERROR(storage::SyncDirectory(options_.path));
    created_file_since_sync_ = false;
  }
  WF_RETURN_IF_ERROR(WritePosition(last_commit_));
  durable_ = last_commit_;
  return durable_.end_lsn;
}

Status JsonlSink::Close() {
  Status result;
  if (file_.is_open()) {
    auto r = Checkpoint();
    Status s = file_.Close();
    result = r.ok() ? s : r.status();
  }
  lock_.Release();
  return result;
}

}  // namespace walflow::sink
