// The bytes a view keeps in its RocksDB state besides aggregates:
//   * an input row: the PostgreSQL text form of each column the view reads (exact: it is
//     what the source sent), NULL apart;
//   * an output record: one source transaction's output changes, with the position and
//     commit details the events carry, so that a sink behind the view gets exactly these
//     changes again after a restart.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/change.h"
#include "core/status.h"

namespace walflow::view {

using TextRow = std::vector<std::optional<std::string>>;

void EncodeTextRow(const TextRow& row, std::string* out);
Result<TextRow> DecodeTextRow(std::string_view* in);

struct RecordedChange {
  ChangeOp op = ChangeOp::kCreate;
  Lsn lsn;
  uint32_t seq = 0;
  std::optional<TextRow> before;
  std::optional<TextRow> after;
};

struct OutputRecord {
  Lsn end_lsn;
  Lsn commit_lsn;
  Xid xid;
  int64_t commit_time_us = 0;
  std::vector<RecordedChange> changes;
};

std::string EncodeOutputRecord(const OutputRecord& r);
// DataLoss naming the view when the bytes are damaged.
Result<OutputRecord> DecodeOutputRecord(std::string_view bytes);

}  // namespace walflow::view
