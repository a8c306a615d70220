// Change rows as Parquet files in a local directory or an S3-compatible bucket:
//   <path>/<schema>.<table>/[date=YYYY-MM-DD/]<commit:012>-<n:04>.parquet
//   <path>/_walflow/commits/<commit:012>.json
// (row layout: format/parquet_changes.h). Rows go to one open file per table (and date
// partition), streamed out row group by row group: on S3 as a multipart upload, locally
// to a hidden temporary file, so that no reader sees a file before it is complete. At a
// transaction boundary, when a file reaches max_file_size or the oldest open file
// max_file_age, every open file is completed ("rolled") and then a commit record names
// them and the position (the end LSN of the last transaction they hold, and the source
// offsets of a Kafka source). That record is the sink's durable point: on start, files
// of commit numbers past the newest record (left by a crash between completing files and
// writing the record) are deleted, unfinished uploads are aborted, and the stream resumes
// after the recorded position. A reader that wants exactly the committed data reads files
// whose commit number is at most the newest record's.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "format/parquet_changes.h"
#include "format/parquet_writer.h"
#include "sink/sink.h"
#include "storage/object_store.h"

namespace walflow::sink {

struct ParquetSinkOptions {
  std::string name;
  std::string path;       // a local directory or s3://bucket/prefix
  storage::S3Options s3;  // for s3:// paths; bucket and prefix are taken from `path`
  format::parquet::Compression compression = format::parquet::Compression::kZstd;
  uint64_t max_file_size = 128ull << 20;
  std::chrono::milliseconds max_file_age{60000};
  // Uncompressed bytes buffered per row group; all tables together keep at most about four
  // times this in memory (the largest table's rows go out first).
  uint64_t row_group_size = 32ull << 20;
  bool partition_by_commit_date = false;  // date=YYYY-MM-DD directories (UTC)
  size_t keep_commit_records = 20;        // older commit records are deleted
};

class ParquetSink : public Sink {
 public:
  explicit ParquetSink(ParquetSinkOptions options);
  ~ParquetSink() override;

  const std::string& name() const override { return options_.name; }
  Result<Lsn> Open() override;
  Status Write(const BatchSlice& slice) override;
  Result<Lsn> Checkpoint() override;
  Result<Lsn> Flush() override;
  Status Close() override;
  void NoteSourceState(const std::string& state) override { noted_state_ = state; }
  const std::string& durable_source_state() const override { return durable_state_; }

  // The object store of `options` (local or S3); `lock`: a local directory is locked
  // against a second writer.
  static Result<std::unique_ptr<storage::ObjectStore>> OpenStore(const ParquetSinkOptions& options,
                                                                 bool lock);
  // The position of the newest commit record, without changing anything (`walflow check`);
  // std::nullopt when the sink holds nothing.
  static Result<std::optional<Lsn>> ReadPosition(const ParquetSinkOptions& options);

  // The commit number in a data file's name, or 0 when the name is not walflow's.
  static uint64_t CommitOfFile(const std::string& key);

 private:
  struct OpenFile;
  struct FileRecord {
    std::string key;
    std::string table;
    uint64_t rows = 0;
    uint64_t bytes = 0;
  };

  Status Append(const ChangeBatch& batch, const Change& change);
  // Sends out_ to the file's upload, which is created with the first bytes.
  Status SendOut(OpenFile* file);
  Status FlushRowGroup(OpenFile* file);
  Status CompleteFile(OpenFile* file);
  Status Roll();
  // At a transaction end in Write: rolls there when a roll is due (a full file, the oldest
  // open file at max_file_age, or a Checkpoint() that came inside the transaction).
  Status PassMarker(const TxMarker& marker, bool roll_here);
  bool Aged() const;           // the oldest open file reached max_file_age
  bool CheckpointDue() const;  // Checkpoint() at a boundary would roll
  Status Fail(Status s);
  std::string NextFileKey(const std::string& dir);

  ParquetSinkOptions options_;
  std::unique_ptr<storage::ObjectStore> store_;
  std::map<std::pair<uint32_t, std::string>, std::unique_ptr<OpenFile>> open_;  // relid, date
  std::vector<FileRecord> completed_;  // files of the commit being built
  uint64_t commit_ = 1;                // number of the commit being built
  uint32_t files_in_commit_ = 0;
  std::chrono::steady_clock::time_point oldest_open_;
  std::chrono::steady_clock::time_point last_commit_at_;
  bool in_transaction_ = false;        // changes written since the last marker
  bool roll_due_ = false;              // a file is full: roll at the next transaction boundary
  bool checkpoint_requested_ = false;  // Checkpoint() came inside a transaction
  bool failed_ = false;                // open files hold a partial row: never complete them
  Lsn last_marker_;                    // end of the last transaction written
  Lsn durable_;
  std::string noted_state_, durable_state_;
  std::string out_;            // encoded bytes on their way to an upload
  int64_t partition_day_ = 0;  // partition_by_commit_date: the day partition_ names
  std::string partition_;
  size_t appends_since_memory_check_ = 0;
};

}  // namespace walflow::sink
