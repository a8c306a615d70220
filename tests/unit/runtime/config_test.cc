// The pipeline file: the documented example parses, and every error points at the file,
// line, column and key. Also pg::MaskDsn, which keeps secrets out of messages.
#include "runtime/config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "pg/connection.h"
#include "sink/jsonl/jsonl_spec.h"
#include "sink/kafka/kafka_spec.h"
#include "sink/parquet/parquet_spec.h"
#include "unit_test_util.h"

#ifndef WALFLOW_EXAMPLES_DIR
#error "WALFLOW_EXAMPLES_DIR must name the examples folder"
#endif

namespace walflow::runtime {
namespace {

// The options of sink `i`, as its type reads them.
template <typename Spec>
const Spec& SinkAs(const PipelineConfig& c, size_t i) {
  const auto* spec = dynamic_cast<const Spec*>(c.sinks.at(i).get());
  EXPECT_NE(spec, nullptr) << "sink " << i << " is a " << c.sinks.at(i)->type;
  return *spec;
}

// The example of README.md ("Write a pipeline file").
const char* const kReadmeExample = R"(source:
  postgres:
    dsn: "host=127.0.0.1 port=5432 dbname=app user=walflow password=secret"
    slot: wf_slot                 # created if absent (pgoutput), reused if present
    publication: wf_pub           # created FOR TABLE <tables> if absent
    tables: [public.customers, public.orders]
    snapshot: never
sinks:
  - name: files
    type: jsonl
    path: ./out
    decimal_handling: string
    schemas: false
)";

TEST(ConfigTest, ReadmeExampleParses) {
  auto r = ParseConfig(kReadmeExample, "pipeline.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const PipelineConfig& c = *r;
  EXPECT_EQ(c.file, "pipeline.yaml");
  EXPECT_EQ(c.postgres.dsn.Reveal(),
            "host=127.0.0.1 port=5432 dbname=app user=walflow password=secret");
  EXPECT_EQ(c.postgres.slot, "wf_slot");
  EXPECT_EQ(c.postgres.publication, "wf_pub");
  ASSERT_EQ(c.postgres.tables.size(), 2u);
  EXPECT_EQ(c.postgres.tables[0].Qualified(), "public.customers");
  EXPECT_EQ(c.postgres.tables[1].schema, "public");
  EXPECT_EQ(c.postgres.tables[1].name, "orders");
  EXPECT_EQ(c.postgres.tables[1].location.line, 6);
  EXPECT_EQ(c.postgres.tables[1].location.key, "source.postgres.tables[1]");
  EXPECT_EQ(c.postgres.snapshot, SnapshotMode::kNever);
  // Defaults.
  EXPECT_EQ(c.postgres.server_name, "walflow");
  EXPECT_EQ(c.postgres.heartbeat_interval, std::chrono::seconds(10));
  EXPECT_EQ(c.postgres.spool_memory_limit, 4ull << 20);
  EXPECT_TRUE(c.postgres.create_slot);
  EXPECT_EQ(c.data_dir, ".walflow-state");
  EXPECT_EQ(c.queue_batches, 16u);
  ASSERT_EQ(c.sinks.size(), 1u);
  const auto& s = SinkAs<sink::JsonlSinkSpec>(c, 0);
  EXPECT_EQ(s.name, "files");
  EXPECT_EQ(s.type, "jsonl");
  EXPECT_EQ(s.path, "./out");
  EXPECT_TRUE(s.from.empty()) << "default: every table";
  EXPECT_EQ(s.encoding.decimal_handling, format::DecimalHandling::kString);
  EXPECT_FALSE(s.encoding.schemas);
  EXPECT_FALSE(s.encoding.transaction_metadata);
  EXPECT_EQ(s.max_file_size, 64ull << 20);
  EXPECT_EQ(s.location.line, 9);
  EXPECT_EQ(s.location.key, "sinks[0]");
}

TEST(ConfigTest, EveryExampleFileLoads) {
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(WALFLOW_EXAMPLES_DIR)) {
    if (e.path().extension() != ".yaml") continue;
    ++files;
    auto r = LoadConfig(e.path().string());
    EXPECT_TRUE(r.ok()) << e.path() << ": " << r.status().ToString();
    if (r.ok()) {
      EXPECT_FALSE(r->postgres.tables.empty());
      EXPECT_FALSE(r->sinks.empty());
    }
  }
  EXPECT_GE(files, 1);
}

TEST(ConfigTest, EveryOptionalKey) {
  const char* text = R"(source:
  postgres:
    dsn: postgres://u@h/db
    tables:
      - orders
      - sales.lines
    name: shop
    heartbeat_interval: 500ms
    status_interval: 2s
    unavailable_value_placeholder: "?"
    spool_memory_limit: 512KB
    create_slot: false
    create_publication: no
sinks:
  - name: a
    type: jsonl
    path: /tmp/a
    decimal_handling: double
    schemas: true
    transaction_metadata: yes
    max_file_size: 1 GB
    flush_interval: 2m
  - name: b
    type: jsonl
    path: /tmp/b
data_dir: /var/lib/wf
log:
  level: debug
  progress_interval: 1h
queue_batches: 64
)";
  auto r = ParseConfig(text, "full.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const PipelineConfig& c = *r;
  EXPECT_EQ(c.postgres.tables[0].Qualified(), "public.orders");
  EXPECT_EQ(c.postgres.tables[1].Qualified(), "sales.lines");
  EXPECT_EQ(c.postgres.server_name, "shop");
  EXPECT_EQ(c.postgres.heartbeat_interval, std::chrono::milliseconds(500));
  EXPECT_EQ(c.postgres.status_interval, std::chrono::seconds(2));
  EXPECT_EQ(c.postgres.unavailable_value_placeholder, "?");
  EXPECT_EQ(c.postgres.spool_memory_limit, 512u * 1024);
  EXPECT_FALSE(c.postgres.create_slot);
  EXPECT_FALSE(c.postgres.create_publication);
  ASSERT_EQ(c.sinks.size(), 2u);
  const auto& s0 = SinkAs<sink::JsonlSinkSpec>(c, 0);
  EXPECT_EQ(s0.encoding.decimal_handling, format::DecimalHandling::kDouble);
  EXPECT_TRUE(s0.encoding.schemas);
  EXPECT_TRUE(s0.encoding.transaction_metadata);
  EXPECT_EQ(s0.max_file_size, 1ull << 30);
  EXPECT_EQ(s0.flush_interval, std::chrono::minutes(2));
  EXPECT_EQ(SinkAs<sink::JsonlSinkSpec>(c, 1).encoding.decimal_handling,
            format::DecimalHandling::kPrecise);
  EXPECT_EQ(c.data_dir, "/var/lib/wf");
  EXPECT_EQ(c.log_level, LogLevel::kDebug);
  EXPECT_EQ(c.progress_interval, std::chrono::hours(1));
  EXPECT_EQ(c.queue_batches, 64u);
}

// Parses `text` and expects an error whose message starts with `prefix`
// ("file:line:column: key") and contains every one of `parts`.
void ExpectError(const std::string& text, const std::string& prefix,
                 std::initializer_list<std::string> parts = {}) {
  auto r = ParseConfig(text, "p.yaml");
  ASSERT_FALSE(r.ok()) << "accepted:\n" << text;
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  const std::string& m = r.status().message();
  EXPECT_EQ(m.substr(0, prefix.size()), prefix) << m;
  for (const auto& p : parts) EXPECT_NE(m.find(p), std::string::npos) << "'" << p << "' in: " << m;
}

// A valid file with one line replaced, so line numbers stay put:
//   1 source:
//   2   postgres:
//   3     dsn: "host=h"
//   4     tables: [public.orders]
//   5     slot: s
//   6 sinks:
//   7   - name: files
//   8     type: jsonl
//   9     path: ./out
std::string With(int line, const std::string& replacement) {
  std::vector<std::string> lines = {
      "source:",        "  postgres:", "    dsn: \"host=h\"", "    tables: [public.orders]",
      "    slot: s",    "sinks:",      "  - name: files",     "    type: jsonl",
      "    path: ./out"};
  lines[line - 1] = replacement;
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

TEST(ConfigErrorTest, BaseFileIsValid) {
  auto r = ParseConfig(With(5, "    slot: s"), "p.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
}

TEST(ConfigErrorTest, UnknownKeyWithDidYouMean) {
  ExpectError(With(5, "    publicaton: p"), "p.yaml:5:5: source.postgres.publicaton: ",
              {"unknown key", "did you mean 'publication'"});
  ExpectError(With(9, "    paht: ./out"),
              "p.yaml:7:5: sinks[0]: ", {"missing required key 'path'"});
  ExpectError(With(9, "    path: ./out\n    schemes: true"),
              "p.yaml:10:5: sinks[0].schemes: ", {"did you mean 'schemas'"});
  ExpectError(With(5, "    completely_different: 1"),
              "p.yaml:5:5: source.postgres.completely_different: ", {"unknown key"});
}

TEST(ConfigErrorTest, UnknownTopLevelKey) {
  ExpectError(With(9, "    path: ./out\nlogg:\n  level: info"),
              "p.yaml:10:1: logg: ", {"unknown key", "did you mean 'log'"});
}

TEST(ConfigErrorTest, WrongTypes) {
  ExpectError(With(4, "    tables: public.orders"),
              "p.yaml:4:13: source.postgres.tables: ", {"list"});
  ExpectError(With(4, "    tables: []"), "p.yaml:4:13: source.postgres.tables: ", {"non-empty"});
  ExpectError(With(9, "    path: ./out\n    schemas: maybe"),
              "p.yaml:10:14: sinks[0].schemas: ", {"true or false", "maybe"});
  ExpectError(With(5, "    slot: [a, b]"), "p.yaml:5:11: source.postgres.slot: ", {"single value"});
  ExpectError(With(4, "    tables: [{a: b}]"),
              "p.yaml:4:14: source.postgres.tables[0]: ", {"table name"});
  ExpectError(With(4, "    tables: [a.b.c]"),
              "p.yaml:4:14: source.postgres.tables[0]: ", {"a.b.c"});
  ExpectError("source:\n  postgres:\n    dsn: x\n    tables: [t]\nsinks: files\n",
              "p.yaml:5:8: sinks: ", {"list of sinks"});
  ExpectError("source: postgres\nsinks: []\n", "p.yaml:1:9: source: ", {"mapping"});
}

TEST(ConfigErrorTest, MissingRequiredKeys) {
  ExpectError(With(3, "    slot2: x"),
              "p.yaml:3:5: source.postgres: ", {"missing required key 'dsn'"});
  ExpectError(With(4, "    publication: p"),
              "p.yaml:3:5: source.postgres: ", {"missing required key 'tables'"});
  ExpectError(With(3, "    dsn: \"\""),
              "p.yaml:3:10: source.postgres.dsn: ", {"must not be empty"});
  ExpectError(With(8, "    kind: jsonl"),
              "p.yaml:7:5: sinks[0]: ", {"missing required key 'type'"});
}

TEST(ConfigErrorTest, BadDurationAndSize) {
  ExpectError(With(5, "    heartbeat_interval: 10x"),
              "p.yaml:5:25: source.postgres.heartbeat_interval: ", {"duration", "10x"});
  ExpectError(With(5, "    status_interval: 0s"),
              "p.yaml:5:22: source.postgres.status_interval: ", {"greater than zero"});
  ExpectError(With(5, "    spool_memory_limit: 10XB"),
              "p.yaml:5:25: source.postgres.spool_memory_limit: ", {"size", "10XB"});
  ExpectError(With(9, "    path: ./out\n    max_file_size: 0"),
              "p.yaml:10:20: sinks[0].max_file_size: ", {"size"});
  ExpectError(With(9, "    path: ./out\n    flush_interval: soon"),
              "p.yaml:10:21: sinks[0].flush_interval: ", {"duration"});
}

TEST(ConfigErrorTest, UnknownSinkType) {
  ExpectError(With(8, "    type: iceberg"), "p.yaml:8:11: sinks[0].type: ",
              {"unknown sink type 'iceberg'", "jsonl, kafka, parquet"});
}

TEST(ConfigErrorTest, UnknownEnumValue) {
  ExpectError(With(9, "    path: ./out\n    decimal_handling: exact"),
              "p.yaml:10:23: sinks[0].decimal_handling: ", {"precise, string, double", "exact"});
}

TEST(ConfigErrorTest, DuplicateSinkNamesAndPaths) {
  ExpectError(With(9, "    path: ./out\n  - name: files\n    type: jsonl\n    path: ./other"),
              "p.yaml:10:5: sinks[1]: ", {"'files'", "twice"});
  ExpectError(With(9, "    path: ./out\n  - name: second\n    type: jsonl\n    path: ./out"),
              "p.yaml:10:5: sinks[1]: ", {"same destination", "/out"});
}

TEST(ConfigErrorTest, DuplicateTable) {
  ExpectError(With(4, "    tables: [public.orders, orders]"),
              "p.yaml:4:29: source.postgres.tables[1]: ", {"public.orders", "twice"});
}

TEST(ConfigErrorTest, SnapshotSettings) {
  ExpectError(With(5, "    snapshot: sometimes"),
              "p.yaml:5:15: source.postgres.snapshot: ", {"never, initial", "sometimes"});
  ExpectError(With(5, "    snapshot_parallelism: 0"),
              "p.yaml:5:27: source.postgres.snapshot_parallelism: ", {"between 1 and 64", "'0'"});
  ExpectError(With(5, "    snapshot_chunk_size: lots"),
              "p.yaml:5:26: source.postgres.snapshot_chunk_size: ", {"number", "'lots'"});
}

TEST(ConfigTest, SnapshotModes) {
  for (auto [text, mode] : std::vector<std::pair<std::string, SnapshotMode>>{
           {"never", SnapshotMode::kNever},
           {"initial", SnapshotMode::kInitial},
           {"always", SnapshotMode::kAlways},
           {"initial_only", SnapshotMode::kInitialOnly}}) {
    auto c = ParseConfig(With(5, "    snapshot: " + text), "p.yaml");
    ASSERT_TRUE(c.ok()) << c.status().message();
    EXPECT_EQ(c->postgres.snapshot, mode);
  }
}

TEST(ConfigTest, SnapshotDefaults) {
  auto c = ParseConfig(With(5, "    slot: s"), "p.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->postgres.snapshot, SnapshotMode::kInitial);
  EXPECT_EQ(c->postgres.snapshot_parallelism, 1);
  EXPECT_EQ(c->postgres.snapshot_chunk_size, 50000u);
}

TEST(ConfigTest, SnapshotParallelismAndChunkSizeBounds) {
  auto c =
      ParseConfig(With(5, "    snapshot_parallelism: 64\n    snapshot_chunk_size: 1"), "p.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->postgres.snapshot_parallelism, 64);
  EXPECT_EQ(c->postgres.snapshot_chunk_size, 1u);
  c = ParseConfig(With(5, "    snapshot_parallelism: 4\n    snapshot_chunk_size: 100000000"),
                  "p.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->postgres.snapshot_parallelism, 4);
  EXPECT_EQ(c->postgres.snapshot_chunk_size, 100000000u);

  ExpectError(With(5, "    snapshot_parallelism: 65"),
              "p.yaml:5:27: source.postgres.snapshot_parallelism: ", {"between 1 and 64", "'65'"});
  ExpectError(With(5, "    snapshot_parallelism: -1"),
              "p.yaml:5:27: source.postgres.snapshot_parallelism: ", {"between 1 and 64"});
  ExpectError(With(5, "    snapshot_chunk_size: 0"),
              "p.yaml:5:26: source.postgres.snapshot_chunk_size: ", {"between 1 and 100000000"});
  ExpectError(With(5, "    snapshot_chunk_size: 100000001"),
              "p.yaml:5:26: source.postgres.snapshot_chunk_size: ", {"between 1 and 100000000"});
}

TEST(ConfigErrorTest, InvalidYaml) {
  ExpectError("source:\n  postgres: [unclosed\nsinks: []\n", "p.yaml:", {"not valid YAML"});
  ExpectError(With(5, "    slot: a: b"), "p.yaml:5:", {"not valid YAML"});
  ExpectError(With(5, "    slot: [a, b"), "p.yaml:", {"not valid YAML"});
  ExpectError(With(5, "  \tslot: s"), "p.yaml:", {"YAML"});
}

TEST(ConfigErrorTest, NotAMapping) {
  ExpectError("- a\n- b\n", "p.yaml", {"mapping"});
  ExpectError("", "p.yaml", {});
}

TEST(ConfigErrorTest, MissingTopLevelSectionsNameTheKey) {
  ExpectError("sinks:\n  - name: a\n    type: jsonl\n    path: x\n", "p.yaml", {"'source'"});
  ExpectError("source:\n  postgres:\n    dsn: x\n    tables: [t]\n", "p.yaml", {"'sinks'"});
  ExpectError("source:\n  mysql: {}\nsinks: []\n", "p.yaml:2:3: source", {"'postgres'"});
}

TEST(ConfigErrorTest, QueueBatchesRange) {
  ExpectError(With(9, "    path: ./out\nqueue_batches: 0"),
              "p.yaml:10:16: queue_batches: ", {"between 1 and 4096"});
  ExpectError(With(9, "    path: ./out\nqueue_batches: 5000"),
              "p.yaml:10:16: queue_batches: ", {"between 1 and 4096"});
}

TEST(ConfigErrorTest, LogLevel) {
  ExpectError(With(9, "    path: ./out\nlog:\n  level: loud"),
              "p.yaml:11:10: log.level: ", {"debug, info, warn, error", "loud"});
}

TEST(LoadConfigTest, ReadsTheFileAndNamesItInErrors) {
  test::ScratchDir dir;
  const std::string path = dir.File("pipeline.yaml");
  test::WriteWholeFile(path, kReadmeExample);
  auto r = LoadConfig(path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->file, path);
  test::WriteWholeFile(path, With(8, "    type: nope"));
  r = LoadConfig(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind(path + ":8:11: sinks[0].type: ", 0), 0u)
      << r.status().message();
  r = LoadConfig(dir.File("missing.yaml"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("missing.yaml"), std::string::npos);
}

TEST(ParseDurationTest, Units) {
  std::chrono::milliseconds d{};
  EXPECT_TRUE(ParseDuration("500ms", &d));
  EXPECT_EQ(d.count(), 500);
  EXPECT_TRUE(ParseDuration("10s", &d));
  EXPECT_EQ(d.count(), 10000);
  EXPECT_TRUE(ParseDuration("7", &d));
  EXPECT_EQ(d.count(), 7000);
  EXPECT_TRUE(ParseDuration("2m", &d));
  EXPECT_EQ(d.count(), 120000);
  EXPECT_TRUE(ParseDuration("3min", &d));
  EXPECT_EQ(d.count(), 180000);
  EXPECT_TRUE(ParseDuration("1h", &d));
  EXPECT_EQ(d.count(), 3600000);
  for (const char* bad : {"", "ms", "1.5s", "-1s", "10x", "1 s", "1d", "99999999999999999999s"}) {
    EXPECT_FALSE(ParseDuration(bad, &d)) << bad;
  }
}

TEST(ParseByteSizeTest, Units) {
  uint64_t v = 0;
  EXPECT_TRUE(ParseByteSize("1048576", &v));
  EXPECT_EQ(v, 1048576u);
  EXPECT_TRUE(ParseByteSize("12B", &v));
  EXPECT_EQ(v, 12u);
  EXPECT_TRUE(ParseByteSize("512KB", &v));
  EXPECT_EQ(v, 512u << 10);
  EXPECT_TRUE(ParseByteSize("64MB", &v));
  EXPECT_EQ(v, 64u << 20);
  EXPECT_TRUE(ParseByteSize("64MiB", &v));
  EXPECT_EQ(v, 64u << 20);
  EXPECT_TRUE(ParseByteSize("1 GB", &v));
  EXPECT_EQ(v, 1ull << 30);
  for (const char* bad : {"", "MB", "1.5MB", "-1", "10XB", "1TB", "1 mb"}) {
    EXPECT_FALSE(ParseByteSize(bad, &v)) << bad;
  }
}

TEST(ParseByteSizeTest, OverflowIsRejected) {
  // bug reported: ParseByteSize bounds the number (2^50) but not number * unit, so
  // "17179869185GB" (2^34 + 1 GiB) wraps around 2^64 and is accepted as 1 GiB.
  uint64_t v = 0;
  EXPECT_FALSE(ParseByteSize("17179869185GB", &v)) << "parsed as " << v;
  EXPECT_FALSE(ParseByteSize("1000000000000000GB", &v)) << "parsed as " << v;
}

// ---- MaskDsn ---------------------------------------------------------------------------

void ExpectMasked(const std::string& dsn, const std::string& secret,
                  const std::string& expected = "") {
  std::string masked = pg::MaskDsn(dsn);
  EXPECT_EQ(masked.find(secret), std::string::npos) << dsn << " -> " << masked;
  EXPECT_NE(masked.find("****"), std::string::npos) << masked;
  if (!expected.empty()) {
    EXPECT_EQ(masked, expected);
  }
}

TEST(MaskDsnTest, ConninfoPassword) {
  ExpectMasked("host=h port=5432 user=u password=s3cr3t dbname=app", "s3cr3t",
               "host=h port=5432 user=u password=**** dbname=app");
  ExpectMasked("password=s3cr3t host=h", "s3cr3t", "password=**** host=h");
  ExpectMasked("host=h password = s3cr3t", "s3cr3t", "host=h password = ****");
}

TEST(MaskDsnTest, QuotedPasswordWithSpacesAndEscapes) {
  ExpectMasked("host=h password='my s3cr3t pass' dbname=app", "s3cr3t",
               "host=h password=**** dbname=app");
  ExpectMasked("host=h password='it\\'s s3cr3t' dbname=app", "s3cr3t",
               "host=h password=**** dbname=app");
}

TEST(MaskDsnTest, UrlUserInfo) {
  ExpectMasked("postgresql://walflow:s3cr3t@db.example:5432/app", "s3cr3t",
               "postgresql://walflow:****@db.example:5432/app");
  ExpectMasked("postgres://u:p%40ss%20s3cr3t@h/db?sslmode=require", "s3cr3t");
}

TEST(MaskDsnTest, UrlQueryPassword) {
  ExpectMasked("postgresql://u@h/db?password=s3cr3t&sslmode=require", "s3cr3t",
               "postgresql://u@h/db?password=****&sslmode=require");
  ExpectMasked("postgresql://h/db?sslmode=require&password=s3cr3t", "s3cr3t",
               "postgresql://h/db?sslmode=require&password=****");
}

TEST(MaskDsnTest, NothingToMaskLeavesTheDsnAlone) {
  EXPECT_EQ(pg::MaskDsn("host=h port=5432 dbname=app"), "host=h port=5432 dbname=app");
  EXPECT_EQ(pg::MaskDsn("postgresql://u@h:5432/db"), "postgresql://u@h:5432/db");
  EXPECT_EQ(pg::MaskDsn(""), "");
  // Only the password keyword is masked, not keys that merely end in it.
  EXPECT_EQ(pg::MaskDsn("host=h passfile=/x/pgpass"), "host=h passfile=/x/pgpass");
}

TEST(MaskDsnTest, UrlWithSslPasswordBeforePassword) {
  // bug reported: in the URL form only the first "password=" is masked, and the search
  // also matches inside "sslpassword=", so here the real password stays visible.
  const std::string m = pg::MaskDsn("postgresql://u@h/db?sslpassword=keypass&password=s3cr3t");
  EXPECT_EQ(m.find("s3cr3t"), std::string::npos) << m;
  EXPECT_EQ(m.find("keypass"), std::string::npos) << m;
}

TEST(MaskDsnTest, ConninfoSeparatedByTabsOrNewlines) {
  // bug reported: libpq accepts any whitespace between conninfo pairs, but MaskDsn only
  // recognises "password" after a space, so a tab- or newline-separated password leaks.
  EXPECT_EQ(pg::MaskDsn("host=h\tpassword=s3cr3t").find("s3cr3t"), std::string::npos);
  EXPECT_EQ(pg::MaskDsn("host=h\npassword=s3cr3t").find("s3cr3t"), std::string::npos);
}

}  // namespace
}  // namespace walflow::runtime

namespace walflow::runtime {
namespace {

const char* const kKafkaSinkExample = R"(source:
  postgres:
    dsn: "host=h"
    tables: [public.orders]
    name: dbserver1
sinks:
  - name: bus
    type: kafka
    brokers: 127.0.0.1:9092
    exactly_once: true
    tombstones: false
    schemas: true
    topic_partitions: 6
    timeout: 5s
    properties: { compression.type: zstd, linger.ms: "5", sasl.password: hunter2 }
)";

TEST(ConfigKafkaTest, KafkaSinkParsesWithDefaults) {
  auto r = ParseConfig(kKafkaSinkExample, "p.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const auto& s = SinkAs<sink::KafkaSinkSpec>(*r, 0);
  EXPECT_EQ(s.type, "kafka");
  EXPECT_EQ(s.brokers, "127.0.0.1:9092");
  EXPECT_TRUE(s.exactly_once);
  EXPECT_FALSE(s.tombstones);
  EXPECT_TRUE(s.encoding.schemas);
  EXPECT_EQ(s.topic_partitions, 6);
  EXPECT_EQ(s.topic_replication_factor, -1);
  EXPECT_EQ(s.timeout, std::chrono::seconds(5));
  EXPECT_EQ(s.transactional_id, "walflow-bus");
  EXPECT_EQ(s.offsets_topic, "walflow_offsets");
  EXPECT_TRUE(s.topic_prefix.empty()) << "empty: the source's name";
  ASSERT_EQ(s.properties.size(), 3u);
  EXPECT_EQ(s.properties[0].first, "compression.type");
  EXPECT_EQ(s.properties[0].second.Reveal(), "zstd");
  EXPECT_EQ(s.properties[2].second.Reveal(), "hunter2");
  EXPECT_EQ(fmt::format("{}", s.properties[2].second), "***");
}

TEST(ConfigKafkaTest, KafkaSinkErrorsNameTheKey) {
  std::string base = kKafkaSinkExample;
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string t = base;
    t.replace(t.find(from), from.size(), to);
    return t;
  };
  ExpectError(replace("    brokers: 127.0.0.1:9092\n", ""), "p.yaml:7:5: sinks[0]",
              {"missing required key 'brokers'"});
  ExpectError(replace("linger.ms: \"5\"", "transactional.id: x"),
              "p.yaml:15:", {"sinks[0].properties.transactional.id", "set by walflow"});
  ExpectError(replace("timeout: 5s", "timeout: 10ms"), "p.yaml:14:14: sinks[0].timeout",
              {"at least 1s"});
  ExpectError(replace("type: kafka", "type: kafak"), "p.yaml:8:11: sinks[0].type",
              {"available: jsonl, kafka, parquet"});
  ExpectError(replace("topic_partitions: 6", "topic_partitions: 0"),
              "p.yaml:13:23: sinks[0].topic_partitions");
  ExpectError(replace("linger.ms: \"5\"", "no.such.setting: x"),
              "p.yaml:15:", {"sinks[0].properties.no.such.setting", "no such librdkafka setting"});
  // A bad value is named by its key, never shown.
  auto r = ParseConfig(replace("linger.ms: \"5\"", "linger.ms: sekr1t"), "p.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("sinks[0].properties.linger.ms"), std::string::npos);
  EXPECT_EQ(r.status().message().find("sekr1t"), std::string::npos) << r.status().message();
}

TEST(ConfigKafkaTest, KafkaSourceParses) {
  auto r = ParseConfig(R"(source:
  kafka:
    brokers: b1:9092,b2:9092
    group_id: readers
    topics: [dbserver1.public.orders, '^dbserver1\.inventory\..*']
    dead_letter: { topic: dlq, path: /tmp/dlq }
    properties: { security.protocol: SSL }
sinks:
  - name: files
    type: jsonl
    path: ./out
)",
                       "p.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->source_type, SourceType::kKafka);
  EXPECT_EQ(r->kafka.brokers, "b1:9092,b2:9092");
  EXPECT_EQ(r->kafka.group_id, "readers");
  EXPECT_EQ(r->kafka.topics,
            (std::vector<std::string>{"dbserver1.public.orders", "^dbserver1\\.inventory\\..*"}));
  EXPECT_EQ(r->kafka.dead_letter_topic, "dlq");
  EXPECT_EQ(r->kafka.dead_letter_path, "/tmp/dlq");
  EXPECT_EQ(r->kafka.server_name, "walflow");
}

TEST(ConfigKafkaTest, KafkaSourceErrors) {
  const std::string sinks = "sinks:\n  - name: f\n    type: jsonl\n    path: ./o\n";
  ExpectError(
      "source:\n  postgres:\n    dsn: x\n    tables: [t]\n  kafka:\n    brokers: b\n" + sinks,
      "p.yaml:2:3: source", {"not both"});
  ExpectError("source:\n  kafka:\n    brokers: b\n" + sinks, "p.yaml:3:5: source.kafka",
              {"missing required key 'topics'"});
  ExpectError("source:\n  kafka:\n    brokers: b\n    topics: []\n" + sinks,
              "p.yaml:4:13: source.kafka.topics");
  ExpectError("source:\n  kafka:\n    brokers: b\n    topics: [t]\n    dead_letter: {}\n" + sinks,
              "p.yaml:5:18: source.kafka.dead_letter", {"'topic', 'path' or both"});
  ExpectError("source:\n  kafka:\n    brokers: b\n    topics: [t]\n    groupid: g\n" + sinks,
              "p.yaml:5:5: source.kafka.groupid", {"did you mean 'group_id'"});
  ExpectError("source: {}\n" + sinks, "p.yaml:1:9: source", {"'postgres' or 'kafka'"});
}

}  // namespace
}  // namespace walflow::runtime

namespace walflow::runtime {
namespace {

const char* const kParquetSinkExample = R"(source:
  postgres:
    dsn: "host=h"
    tables: [public.orders]
sinks:
  - name: lake
    type: parquet
    path: s3://processed-data/raw/
    s3:
      endpoint: http://127.0.0.1:9000
      access_key_id: minio
      secret_access_key: minio123
      path_style: true
    compression: snappy
    max_file_age: 10s
)";

std::string Replaced(std::string text, const std::string& from, const std::string& to) {
  text.replace(text.find(from), from.size(), to);
  return text;
}

TEST(ConfigParquetTest, ParquetSinkParsesWithDefaults) {
  auto r = ParseConfig(kParquetSinkExample, "p.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const auto& spec = SinkAs<sink::ParquetSinkSpec>(*r, 0);
  EXPECT_EQ(spec.type, "parquet");
  const sink::ParquetSinkOptions& s = spec.options;
  EXPECT_EQ(s.s3.bucket, "processed-data");
  EXPECT_EQ(s.s3.prefix, "raw");
  EXPECT_EQ(s.s3.endpoint, "http://127.0.0.1:9000");
  EXPECT_EQ(s.s3.access_key_id, "minio");
  EXPECT_EQ(s.s3.secret_access_key.Reveal(), "minio123");
  EXPECT_TRUE(s.s3.path_style);
  EXPECT_EQ(s.compression, format::parquet::Compression::kSnappy);
  EXPECT_EQ(s.max_file_age, std::chrono::seconds(10));
  EXPECT_EQ(s.max_file_size, 128ull << 20) << "the parquet default, not jsonl's";
  EXPECT_EQ(s.row_group_size, 32ull << 20);
  EXPECT_FALSE(s.partition_by_commit_date);

  auto local = ParseConfig(
      "source: {postgres: {dsn: h, tables: [public.t]}}\n"
      "sinks: [{name: l, type: parquet, path: ./lake, partition_by: commit_date}]\n",
      "p.yaml");
  ASSERT_TRUE(local.ok()) << local.status().ToString();
  EXPECT_EQ(SinkAs<sink::ParquetSinkSpec>(*local, 0).options.compression,
            format::parquet::Compression::kZstd);
  EXPECT_TRUE(SinkAs<sink::ParquetSinkSpec>(*local, 0).options.partition_by_commit_date);
}

TEST(ConfigParquetTest, ErrorsNameTheKeyAndNeverTheSecret) {
  const std::string base = kParquetSinkExample;
  ExpectError(Replaced(base, "compression: snappy", "compression: lz4"),
              "p.yaml:14:18: sinks[0].compression", {"zstd, snappy, none", "lz4"});
  ExpectError(Replaced(base, "max_file_age: 10s", "max_file_age: 10ms"),
              "p.yaml:15:19: sinks[0].max_file_age", {"at least 100ms"});
  ExpectError(Replaced(base, "endpoint: http://127.0.0.1:9000", "endpoint: 127.0.0.1:9000"),
              "p.yaml:10:17: sinks[0].s3.endpoint", {"http://"});
  ExpectError(Replaced(base, "path_style: true", "path_style: true\n      part_size: 1MB"),
              "p.yaml:14:18: sinks[0].s3.part_size", {"at least 5MB"});
  ExpectError(Replaced(base, "path_style: true", "path_style: true\n      secret: x"),
              "p.yaml:14:7: sinks[0].s3.secret", {"unknown key"});
  ExpectError(Replaced(base, "s3://processed-data/raw/", "./lake"), "p.yaml:10:7: sinks[0].s3",
              {"s3://bucket/prefix"});
  ExpectError(Replaced(base, "s3://processed-data/raw/", "s3:///raw"), "p.yaml:8:11: sinks[0].path",
              {"names no bucket"});
  // Without credentials in the file or the environment.
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SECRET_ACCESS_KEY");
  std::string no_secret = Replaced(base, "      secret_access_key: minio123\n", "");
  ExpectError(no_secret, "p.yaml:6:5: sinks[0]", {"no S3 credentials", "AWS_SECRET_ACCESS_KEY"});
  setenv("AWS_SECRET_ACCESS_KEY", "from-the-env", 1);
  auto r = ParseConfig(no_secret, "p.yaml");
  unsetenv("AWS_SECRET_ACCESS_KEY");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(SinkAs<sink::ParquetSinkSpec>(*r, 0).options.s3.secret_access_key.Reveal(),
            "from-the-env");
  // A bad value next to the secret: the message names the key, never the secret.
  auto bad = ParseConfig(Replaced(base, "path_style: true", "path_style: maybe"), "p.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().find("minio123"), std::string::npos) << bad.status().message();
  // jsonl-only keys are not accepted for a parquet sink.
  ExpectError(Replaced(base, "compression: snappy", "schemas: true"),
              "p.yaml:14:5: sinks[0].schemas", {"unknown key"});
}

}  // namespace
}  // namespace walflow::runtime

namespace walflow::runtime {
namespace {

// A file whose sink's from: is line 9:
//   1 source:
//   2   postgres:
//   3     dsn: "host=h"
//   4     tables: [public.orders, shop.items]
//   5 sinks:
//   6   - name: files
//   7     type: jsonl
//   8     path: ./out
//   9     from: <from>
std::string WithFrom(const std::string& from, const std::string& more_sinks = "") {
  return "source:\n  postgres:\n    dsn: \"host=h\"\n    tables: [public.orders, shop.items]\n"
         "sinks:\n  - name: files\n    type: jsonl\n    path: ./out\n    from: " +
         from + "\n" + more_sinks;
}

TEST(ConfigFromTest, BareNamesAreInSchemaPublic) {
  auto r = ParseConfig(WithFrom("[orders, shop.items]"), "p.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->sinks.at(0)->from, (std::vector<std::string>{"public.orders", "shop.items"}));
  auto single = ParseConfig(WithFrom("orders"), "p.yaml");
  ASSERT_TRUE(single.ok()) << single.status().ToString();
  EXPECT_EQ(single->sinks.at(0)->from, (std::vector<std::string>{"public.orders"}));
  auto qualified = ParseConfig(WithFrom("public.orders"), "p.yaml");
  ASSERT_TRUE(qualified.ok()) << qualified.status().ToString();
  EXPECT_EQ(qualified->sinks.at(0)->from, (std::vector<std::string>{"public.orders"}));
}

TEST(ConfigFromTest, WithoutFromASinkTakesEveryTable) {
  auto r = ParseConfig(With(5, "    slot: s"), "p.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->sinks.at(0)->from.empty());
}

TEST(ConfigFromTest, ANameThatIsNotATableOfTheSource) {
  auto r = ParseConfig(WithFrom("[orders, missing]"), "p.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            "p.yaml:9:20: sinks[0].from[1]: 'public.missing' is not a table of the source "
            "(source.postgres.tables: public.orders, shop.items)");
  // The schema counts: items is in shop, not public.
  ExpectError(WithFrom("items"), "p.yaml:9:11: sinks[0].from: ",
              {"'public.items' is not a table", "public.orders, shop.items"});
  // In a later sink.
  ExpectError(WithFrom("orders",
                       "  - name: lake\n    type: jsonl\n    path: ./lake\n"
                       "    from: [shop.orders]\n"),
              "p.yaml:13:12: sinks[1].from[0]: ", {"'shop.orders' is not a table"});
}

TEST(ConfigFromTest, ANameListedTwice) {
  ExpectError(WithFrom("[orders, public.orders]"),
              "p.yaml:9:20: sinks[0].from[1]: ", {"public.orders is listed twice"});
  ExpectError(WithFrom("[shop.items, orders, shop.items]"),
              "p.yaml:9:32: sinks[0].from[2]: ", {"shop.items is listed twice"});
}

const char* const kKafkaSourceWithFrom = R"(source:
  kafka:
    brokers: 127.0.0.1:9092
    topics: [dbserver1.public.orders]
sinks:
  - name: files
    type: jsonl
    path: ./out
    from: [anything, x.y]
)";

TEST(ConfigFromTest, AKafkaSourceAcceptsAnyName) {
  auto r = ParseConfig(kKafkaSourceWithFrom, "p.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->source_type, SourceType::kKafka);
  EXPECT_EQ(r->sinks.at(0)->from, (std::vector<std::string>{"public.anything", "x.y"}));
  ExpectError(Replaced(kKafkaSourceWithFrom, "[anything, x.y]", "[x.y, x.y]"),
              "p.yaml:9:17: sinks[0].from[1]: ", {"x.y is listed twice"});
}

TEST(ConfigFromTest, TwoSinksWritingToOneDestinationAreNamed) {
  ExpectError(With(9, "    path: ./out\n  - name: second\n    type: jsonl\n    path: out"),
              "p.yaml:10:5: sinks[1]: ",
              {"sinks 'files' and 'second' write to the same destination", "/out)"});
  ExpectError(With(9,
                   "    path: ./out\n  - name: lake\n    type: parquet\n    path: ./lake\n"
                   "  - name: lake2\n    type: parquet\n    path: lake"),
              "p.yaml:13:5: sinks[2]: ",
              {"sinks 'lake' and 'lake2' write to the same destination", "/lake)"});
  ExpectError(With(9,
                   "    path: ./out\n  - name: bus\n    type: kafka\n    brokers: b:9092\n"
                   "    transactional_id: shared\n"
                   "  - name: bus2\n    type: kafka\n    brokers: c:9092\n"
                   "    transactional_id: shared"),
              "p.yaml:14:5: sinks[2]: ",
              {"sinks 'bus' and 'bus2' write to the same destination "
               "(kafka transactional id shared)"});
  // Different transactional ids (by default, from the sink names) do not clash.
  auto r = ParseConfig(With(9,
                            "    path: ./out\n  - name: bus\n    type: kafka\n    brokers: b:9092\n"
                            "  - name: bus2\n    type: kafka\n    brokers: b:9092"),
                       "p.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->sinks.size(), 3u);
}

TEST(ConfigFromTest, ATrailingSlashNamesTheSameDestination) {
  ExpectError(
      With(9, "    path: ./out\n  - name: second\n    type: jsonl\n    path: ./out/"),
      "p.yaml:10:5: sinks[1]: ", {"sinks 'files' and 'second' write to the same destination"});
}

}  // namespace
}  // namespace walflow::runtime
