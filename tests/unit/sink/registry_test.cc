// The sink registry: every registered type parses from a minimal sink, the keys every sink
// has (from, flush_interval) are read once for all types, errors name file:line:key, and
// each type states its capabilities.
#include "sink/registry.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <map>
#include <string>
#include <vector>

#include "sink/jsonl/jsonl_spec.h"
#include "sink/kafka/kafka_spec.h"
#include "sink/parquet/parquet_spec.h"

namespace walflow::sink {
namespace {

Result<std::unique_ptr<SinkSpec>> Parse(const std::string& yaml, size_t index = 0) {
  return ParseSinkSpec(YAML::Load(yaml), "p.yaml", index);
}

// A sink's spec, failing the test when it does not parse.
std::unique_ptr<SinkSpec> MustParse(const std::string& yaml) {
  auto r = Parse(yaml);
  EXPECT_TRUE(r.ok()) << r.status().ToString() << "\n" << yaml;
  return r.ok() ? std::move(r).value() : nullptr;
}

void ExpectError(const std::string& yaml, const std::string& prefix,
                 std::initializer_list<std::string> parts = {}) {
  auto r = Parse(yaml);
  ASSERT_FALSE(r.ok()) << "accepted:\n" << yaml;
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  const std::string& m = r.status().message();
  EXPECT_EQ(m.substr(0, prefix.size()), prefix) << m;
  for (const auto& p : parts) EXPECT_NE(m.find(p), std::string::npos) << "'" << p << "' in: " << m;
}

// The smallest valid sink of each type: a type registered without one here fails the test.
const std::map<std::string, std::string>& MinimalSinks() {
  static const std::map<std::string, std::string> sinks = {
      {"jsonl", "name: s\ntype: jsonl\npath: ./out\n"},
      {"kafka", "name: s\ntype: kafka\nbrokers: 127.0.0.1:9092\n"},
      {"parquet", "name: s\ntype: parquet\npath: ./lake\n"},
  };
  return sinks;
}

TEST(SinkRegistryTest, EveryTypeParsesAMinimalSink) {
  ASSERT_FALSE(SinkTypes().empty());
  for (const SinkType& t : SinkTypes()) {
    SCOPED_TRACE(t.name);
    EXPECT_NE(std::string(t.description), "");
    auto it = MinimalSinks().find(t.name);
    ASSERT_NE(it, MinimalSinks().end()) << "no minimal sink for type " << t.name;
    auto spec = MustParse(it->second);
    ASSERT_NE(spec, nullptr);
    EXPECT_EQ(spec->type, t.name);
    EXPECT_EQ(spec->name, "s");
    EXPECT_FALSE(spec->Describe().empty());
    EXPECT_EQ(spec->Describe().rfind(t.name, 0), 0u) << spec->Describe();
    EXPECT_TRUE(spec->from.empty()) << "default: every table";
    EXPECT_EQ(spec->flush_interval, std::chrono::milliseconds(1000));
    EXPECT_EQ(spec->location.key, "sinks[0]");
    EXPECT_EQ(spec->location.file, "p.yaml");
    // A fresh spec from the factory is of the same class as the parsed one.
    auto fresh = t.create();
    ASSERT_NE(fresh, nullptr);
    EXPECT_EQ(typeid(*fresh), typeid(*spec));
  }
  EXPECT_NE(dynamic_cast<JsonlSinkSpec*>(MustParse(MinimalSinks().at("jsonl")).get()), nullptr);
  EXPECT_NE(dynamic_cast<KafkaSinkSpec*>(MustParse(MinimalSinks().at("kafka")).get()), nullptr);
  EXPECT_NE(dynamic_cast<ParquetSinkSpec*>(MustParse(MinimalSinks().at("parquet")).get()), nullptr);
}

TEST(SinkRegistryTest, UnknownTypeListsTheAvailableOnes) {
  std::string available;
  for (const SinkType& t : SinkTypes())
    available += (available.empty() ? "" : ", ") + std::string(t.name);
  EXPECT_EQ(available, "jsonl, kafka, parquet");
  auto r = Parse("name: s\ntype: iceberg\npath: ./out\n", 2);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            "p.yaml:2:7: sinks[2].type: unknown sink type 'iceberg' "
            "(available: " +
                available + ")");
}

TEST(SinkRegistryTest, NameAndTypeAreRequired) {
  ExpectError("type: jsonl\npath: ./out\n",
              "p.yaml:1:1: sinks[0]: ", {"missing required key 'name'"});
  ExpectError("name: s\npath: ./out\n", "p.yaml:1:1: sinks[0]: ", {"missing required key 'type'"});
  ExpectError("[a, b]\n", "p.yaml:1:1: sinks[0]", {"mapping"});
}

TEST(SinkRegistryTest, FromAsAList) {
  auto spec = MustParse("name: s\ntype: jsonl\npath: ./out\nfrom: [orders, shop.items]\n");
  ASSERT_NE(spec, nullptr);
  // Names are qualified later, against the source's tables (runtime/config.cc).
  EXPECT_EQ(spec->from, (std::vector<std::string>{"orders", "shop.items"}));
  ASSERT_EQ(spec->from_locations.size(), 2u);
  EXPECT_EQ(spec->from_locations[0].ToString(), "p.yaml:4:8: sinks[0].from[0]");
  EXPECT_EQ(spec->from_locations[1].ToString(), "p.yaml:4:16: sinks[0].from[1]");

  auto block = MustParse("name: s\ntype: kafka\nbrokers: b:9092\nfrom:\n  - a\n  - b.c\n");
  ASSERT_NE(block, nullptr);
  EXPECT_EQ(block->from, (std::vector<std::string>{"a", "b.c"}));
  EXPECT_EQ(block->from_locations[1].ToString(), "p.yaml:6:5: sinks[0].from[1]");
}

TEST(SinkRegistryTest, FromAsASingleString) {
  auto spec = MustParse("name: s\ntype: parquet\npath: ./lake\nfrom: public.orders\n");
  ASSERT_NE(spec, nullptr);
  EXPECT_EQ(spec->from, (std::vector<std::string>{"public.orders"}));
  ASSERT_EQ(spec->from_locations.size(), 1u);
  EXPECT_EQ(spec->from_locations[0].ToString(), "p.yaml:4:7: sinks[0].from");
}

TEST(SinkRegistryTest, FromErrors) {
  ExpectError("name: s\ntype: jsonl\npath: ./out\nfrom: []\n",
              "p.yaml:4:7: sinks[0].from: ", {"non-empty list"});
  ExpectError("name: s\ntype: jsonl\npath: ./out\nfrom: [a, {b: c}]\n",
              "p.yaml:4:11: sinks[0].from[1]: ", {"expected a name"});
  ExpectError("name: s\ntype: jsonl\npath: ./out\nfrom: {a: b}\n",
              "p.yaml:4:7: sinks[0].from: ", {"list"});
}

TEST(SinkRegistryTest, FlushIntervalIsReadForEveryType) {
  for (const auto& [type, yaml] : MinimalSinks()) {
    SCOPED_TRACE(type);
    auto spec = MustParse(yaml + "flush_interval: 250ms\n");
    ASSERT_NE(spec, nullptr);
    EXPECT_EQ(spec->flush_interval, std::chrono::milliseconds(250));
    ExpectError(yaml + "flush_interval: 5ms\n", "p.yaml:4:17: sinks[0].flush_interval: ", {"10ms"});
  }
}

TEST(SinkRegistryTest, UnknownKeysAreReportedWithDidYouMean) {
  ExpectError(
      MinimalSinks().at("jsonl") + "flush_intervl: 1s\n",
      "p.yaml:4:1: sinks[0].flush_intervl: ", {"unknown key", "did you mean 'flush_interval'"});
  ExpectError(
      MinimalSinks().at("kafka") + "exactly_onse: true\n",
      "p.yaml:4:1: sinks[0].exactly_onse: ", {"unknown key", "did you mean 'exactly_once'"});
  ExpectError(MinimalSinks().at("parquet") + "compresion: zstd\n",
              "p.yaml:4:1: sinks[0].compresion: ", {"unknown key", "did you mean 'compression'"});
  ExpectError(MinimalSinks().at("jsonl") + "frm: [a]\n",
              "p.yaml:4:1: sinks[0].frm: ", {"did you mean 'from'"});
  // A key of another type is unknown, with nothing near it.
  auto r = Parse(MinimalSinks().at("jsonl") + "brokers: b:9092\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "p.yaml:4:1: sinks[0].brokers: unknown key");
}

SinkCapabilities CapabilitiesOf(const std::string& yaml) {
  auto spec = MustParse(yaml);
  return spec ? spec->capabilities() : SinkCapabilities{};
}

TEST(SinkRegistryTest, Capabilities) {
  const SinkCapabilities kafka_eos =
      CapabilitiesOf(MinimalSinks().at("kafka") + "exactly_once: true\n");
  EXPECT_TRUE(kafka_eos.transactional);
  EXPECT_TRUE(kafka_eos.needs_transaction_boundaries);
  EXPECT_FALSE(kafka_eos.idempotent);

  const SinkCapabilities kafka = CapabilitiesOf(MinimalSinks().at("kafka"));
  EXPECT_FALSE(kafka.transactional);
  EXPECT_FALSE(kafka.needs_transaction_boundaries);
  const SinkCapabilities kafka_off =
      CapabilitiesOf(MinimalSinks().at("kafka") + "exactly_once: false\n");
  EXPECT_FALSE(kafka_off.transactional);
  EXPECT_FALSE(kafka_off.needs_transaction_boundaries);

  const SinkCapabilities parquet = CapabilitiesOf(MinimalSinks().at("parquet"));
  EXPECT_TRUE(parquet.transactional);
  EXPECT_TRUE(parquet.needs_transaction_boundaries);

  const SinkCapabilities jsonl = CapabilitiesOf(MinimalSinks().at("jsonl"));
  EXPECT_TRUE(jsonl.transactional);
  EXPECT_FALSE(jsonl.needs_transaction_boundaries);

  EXPECT_EQ(DescribeGuarantee(jsonl), "exactly once");
  EXPECT_EQ(DescribeGuarantee(kafka),
            "at least once (a crash can repeat the changes since the last checkpoint)");
  SinkCapabilities idempotent;
  idempotent.idempotent = true;
  EXPECT_EQ(DescribeGuarantee(idempotent), "exactly once (idempotent writes)");
}

TEST(SinkRegistryTest, DescribeNamesTheDestination) {
  EXPECT_EQ(MustParse(MinimalSinks().at("jsonl"))->Describe(), "jsonl ./out");
  EXPECT_EQ(MustParse(MinimalSinks().at("kafka"))->Describe(), "kafka 127.0.0.1:9092");
  EXPECT_EQ(MustParse(MinimalSinks().at("kafka") + "exactly_once: true\n")->Describe(),
            "kafka 127.0.0.1:9092 (exactly once)");
  EXPECT_EQ(MustParse(MinimalSinks().at("parquet"))->Describe(), "parquet ./lake (zstd)");
}

TEST(SinkRegistryTest, EventEncodingOptions) {
  auto spec = MustParse(MinimalSinks().at("jsonl") +
                        "decimal_handling: double\nschemas: true\ntransaction_metadata: true\n");
  ASSERT_NE(spec, nullptr);
  const auto* jsonl = dynamic_cast<const JsonlSinkSpec*>(spec.get());
  ASSERT_NE(jsonl, nullptr);
  SinkContext context;
  context.server_name = "dbserver1";
  context.database = "app";
  context.unavailable_value_placeholder = "__toast";
  format::DebeziumOptions o = jsonl->encoding.For(context);
  EXPECT_EQ(o.server_name, "dbserver1");
  EXPECT_EQ(o.database, "app");
  EXPECT_EQ(o.unavailable_value_placeholder, "__toast");
  EXPECT_EQ(o.decimal_handling, format::DecimalHandling::kDouble);
  EXPECT_TRUE(o.schemas);
  EXPECT_TRUE(o.transaction_metadata);
}

TEST(SinkRegistryTest, KafkaMaxTransactionRecords) {
  const std::string base = "name: s\ntype: kafka\nbrokers: b:9092\nexactly_once: true\n";
  auto dflt = MustParse(base);
  ASSERT_NE(dflt, nullptr);
  EXPECT_EQ(dynamic_cast<const KafkaSinkSpec&>(*dflt).max_transaction_records, 100000u);
  auto set = MustParse(base + "max_transaction_records: 500\n");
  ASSERT_NE(set, nullptr);
  EXPECT_EQ(dynamic_cast<const KafkaSinkSpec&>(*set).max_transaction_records, 500u);
  ExpectError(base + "max_transaction_records: 0\n",
              "p.yaml:5:26: sinks[0].max_transaction_records", {"between 1 and"});
}

}  // namespace
}  // namespace walflow::sink
