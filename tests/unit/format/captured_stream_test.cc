// A real PostgreSQL 15 session, recorded with source.postgres.capture_file
// (tests/golden/captured/make_capture.sh), replayed through the decoder, the change
// assembly and the Debezium encoder. The output must equal the golden events byte for
// byte, whatever the batch size. Regenerate with WALFLOW_UPDATE_GOLDEN=1 and review.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "format/debezium_json.h"
#include "pg/change_assembler.h"
#include "pg/stream_capture.h"

namespace walflow {
namespace {

using Json = nlohmann::json;

std::string Golden(const std::string& name) {
  return std::string(WALFLOW_GOLDEN_DIR) + "/captured/" + name;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The recorded tables: "id" is the primary key; inet is not built in.
class RecordedCatalog : public pg::Catalog {
 public:
  Result<pg::PgTypeInfo> DescribeType(Oid type) override {
    pg::PgTypeInfo info;
    info.oid = type;
    info.nspname = "pg_catalog";
    info.name = type.value == 869 ? "inet" : "unknown";
    info.typcategory = 'I';
    return info;
  }
  Result<std::vector<pg::PgColumnInfo>> DescribeColumns(Oid) override {
    // Only names matter for matching; every table of the session keys on "id".
    return std::vector<pg::PgColumnInfo>{{"id", true, 0}};
  }
};

struct Replay {
  std::string events;                // one JSON value per line
  double streamed_transactions = 0;  // as the assembler counted them
  double aborted_streams = 0;
};

double CounterOf(const pg::ChangeAssembler& assembler, const char* name) {
  const MetricsSnapshot snapshot = assembler.metrics().Snapshot();
  const MetricSample* sample = snapshot.Find(name, {});
  return sample ? sample->value : -1;
}

Replay ReplayCapture(size_t batch_max_changes) {
  const std::string capture = ReadAll(Golden("session.bin"));
  EXPECT_FALSE(capture.empty()) << "missing " << Golden("session.bin");
  auto spool =
      std::filesystem::temp_directory_path() / ("walflow-captured-" + std::to_string(::getpid()));
  std::filesystem::create_directories(spool);

  pg::AssemblerOptions options;
  options.spool_dir = spool.string();
  options.spool_memory_limit = 4096;  // the streamed transaction spills
  options.batch_max_changes = batch_max_changes;
  options.tables = {"public.items", "public.notes"};
  format::DebeziumOptions enc_options;
  enc_options.server_name = "capture";
  enc_options.database = "app";
  enc_options.decimal_handling = format::DecimalHandling::kString;
  format::DebeziumJsonEncoder encoder(enc_options);
  encoder.set_processing_time_us(0);  // the envelope's ts_ms: fixed for comparison

  RecordedCatalog catalog;
  Replay out;
  pg::ChangeAssembler assembler(options, &catalog, [&](std::shared_ptr<ChangeBatch> batch) {
    for (const Change& c : batch->changes()) {
      WF_RETURN_IF_ERROR(encoder.AppendValue(*batch, c, &out.events));
      out.events.push_back('\n');
    }
    return Status::OK();
  });
  Status s = pg::ReadCapture(capture, [&](Lsn lsn, std::string_view message) {
    return assembler.decoder().Consume(lsn, message);
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(assembler.Flush().ok());
  out.streamed_transactions = CounterOf(assembler, "walflow_source_streamed_transactions_total");
  out.aborted_streams = CounterOf(assembler, "walflow_source_aborted_streams_total");
  std::filesystem::remove_all(spool);
  return out;
}

TEST(CapturedStreamTest, ReplayEqualsTheGoldenEvents) {
  Replay replay = ReplayCapture(2048);
  const char* update = std::getenv("WALFLOW_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(Golden("session.jsonl"), std::ios::binary | std::ios::trunc) << replay.events;
  }
  const std::string golden = ReadAll(Golden("session.jsonl"));
  ASSERT_FALSE(golden.empty()) << "run with WALFLOW_UPDATE_GOLDEN=1 to create the golden file";
  EXPECT_EQ(replay.events, golden);
}

TEST(CapturedStreamTest, BatchBoundariesDoNotChangeTheEvents) {
  const std::string reference = ReplayCapture(2048).events;
  EXPECT_EQ(ReplayCapture(1).events, reference);
  EXPECT_EQ(ReplayCapture(2).events, reference);
}

// What the session did (make_capture.sh), checked on the decoded events.
TEST(CapturedStreamTest, EventsMatchTheRecordedWorkload) {
  Replay replay = ReplayCapture(2048);
  std::map<std::string, int> ops;
  std::istringstream lines(replay.events);
  std::string line;
  std::vector<Json> events;
  while (std::getline(lines, line)) events.push_back(Json::parse(line));
  for (const Json& e : events)
    ops[e["source"]["table"].get<std::string>() + ":" + e["op"].get<std::string>()]++;
  EXPECT_EQ(events.size(), 1025u);
  EXPECT_EQ(ops["notes:c"],
            3 + 1 + 1000);        // 3 rows, the new key of a key change, the streamed insert
  EXPECT_EQ(ops["notes:u"], 11);  // updates inside the streamed transaction
  EXPECT_EQ(ops["notes:t"], 1);
  EXPECT_EQ(ops["items:d"], 2);  // the old key of a key change, and a delete
  EXPECT_GE(replay.streamed_transactions, 1) << "the big transaction was not streamed";
  EXPECT_GE(replay.aborted_streams, 1) << "the rolled-back transaction was not streamed";

  // Values that came through PostgreSQL's text forms.
  const Json& first = events[0]["after"];
  EXPECT_EQ(first["price"], "12.50");
  EXPECT_EQ(first["born"], 19782);  // 2024-02-29
  EXPECT_EQ(first["atz"], "2024-01-02T01:04:05.5Z");
  EXPECT_EQ(first["tz"], "08:15:30Z");
  EXPECT_EQ(first["tags"], (Json{"a", "b c", nullptr}));
  EXPECT_EQ(first["raw"], "AP8Q");
  EXPECT_EQ(first["r"], "NaN");
  EXPECT_EQ(first["addr"], "10.0.0.1/8");
  // No event from the rolled-back savepoint or the aborted transaction.
  EXPECT_EQ(replay.events.find("rolled back"), std::string::npos);
  EXPECT_EQ(replay.events.find("aborted"), std::string::npos);
}

}  // namespace
}  // namespace walflow
