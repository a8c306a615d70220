// Debezium change events, one JSON value per line, in files under a directory:
//   <path>/changes-00000000001.jsonl, changes-00000000002.jsonl, ...
// named so they sort in write order, rolled by size. <path>/.walflow-position records,
// atomically, the file and byte offset up to which the files hold complete transactions
// and the WAL position that corresponds; bytes past it are removed on the next start.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "format/debezium_json.h"
#include "sink/sink.h"
#include "storage/file_io.h"

namespace walflow::sink {

struct JsonlSinkOptions {
  std::string name;
  std::string path;
  uint64_t max_file_size = 64ull << 20;
  format::DebeziumOptions encoding;
};

class JsonlSink : public Sink {
 public:
  explicit JsonlSink(JsonlSinkOptions options);
  ~JsonlSink() override;

  const std::string& name() const override { return options_.name; }
  Result<Lsn> Open() override;
  Status Write(const BatchSlice& slice) override;
  Result<Lsn> Checkpoint() override;
  Status Close() override;
  void NoteSourceState(const std::string& state) override;
  const std::string& durable_source_state() const override { return durable_.source_state; }

  static std::string FileName(uint64_t seq);

  // A point in the files: everything before `offset` of file `file_seq` (and all earlier
  // files) holds complete transactions up to `end_lsn`.
  struct CommitPoint {
    uint64_t file_seq = 1;
    uint64_t offset = 0;
    Lsn end_lsn;
    std::string source_state;  // Sink::NoteSourceState at this point (Kafka source)
  };

  // Reads the durable point recorded under `dir` without changing anything; std::nullopt
  // when there is no position file. For `walflow check` and for Open().
  static Result<std::optional<CommitPoint>> ReadPosition(const std::string& dir);

 private:
  Status FlushBuffer();
  Status RollFile();
  Status WritePosition(const CommitPoint& point);

  JsonlSinkOptions options_;
  format::DebeziumJsonEncoder encoder_;
  storage::AppendFile file_;
  uint64_t file_seq_ = 1;
  std::string buffer_;
  bool created_file_since_sync_ = false;
  CommitPoint last_commit_;  // last transaction end written (maybe not yet durable)
  CommitPoint durable_;      // recorded in the position file
  storage::DirectoryLock lock_;
};

}  // namespace walflow::sink
