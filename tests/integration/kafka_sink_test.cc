// The Kafka sink against librdkafka's mock cluster (walflow-kafka-mock, one per test):
// Debezium records as an independent client (kcat) reads them, partitioning as the Java
// client's default partitioner, exactly once and at least once across kill -9, brokers
// that are down at the start or in the middle of a stream, and bad librdkafka settings.
// PostgreSQL's tables are the oracle: replaying what the topics hold must give them.
//
// The mock cluster (librdkafka 2.0.2) does not implement transaction isolation: records of
// aborted transactions stay visible even to read_committed consumers, and no control
// records are written. The exactly-once tests therefore define the committed view
// themselves: a record belongs to it when its `walflow.txn` header names a transaction
// that some position record of the sink (key = transactional_id in the offsets topic)
// names as its "txn" — the position record is produced in the same transaction as the
// changes it covers and is the last thing produced before the commit. (walflow's own
// read of its position on restart sees through the mock the same way, so an aborted
// transaction whose position record reached the broker counts as committed for both. A
// kill landing after the position record reached its broker but before every record of
// its transaction did would read as lost changes here; the position record is produced
// last, so that window is a few milliseconds at most.)
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>
#include <string_view>
#include <thread>

#include "kafka_cluster.h"
#include "walflow_harness.h"

namespace walflow::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kTxnHeader[] = "walflow.txn";

// Kafka's Utils.murmur2 (the Java client's default partitioner for non-null keys), from its
// published definition: seed 0x9747b28c, m = 0x5bd1e995, r = 24, over 4-byte little-endian
// chunks, the tail folded in byte by byte.
uint32_t Murmur2(std::string_view data) {
  const uint32_t m = 0x5bd1e995;
  const int r = 24;
  const uint32_t length = static_cast<uint32_t>(data.size());
  uint32_t h = 0x9747b28c ^ length;
  const auto* bytes = reinterpret_cast<const uint8_t*>(data.data());
  const uint32_t chunks = length / 4;
  for (uint32_t i = 0; i < chunks; ++i) {
    const uint8_t* b = bytes + 4 * i;
    uint32_t k = b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<uint32_t>(b[3]) << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  const uint8_t* tail = bytes + 4 * chunks;
  switch (length % 4) {
    case 3: h ^= static_cast<uint32_t>(tail[2]) << 16; [[fallthrough]];
    case 2: h ^= static_cast<uint32_t>(tail[1]) << 8; [[fallthrough]];
    case 1: h ^= tail[0]; h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return h;
}

int32_t JavaDefaultPartition(std::string_view key, int32_t partitions) {
  return static_cast<int32_t>((Murmur2(key) & 0x7fffffff) % static_cast<uint32_t>(partitions));
}

// PostgreSQL's pg_lsn text ("16/B374D848") as a number, for ordering.
uint64_t ParseLsn(const std::string& text) {
  size_t slash = text.find('/');
  if (slash == std::string::npos) return 0;
  return (std::stoull(text.substr(0, slash), nullptr, 16) << 32) |
         std::stoull(text.substr(slash + 1), nullptr, 16);
}

std::optional<Json> ParseJson(const std::optional<std::string>& text, const std::string& what) {
  if (!text) return std::nullopt;
  Json j = Json::parse(*text, nullptr, false);
  if (j.is_discarded()) {
    ADD_FAILURE() << what << " is not JSON: " << text->substr(0, 300);
    return std::nullopt;
  }
  return j;
}

std::string Where(const KafkaRecord& r) {
  return r.topic + "[" + std::to_string(r.partition) + "]@" + std::to_string(r.offset);
}

std::string TxnOf(const KafkaRecord& r) {
  auto it = r.headers.find(kTxnHeader);
  return it == r.headers.end() ? std::string() : it->second;
}

const Json& Payload(const Json& j) { return j.contains("payload") ? j["payload"] : j; }

// A change's identity, the same in every delivery of it: table, op, position in the WAL and
// the record key.
std::string ChangeId(const Json& value, const std::optional<std::string>& key) {
  const Json& v = Payload(value);
  return v["source"]["schema"].get<std::string>() + "." + v["source"]["table"].get<std::string>() +
         " " + v["op"].get<std::string>() + " lsn " + v["source"]["lsn"].dump() + " seq " +
         v["source"]["sequence"].dump() + " key " + key.value_or("null");
}

// Concatenates the records of several topics.
std::vector<KafkaRecord> Concat(std::vector<std::vector<KafkaRecord>> parts) {
  std::vector<KafkaRecord> all;
  for (auto& p : parts) all.insert(all.end(), p.begin(), p.end());
  return all;
}

// The change events (non-null values) of `records`, in their order.
std::vector<Json> ValuesOf(const std::vector<KafkaRecord>& records) {
  std::vector<Json> values;
  for (const auto& r : records) {
    if (auto v = ParseJson(r.value, "value at " + Where(r))) values.push_back(std::move(*v));
  }
  return values;
}

// Each change once, at its first delivery (later deliveries of a key follow earlier ones in
// its partition, so the first occurrences keep each key's order).
std::vector<Json> FirstDeliveries(const std::vector<KafkaRecord>& records, size_t* duplicates) {
  std::set<std::string> seen;
  std::vector<Json> values;
  *duplicates = 0;
  for (const auto& r : records) {
    auto v = ParseJson(r.value, "value at " + Where(r));
    if (!v) continue;
    if (seen.insert(ChangeId(*v, r.key)).second) {
      values.push_back(std::move(*v));
    } else {
      ++*duplicates;
    }
  }
  return values;
}

// The sink's position records in the offsets topic, in order.
struct PositionRecord {
  std::string where;
  std::string position;
  std::string txn;
};

std::vector<PositionRecord> PositionRecords(const std::vector<KafkaRecord>& offsets,
                                            const std::string& transactional_id,
                                            const std::string& sink) {
  std::vector<PositionRecord> out;
  for (const auto& r : offsets) {
    if (r.key != transactional_id) continue;
    auto v = ParseJson(r.value, "position record at " + Where(r));
    if (!v) {
      ADD_FAILURE() << "position record at " << Where(r) << " has no value";
      continue;
    }
    EXPECT_EQ((*v)["format"], 1) << Where(r) << ": " << v->dump();
    EXPECT_EQ((*v)["sink"], sink) << Where(r) << ": " << v->dump();
    if (!(*v)["position"].is_string() || !(*v)["txn"].is_string()) {
      ADD_FAILURE() << "position record at " << Where(r) << " lacks position or txn: " << v->dump();
      continue;
    }
    out.push_back({Where(r), (*v)["position"].get<std::string>(), (*v)["txn"].get<std::string>()});
    EXPECT_EQ(out.back().txn, TxnOf(r))
        << "the position record at " << Where(r) << " carries another transaction in its header";
  }
  return out;
}

// What a read_committed consumer would see on a real cluster (see the comment at the top).
struct CommittedView {
  std::vector<KafkaRecord> records;
  size_t aborted_records = 0;
  std::set<std::string> aborted_txns;
};

CommittedView Committed(const std::vector<KafkaRecord>& records,
                        const std::vector<PositionRecord>& positions) {
  std::set<std::string> committed;
  for (const auto& p : positions) committed.insert(p.txn);
  CommittedView view;
  for (const auto& r : records) {
    const std::string txn = TxnOf(r);
    if (committed.count(txn)) {
      view.records.push_back(r);
    } else {
      ++view.aborted_records;
      view.aborted_txns.insert(txn);
    }
  }
  return view;
}

// Every record carries the header of a transaction of this sink.
void ExpectTxnHeaders(const std::vector<KafkaRecord>& records,
                      const std::string& transactional_id) {
  size_t bad = 0;
  for (const auto& r : records) {
    if (TxnOf(r).rfind(transactional_id + ":", 0) != 0 && ++bad <= 5) {
      ADD_FAILURE() << Where(r) << ": header " << kTxnHeader << " is '" << TxnOf(r)
                    << "', expected '" << transactional_id << ":<run>:<n>'";
    }
  }
  EXPECT_EQ(bad, 0u) << "records without a proper " << kTxnHeader << " header";
}

// Each delete is followed, in its partition, by a tombstone with the same key; every
// tombstone follows a delete. Returns the number of deletes.
size_t ExpectTombstonesAfterDeletes(const std::vector<KafkaRecord>& records) {
  size_t deletes = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    const KafkaRecord& r = records[i];
    if (!r.value) {
      const bool after_delete =
          i > 0 && records[i - 1].partition == r.partition && records[i - 1].value &&
          Payload(Json::parse(*records[i - 1].value))["op"] == "d" && records[i - 1].key == r.key;
      EXPECT_TRUE(after_delete) << "tombstone at " << Where(r) << " (key " << r.key.value_or("null")
                                << ") does not follow a delete of its key";
      continue;
    }
    auto v = ParseJson(r.value, "value at " + Where(r));
    if (!v || Payload(*v)["op"] != "d") continue;
    ++deletes;
    const bool followed = i + 1 < records.size() && records[i + 1].partition == r.partition &&
                          !records[i + 1].value && records[i + 1].key == r.key;
    EXPECT_TRUE(followed) << "delete at " << Where(r) << " (key " << r.key.value_or("null")
                          << ") is not followed by its tombstone";
  }
  return deletes;
}

// The mock cluster keeps at most 5 MB per partition and drops the oldest records beyond
// (librdkafka's rdkafka_mock.c); a workload that writes faster than this would read as lost
// changes. Each partition must still start at offset 0 (no control records in the mock).
void ExpectCompleteLog(const std::vector<KafkaRecord>& records) {
  std::map<std::string, int64_t> first;  // "topic[partition]" -> first offset
  for (const auto& r : records) {
    first.emplace(r.topic + "[" + std::to_string(r.partition) + "]", r.offset);
  }
  for (const auto& [partition, offset] : first) {
    EXPECT_EQ(offset, 0) << partition << " starts at offset " << offset
                         << ": the mock cluster dropped its oldest records (at most 5 MB per "
                            "partition); the test wrote too much";
  }
}

// Runs `workload`'s transactions for `duration` (or until `stop`), pausing between them so
// that the topics stay within the mock cluster's 5 MB per partition on any machine.
void RunPaced(RandomWorkload& workload, milliseconds duration,
              const std::atomic<bool>* stop = nullptr) {
  const auto until = std::chrono::steady_clock::now() + duration;
  while (std::chrono::steady_clock::now() < until && !(stop && stop->load())) {
    workload.RunFor(milliseconds(1), stop);  // one transaction
    std::this_thread::sleep_for(milliseconds(3));
  }
}

// A pipeline spec whose only sink is a Kafka sink "bus" on `cluster`.
PipelineSpec KafkaOnlySpec(const std::string& db, const std::vector<std::string>& tables,
                           const KafkaCluster& cluster) {
  PipelineSpec spec;
  spec.db = db;
  for (const auto& t : tables) spec.tables.push_back("public." + t);
  spec.jsonl_sink = false;
  spec.status_interval = "100ms";
  KafkaSinkSpec k;
  k.brokers = cluster.bootstrap();
  k.flush_interval = "100ms";
  // Short, as a cluster that does not create topics on request (the mock) costs this long
  // at each start; still long enough for commits on a busy machine.
  k.timeout = "3s";
  spec.kafka_sinks = {k};
  return spec;
}

uint32_t Seed() {
  return static_cast<uint32_t>(std::chrono::steady_clock::now().time_since_epoch().count() %
                               100000);
}

// --- Debezium compatibility ---

TEST(KafkaSinkTest, Murmur2MatchesKafkaReferenceVectors) {
  // org.apache.kafka.common.utils.UtilsTest#testMurmur2.
  const std::pair<std::string, int32_t> cases[] = {
      {"21", -973932308},
      {"foobar", -790332482},
      {"a-little-bit-long-string", -985981536},
      {"a-little-bit-longer-string", -1486304829},
      {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
      {"abc", 479470107},
  };
  for (const auto& [input, expected] : cases) {
    EXPECT_EQ(static_cast<int32_t>(Murmur2(input)), expected) << input;
  }
}

// Records read with kcat: JSON keys holding exactly the primary key, Debezium envelopes as
// values (the same as the jsonl sink's lines), a tombstone after each delete, and values
// that replay to PostgreSQL's tables.
TEST(KafkaSinkTest, DebeziumRecordsReadByKcat) {
  KafkaCluster cluster;
  cluster.Start(3);
  PgServer& pg = PgServer::Shared();
  const std::string db = pg.CreateDatabase("kafka_dbz");
  pg.Exec(
      "CREATE TABLE items (id bigint PRIMARY KEY, name text, price numeric(10,2), "
      "note text, qty integer);"
      "CREATE TABLE order_lines (order_id integer, line integer, sku text NOT NULL, "
      "PRIMARY KEY (order_id, line))",
      db);
  PipelineSpec spec;
  spec.db = db;
  spec.tables = {"public.items", "public.order_lines"};
  spec.status_interval = "100ms";
  KafkaSinkSpec k;
  k.brokers = cluster.bootstrap();  // topic_prefix defaults to the source's name, dbserver1
  k.timeout = "3s";
  spec.kafka_sinks = {k};
  WalflowPipeline pipeline(pg, spec);
  ASSERT_TRUE(pipeline.StartAndWaitStreaming());

  pg.Exec(
      "INSERT INTO items VALUES (1, 'apple', 1.50, NULL, 10), (2, 'pear', 2.25, NULL, 0), "
      "(3, 'fig', NULL, NULL, NULL), (4, 'kiwi \"quoted\" \\ ü', 0.99, NULL, 7), "
      "(5, 'plum', 3.00, NULL, 1)",
      db);
  pg.Exec("UPDATE items SET price = 1.75, qty = qty + 1 WHERE id = 1", db);
  pg.Exec("UPDATE items SET name = 'pear (ripe)' WHERE id = 2", db);
  pg.Exec("DELETE FROM items WHERE id = 3", db);
  pg.Exec(
      "BEGIN; INSERT INTO items VALUES (6, 'date', 4.10, NULL, 2); "
      "UPDATE items SET qty = 3 WHERE id = 6; DELETE FROM items WHERE id = 5; COMMIT",
      db);
  pg.Exec("INSERT INTO order_lines VALUES (100, 1, 'A'), (100, 2, 'B'), (101, 1, 'C')", db);
  pg.Exec("UPDATE order_lines SET sku = 'B2' WHERE order_id = 100 AND line = 2", db);
  pg.Exec("DELETE FROM order_lines WHERE order_id = 101", db);
  auto jsonl_events = pipeline.CatchUpAndStop();

  const std::map<std::string, std::vector<std::string>> keys = {
      {"public.items", {"id"}}, {"public.order_lines", {"order_id", "line"}}};
  const std::map<std::string, size_t> expected_changes = {{"public.items", 11},
                                                          {"public.order_lines", 5}};
  Oracle oracle(keys);
  std::map<std::string, Json> kafka_by_change;
  for (const auto& [table, key_columns] : keys) {
    SCOPED_TRACE(table);
    const std::string topic = "dbserver1." + table;
    std::vector<KafkaRecord> records = ReadTopicWithKcat(cluster.bootstrap(), topic);
    // The librdkafka reader of the fixture agrees with kcat.
    EXPECT_EQ(ReadTopic(cluster.bootstrap(), topic).size(), records.size());
    ExpectTxnHeaders(records, "walflow-bus");
    size_t changes = 0;
    for (const auto& r : records) {
      EXPECT_EQ(r.topic, topic);
      ASSERT_TRUE(r.key) << "null key at " << Where(r);
      auto key = ParseJson(r.key, "key at " + Where(r));
      ASSERT_TRUE(key && key->is_object()) << Where(r);
      std::set<std::string> key_fields;
      for (auto it = key->begin(); it != key->end(); ++it) key_fields.insert(it.key());
      EXPECT_EQ(key_fields, std::set<std::string>(key_columns.begin(), key_columns.end()))
          << "key at " << Where(r) << ": " << *r.key;
      if (!r.value) continue;  // a tombstone: checked below
      auto value = ParseJson(r.value, "value at " + Where(r));
      ASSERT_TRUE(value && value->is_object()) << Where(r);
      for (const char* field : {"op", "before", "after", "source", "ts_ms"}) {
        EXPECT_TRUE(value->contains(field)) << Where(r) << " lacks " << field << ": " << *r.value;
      }
      const std::string op = (*value)["op"];
      EXPECT_TRUE(op == "c" || op == "u" || op == "d") << Where(r) << ": op " << op;
      EXPECT_EQ((*value)["source"]["name"], "dbserver1");
      EXPECT_EQ((*value)["source"]["db"], db);
      EXPECT_EQ((*value)["source"]["schema"].get<std::string>() + "." +
                    (*value)["source"]["table"].get<std::string>(),
                table);
      const Json& row = op == "d" ? (*value)["before"] : (*value)["after"];
      ASSERT_TRUE(row.is_object()) << Where(r) << ": " << *r.value;
      for (const auto& col : key_columns) {
        EXPECT_EQ((*key)[col], row[col]) << "key at " << Where(r) << " is not the row's " << col;
      }
      oracle.Apply(*value);
      kafka_by_change[ChangeId(*value, std::nullopt)] = *value;
      ++changes;
    }
    EXPECT_EQ(changes, expected_changes.at(table));
    const size_t deletes = ExpectTombstonesAfterDeletes(records);
    EXPECT_EQ(records.size(), changes + deletes) << "one tombstone per delete";
    EXPECT_TRUE(TableMatches(pg, db, oracle, table, key_columns));
  }
  EXPECT_TRUE(oracle.anomalies().empty()) << oracle.anomalies().front();

  // The values are the jsonl sink's lines, but for the time each sink encoded them.
  ASSERT_EQ(jsonl_events.size(), kafka_by_change.size());
  for (Json e : jsonl_events) {
    const std::string id = ChangeId(e, std::nullopt);
    auto it = kafka_by_change.find(id);
    ASSERT_NE(it, kafka_by_change.end()) << "no Kafka record for " << id;
    Json kafka_value = it->second;
    for (const char* t : {"ts_ms", "ts_us", "ts_ns"}) {
      e.erase(t);
      kafka_value.erase(t);
    }
    EXPECT_EQ(kafka_value, e) << id;
  }
}

// schemas: true: keys and values are {"schema": ..., "payload": ...}; topic_prefix names
// the topics.
TEST(KafkaSinkTest, DebeziumRecordsWithSchemas) {
  KafkaCluster cluster;
  cluster.Start(1);
  PgServer& pg = PgServer::Shared();
  const std::string db = pg.CreateDatabase("kafka_schemas");
  pg.Exec("CREATE TABLE products (sku text PRIMARY KEY, title text, price numeric(8,2))", db);
  PipelineSpec spec = KafkaOnlySpec(db, {"products"}, cluster);
  spec.kafka_sinks[0].schemas = true;
  spec.kafka_sinks[0].topic_prefix = "inventory";
  WalflowPipeline pipeline(pg, spec);
  ASSERT_TRUE(pipeline.StartAndWaitStreaming());
  pg.Exec("INSERT INTO products VALUES ('a-1', 'Anvil', 10.00), ('b-2', 'Bolt', 0.25)", db);
  pg.Exec("UPDATE products SET price = 11.50 WHERE sku = 'a-1'", db);
  pg.Exec("DELETE FROM products WHERE sku = 'b-2'", db);
  ASSERT_TRUE(pipeline.WaitForCatchUp());
  EXPECT_EQ(pipeline.Stop(), 0) << Tail(pipeline.Stderr());

  auto topics = ListTopics(cluster.bootstrap());
  EXPECT_NE(std::find(topics.begin(), topics.end(), "inventory.public.products"), topics.end());
  EXPECT_EQ(std::find(topics.begin(), topics.end(), "dbserver1.public.products"), topics.end());
  std::vector<KafkaRecord> records =
      ReadTopicWithKcat(cluster.bootstrap(), "inventory.public.products");
  ASSERT_EQ(records.size(), 5u) << "4 changes and a tombstone";
  Oracle oracle(OracleKeys{{"public.products", {"sku"}}});
  for (const auto& r : records) {
    auto key = ParseJson(r.key, "key at " + Where(r));
    ASSERT_TRUE(key) << Where(r);
    ASSERT_TRUE(key->contains("schema") && key->contains("payload")) << *r.key;
    EXPECT_EQ((*key)["schema"]["type"], "struct") << *r.key;
    ASSERT_TRUE((*key)["schema"]["fields"].is_array()) << *r.key;
    ASSERT_EQ((*key)["schema"]["fields"].size(), 1u) << *r.key;
    EXPECT_EQ((*key)["schema"]["fields"][0]["field"], "sku") << *r.key;
    EXPECT_TRUE((*key)["payload"].is_object() && (*key)["payload"].size() == 1) << *r.key;
    if (!r.value) continue;
    auto value = ParseJson(r.value, "value at " + Where(r));
    ASSERT_TRUE(value && value->contains("schema") && value->contains("payload")) << *r.value;
    EXPECT_EQ((*value)["schema"]["type"], "struct");
    const Json& p = (*value)["payload"];
    const Json& row = p["op"] == "d" ? p["before"] : p["after"];
    EXPECT_EQ((*key)["payload"]["sku"], row["sku"]) << Where(r);
    oracle.Apply(*value);
  }
  EXPECT_EQ(ExpectTombstonesAfterDeletes(records), 1u);
  EXPECT_TRUE(oracle.anomalies().empty()) << oracle.anomalies().front();
  EXPECT_TRUE(TableMatches(pg, db, oracle, "public.products", {"sku"}));
}

// --- Partitioning ---

// A topic created beforehand with 3 partitions: each record lands where the Java client's
// default partitioner puts its key, and each key's records keep their order.
TEST(KafkaSinkTest, PartitionsAsJavaDefaultPartitioner) {
  KafkaCluster cluster;
  cluster.Start(3);
  cluster.CreateTopic("shop.public.orders", 3);
  PgServer& pg = PgServer::Shared();
  const std::string db = pg.CreateDatabase("kafka_part");
  pg.Exec("CREATE TABLE orders (id bigint PRIMARY KEY, v bigint NOT NULL, note text)", db);
  PipelineSpec spec = KafkaOnlySpec(db, {"orders"}, cluster);
  spec.kafka_sinks[0].topic_prefix = "shop";
  spec.kafka_sinks[0].topic_partitions = 3;
  WalflowPipeline pipeline(pg, spec);
  ASSERT_TRUE(pipeline.StartAndWaitStreaming());

  constexpr int kRows = 60, kUpdates = 3;
  pg.Exec("INSERT INTO orders SELECT g, 0, 'n' || g FROM generate_series(1, " +
              std::to_string(kRows) + ") g",
          db);
  for (int u = 0; u < kUpdates; ++u) {
    // Statements interleave keys, so that a key's records are spread over transactions.
    pg.Exec("UPDATE orders SET v = v + 1 WHERE id % 2 = 0", db);
    pg.Exec("UPDATE orders SET v = v + 1 WHERE id % 2 = 1", db);
  }
  pg.Exec("DELETE FROM orders WHERE id % 7 = 0", db);
  ASSERT_TRUE(pipeline.WaitForCatchUp());
  EXPECT_EQ(pipeline.Stop(), 0) << Tail(pipeline.Stderr());

  std::vector<KafkaRecord> records = ReadTopic(cluster.bootstrap(), "shop.public.orders");
  std::vector<KafkaRecord> by_kcat = ReadTopicWithKcat(cluster.bootstrap(), "shop.public.orders");
  ASSERT_EQ(records.size(), by_kcat.size());
  const int deleted = kRows / 7;
  ASSERT_EQ(records.size(), static_cast<size_t>(kRows * (1 + kUpdates) + 2 * deleted));
  std::set<int32_t> used;
  std::map<std::string, std::vector<std::string>> history;  // key -> "c0", "u1", ..., "d", "t"
  for (size_t i = 0; i < records.size(); ++i) {
    const KafkaRecord& r = records[i];
    ASSERT_TRUE(r.key) << Where(r);
    EXPECT_EQ(r.partition, JavaDefaultPartition(*r.key, 3))
        << "key " << *r.key << " at " << Where(r) << "; murmur2 " << Murmur2(*r.key);
    EXPECT_EQ(by_kcat[i].partition, r.partition);
    EXPECT_EQ(by_kcat[i].key, r.key);
    used.insert(r.partition);
    if (!r.value) {
      history[*r.key].push_back("t");
      continue;
    }
    Json v = Json::parse(*r.value);
    const std::string op = v["op"];
    history[*r.key].push_back(op == "d" ? op : op + v["after"]["v"].dump());
  }
  EXPECT_EQ(used.size(), 3u);
  ASSERT_EQ(history.size(), static_cast<size_t>(kRows));
  for (const auto& [key, ops] : history) {
    std::vector<std::string> expected = {"c0"};
    for (int u = 1; u <= kUpdates; ++u) expected.push_back("u" + std::to_string(u));
    if (Json::parse(key)["id"].get<int>() % 7 == 0) {
      expected.push_back("d");
      expected.push_back("t");
    }
    EXPECT_EQ(ops, expected) << "records of key " << key << " out of order";
  }
  Oracle oracle(OracleKeys{{"public.orders", {"id"}}});
  oracle.SetVersionColumn("public.orders", "v");
  oracle.ApplyAll(ValuesOf(records));
  EXPECT_TRUE(oracle.anomalies().empty()) << oracle.anomalies().front();
  EXPECT_TRUE(TableMatches(pg, db, oracle, "public.orders", {"id"}));
}

// --- Crashes ---

// Runs a RandomWorkload on `tables` for `duration` while walflow is killed with SIGKILL
// `kills` times at random moments and started again; then waits for catch-up and stops it.
void KillWhileWriting(PgServer& pg, const std::string& db, WalflowPipeline& pipeline,
                      const std::vector<std::string>& tables, int kills, milliseconds duration,
                      uint32_t seed, RandomWorkload& workload) {
  std::mt19937 rng(seed);
  std::atomic<bool> stop{false};
  std::thread writer([&] { RunPaced(workload, duration, &stop); });
  int done = 0;
  std::string unexpected_exit;
  for (; done < kills; ++done) {
    std::this_thread::sleep_for(milliseconds(1500 + rng() % 2500));
    if (!pipeline.Running()) {
      unexpected_exit = "walflow exited by itself (code " +
                        std::to_string(pipeline.process()->exit_code().value_or(-1)) + ")";
      break;
    }
    pipeline.Kill9();
    if (rng() % 2) std::this_thread::sleep_for(milliseconds(rng() % 300));
    pipeline.Start();
  }
  writer.join();
  ASSERT_TRUE(unexpected_exit.empty()) << unexpected_exit << "\n" << Tail(pipeline.Stderr());
  ASSERT_EQ(done, kills);
  ASSERT_FALSE(workload.in_doubt());
  ASSERT_GT(workload.committed_transactions(), 50u);
  ASSERT_TRUE(pipeline.WaitForCatchUp(seconds(60)));
  EXPECT_EQ(pipeline.Stop(), 0) << Tail(pipeline.Stderr());
}

// exactly_once: true, walflow killed three times while a workload writes: the committed view
// holds each committed change once and replays to PostgreSQL's tables.
TEST(KafkaSinkTest, ExactlyOnceAcrossKill9) {
  KafkaCluster cluster;
  cluster.Start(3);
  PgServer& pg = PgServer::Shared();
  const std::string db = pg.CreateDatabase("kafka_eo");
  const std::vector<std::string> tables = {"customers", "orders"};
  RandomWorkload::CreateTables(pg, db, tables);
  PipelineSpec spec = KafkaOnlySpec(db, tables, cluster);
  KafkaSinkSpec& k = spec.kafka_sinks[0];
  k.exactly_once = true;
  k.topic_prefix = "eo";
  k.transactional_id = "walflow-eo-test";
  k.offsets_topic = "eo_offsets";
  WalflowPipeline pipeline(pg, spec);
  const uint32_t seed = Seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  ASSERT_TRUE(pipeline.StartAndWaitStreaming());
  RandomWorkload workload(pg.Dsn(db), tables, seed);
  KillWhileWriting(pg, db, pipeline, tables, 3, seconds(14), seed, workload);
  if (HasFatalFailure()) return;

  std::vector<KafkaRecord> records =
      Concat({ReadTopicWithKcat(cluster.bootstrap(), "eo.public.customers"),
              ReadTopicWithKcat(cluster.bootstrap(), "eo.public.orders")});
  std::vector<KafkaRecord> offsets = ReadTopicWithKcat(cluster.bootstrap(), "eo_offsets");
  ExpectCompleteLog(records);
  ExpectCompleteLog(offsets);
  ExpectTxnHeaders(records, k.transactional_id);
  std::vector<PositionRecord> positions = PositionRecords(offsets, k.transactional_id, "bus");
  ASSERT_FALSE(positions.empty());
  for (size_t i = 1; i < positions.size(); ++i) {
    EXPECT_LE(ParseLsn(positions[i - 1].position), ParseLsn(positions[i].position))
        << "position went back from " << positions[i - 1].where << " to " << positions[i].where;
  }
  CommittedView view = Committed(records, positions);
  std::printf(
      "kafka exactly once: seed %u, %zu records, %zu committed, %zu in %zu aborted "
      "transaction(s), %zu position records, %llu committed changes\n",
      seed, records.size(), view.records.size(), view.aborted_records, view.aborted_txns.size(),
      positions.size(), static_cast<unsigned long long>(workload.committed_changes()));
  ExpectExactlyOnce(pg, db, ValuesOf(view.records), tables, workload.committed_changes(),
                    pipeline.Stderr());
  std::vector<KafkaRecord> customers, orders;
  for (const auto& r : view.records) {
    (r.topic == "eo.public.customers" ? customers : orders).push_back(r);
  }
  ExpectTombstonesAfterDeletes(customers);
  ExpectTombstonesAfterDeletes(orders);
}

// exactly_once with a short flush_interval, and PostgreSQL transactions of 20000 rows that
// the source cuts into many batches, among small ones: read read_committed, every Kafka
// transaction ends where a PostgreSQL transaction ends — each PostgreSQL transaction (txId
// in the source block) lies in exactly one Kafka transaction (walflow.txn header), whole.
TEST(KafkaSinkTest, ExactlyOnceTransactionsEndAtPostgresTransactionEnds) {
  KafkaCluster cluster;
  cluster.Start(1);
  // The mock keeps at most 5 MB per partition: spread 40000 records over 8.
  cluster.CreateTopic("eob.public.big", 8);
  PgServer& pg = PgServer::Shared();
  const std::string db = pg.CreateDatabase("kafka_eo_bounds");
  pg.Exec("CREATE TABLE big (id integer PRIMARY KEY, v integer NOT NULL)", db);
  PipelineSpec spec = KafkaOnlySpec(db, {"big"}, cluster);
  KafkaSinkSpec& k = spec.kafka_sinks[0];
  k.exactly_once = true;
  k.topic_prefix = "eob";
  k.topic_partitions = 8;
  k.transactional_id = "walflow-eob";
  k.offsets_topic = "eob_offsets";
  k.flush_interval = "10ms";
  WalflowPipeline pipeline(pg, spec);
  ASSERT_TRUE(pipeline.StartAndWaitStreaming());
  constexpr int kRows = 20000;
  uint64_t changes = 0;
  pg.Exec("INSERT INTO big SELECT g, 0 FROM generate_series(1, " + std::to_string(kRows) + ") g",
          db);
  changes += kRows;
  for (int i = 1; i <= 5; ++i) {
    pg.Exec("UPDATE big SET v = v + 1 WHERE id = " + std::to_string(i), db);
    ++changes;
  }
  pg.Exec("UPDATE big SET v = v + 1", db);
  changes += kRows;
  for (int i = 1; i <= 5; ++i) {
    pg.Exec("BEGIN; UPDATE big SET v = v + 1 WHERE id = " + std::to_string(i) +
                "; UPDATE big SET v = v + 1 WHERE id = " + std::to_string(i + 100) + "; COMMIT",
            db);
    changes += 2;
  }
  ASSERT_TRUE(pipeline.WaitForCatchUp(seconds(60)));
  EXPECT_EQ(pipeline.Stop(), 0) << Tail(pipeline.Stderr());

  std::vector<KafkaRecord> records =
      ReadTopic(cluster.bootstrap(), "eob.public.big", Isolation::kReadCommitted);
  std::vector<KafkaRecord> offsets =
      ReadTopic(cluster.bootstrap(), "eob_offsets", Isolation::kReadCommitted);
  ExpectCompleteLog(records);
  std::vector<PositionRecord> positions = PositionRecords(offsets, k.transactional_id, "bus");
  CommittedView view = Committed(records, positions);
  EXPECT_EQ(view.aborted_records, 0u);
  std::map<int64_t, std::map<std::string, size_t>> kafka_txns;  // txId -> walflow.txn -> records
  for (const KafkaRecord& r : view.records) {
    auto v = ParseJson(r.value, "value at " + Where(r));
    if (!v) continue;
    ++kafka_txns[Payload(*v)["source"]["txId"].get<int64_t>()][TxnOf(r)];
  }
  std::printf("kafka transaction ends: %zu records, %zu position records, %zu transactions\n",
              view.records.size(), positions.size(), kafka_txns.size());
  EXPECT_EQ(kafka_txns.size(), 12u);
  size_t torn = 0;
  for (const auto& [xid, parts] : kafka_txns) {
    if (parts.size() == 1) continue;
    std::string where;
    for (const auto& [txn, n] : parts) where += " " + txn + " (" + std::to_string(n) + ")";
    if (++torn <= 3) {
      ADD_FAILURE() << "PostgreSQL transaction " << xid << " spans " << parts.size()
                    << " Kafka transactions:" << where;
    }
  }
  EXPECT_EQ(torn, 0u);
  ExpectExactlyOnce(pg, db, ValuesOf(view.records), {"big"}, changes, pipeline.Stderr());
}

// exactly_once: false, walflow killed twice: every change arrives at least once, and the
// first delivery of each replays to PostgreSQL's tables.
TEST(KafkaSinkTest, AtLeastOnceAcrossKill9) {
  KafkaCluster cluster;
  cluster.Start(3);
  PgServer& pg = PgServer::Shared();
  const std::string db = pg.CreateDatabase("kafka_alo");
  const std::vector<std::string> tables = {"accounts"};
  RandomWorkload::CreateTables(pg, db, tables);
  PipelineSpec spec = KafkaOnlySpec(db, tables, cluster);
  WalflowPipeline pipeline(pg, spec);
  const uint32_t seed = Seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  ASSERT_TRUE(pipeline.StartAndWaitStreaming());
  RandomWorkload workload(pg.Dsn(db), tables, seed);
  KillWhileWriting(pg, db, pipeline, tables, 2, seconds(10), seed, workload);
  if (HasFatalFailure()) return;

  std::vector<KafkaRecord> records = ReadTopic(cluster.bootstrap(), "dbserver1.public.accounts");
  ExpectCompleteLog(records);
  ExpectTxnHeaders(records, "walflow-bus");
  size_t duplicates = 0;
  std::vector<Json> events = FirstDeliveries(records, &duplicates);
  std::printf("kafka at least once: seed %u, %zu records, %zu changes, %zu delivered again\n", seed,
              records.size(), events.size(), duplicates);
  ExpectExactlyOnce(pg, db, events, tables, workload.committed_changes(), pipeline.Stderr());
}

// --- Brokers down ---

// No broker reachable when walflow starts: it stays up, says which sink cannot reach which
// brokers, and retries; once the brokers are back, every change (also those committed while
// they were down) arrives.
void BrokersUnreachableAtStart(bool exactly_once) {
  KafkaCluster cluster;
  cluster.Start(3);
  PgServer& pg = PgServer::Shared();
  const std::string db = pg.CreateDatabase("kafka_down");
  const std::vector<std::string> tables = {"parcels"};
  RandomWorkload::CreateTables(pg, db, tables);
  PipelineSpec spec = KafkaOnlySpec(db, tables, cluster);
  spec.kafka_sinks[0].exactly_once = exactly_once;
  spec.kafka_sinks[0].timeout = "2s";
  WalflowPipeline pipeline(pg, spec);
  // walflow creates its slot only once its sinks are open; created here, the slot keeps
  // what is written while the brokers are down.
  pg.Exec("CREATE PUBLICATION \"" + pipeline.spec().publication +
              "\" FOR TABLE public.parcels WITH (publish_via_partition_root = true)",
          db);
  pg.Exec("SELECT pg_create_logical_replication_slot('" + pipeline.slot() + "', 'pgoutput')", db);

  cluster.SetDown();
  pipeline.Start();
  RandomWorkload workload(pg.Dsn(db), tables, Seed());
  RunPaced(workload, seconds(2));
  // A warning or error that names the sink and the brokers it cannot reach, repeated
  // (retries). librdkafka's own connection errors name a broker but not the sink.
  const std::string broker = cluster.bootstrap().substr(0, cluster.bootstrap().find(','));
  auto error_lines = [&] {
    std::istringstream in(pipeline.Stderr());
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
      if ((line.find(" WARN ") != std::string::npos || line.find(" ERROR ") != std::string::npos) &&
          line.find("sink bus") != std::string::npos && line.find(broker) != std::string::npos) {
        ++n;
      }
    }
    return n;
  };
  EXPECT_TRUE(WaitUntil([&] { return error_lines() >= 2; }, seconds(15)))
      << "no repeated warning naming sink bus and " << broker << ":\n"
      << Tail(pipeline.Stderr());
  ASSERT_TRUE(pipeline.Running()) << Tail(pipeline.Stderr());
  EXPECT_EQ(pg.Scalar("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" +
                          pipeline.slot() + "' AND active",
                      db),
            "0")
      << "walflow streams although its sink cannot be opened";

  cluster.SetUp();
  RunPaced(workload, seconds(1));
  ASSERT_TRUE(pipeline.WaitForCatchUp(seconds(45)));
  EXPECT_EQ(pipeline.Stop(), 0) << Tail(pipeline.Stderr());
  std::vector<KafkaRecord> records =
      ReadTopicWithKcat(cluster.bootstrap(), "dbserver1.public.parcels");
  std::vector<KafkaRecord> offsets = ReadTopicWithKcat(cluster.bootstrap(), "walflow_offsets");
  ExpectCompleteLog(records);
  ExpectCompleteLog(offsets);
  if (exactly_once) {
    CommittedView view = Committed(records, PositionRecords(offsets, "walflow-bus", "bus"));
    ExpectExactlyOnce(pg, db, ValuesOf(view.records), tables, workload.committed_changes(),
                      pipeline.Stderr());
  } else {
    size_t duplicates = 0;
    ExpectExactlyOnce(pg, db, FirstDeliveries(records, &duplicates), tables,
                      workload.committed_changes(), pipeline.Stderr());
  }
}

TEST(KafkaSinkTest, BrokersUnreachableAtStartExactlyOnce) { BrokersUnreachableAtStart(true); }

TEST(KafkaSinkTest, BrokersUnreachableAtStartAtLeastOnce) { BrokersUnreachableAtStart(false); }

// All brokers down for a few seconds while a workload writes: walflow rides it out and,
// once they are back, delivers everything (at least once).
TEST(KafkaSinkTest, BrokersDownMidStream) {
  KafkaCluster cluster;
  cluster.Start(3);
  PgServer& pg = PgServer::Shared();
  const std::string db = pg.CreateDatabase("kafka_outage");
  const std::vector<std::string> tables = {"ledger"};
  RandomWorkload::CreateTables(pg, db, tables);
  PipelineSpec spec = KafkaOnlySpec(db, tables, cluster);
  spec.kafka_sinks[0].timeout = "2s";
  WalflowPipeline pipeline(pg, spec);
  ASSERT_TRUE(pipeline.StartAndWaitStreaming());
  RandomWorkload workload(pg.Dsn(db), tables, Seed());
  std::atomic<bool> stop{false};
  std::thread writer([&] { RunPaced(workload, seconds(11), &stop); });
  std::this_thread::sleep_for(seconds(3));
  cluster.SetDown();
  std::this_thread::sleep_for(seconds(5));
  const bool survived = pipeline.Running();
  cluster.SetUp();
  writer.join();
  ASSERT_TRUE(survived) << "walflow exited while the brokers were down:\n"
                        << Tail(pipeline.Stderr());
  ASSERT_TRUE(pipeline.WaitForCatchUp(seconds(45)));
  EXPECT_EQ(pipeline.Stop(), 0) << Tail(pipeline.Stderr());

  std::vector<KafkaRecord> records =
      ReadTopicWithKcat(cluster.bootstrap(), "dbserver1.public.ledger");
  ExpectCompleteLog(records);
  size_t duplicates = 0;
  std::vector<Json> events = FirstDeliveries(records, &duplicates);
  std::printf("kafka outage: %zu records, %zu changes, %zu delivered again\n", records.size(),
              events.size(), duplicates);
  ExpectExactlyOnce(pg, db, events, tables, workload.committed_changes(), pipeline.Stderr());
}

// --- Configuration ---

// A librdkafka setting that does not exist, or a bad value: walflow exits non-zero naming
// the setting, and never repeats the value.
TEST(KafkaSinkTest, BadPropertyExitsNamingIt) {
  KafkaCluster cluster;
  cluster.Start(1);
  PgServer& pg = PgServer::Shared();
  const std::string db = pg.CreateDatabase("kafka_badprop");
  pg.Exec("CREATE TABLE t (id int PRIMARY KEY)", db);
  PipelineSpec spec = KafkaOnlySpec(db, {"t"}, cluster);
  spec.kafka_sinks[0].properties = {{"linger.ms", "5"}, {"no.such.setting", "1"}};
  WalflowPipeline pipeline(pg, spec);
  pipeline.Start();
  auto code = pipeline.WaitExit(seconds(30));
  ASSERT_TRUE(code.has_value()) << "walflow kept running:\n" << Tail(pipeline.Stderr());
  EXPECT_NE(*code, 0);
  EXPECT_NE(pipeline.LastStderr().find("no.such.setting"), std::string::npos)
      << Tail(pipeline.LastStderr());

  pipeline.Reconfigure([](PipelineSpec& s) {
    s.kafka_sinks[0].properties = {{"linger.ms", "s3cr3t-value"}};
  });
  pipeline.Start();
  code = pipeline.WaitExit(seconds(30));
  ASSERT_TRUE(code.has_value()) << "walflow kept running:\n" << Tail(pipeline.Stderr());
  EXPECT_NE(*code, 0);
  EXPECT_NE(pipeline.LastStderr().find("linger.ms"), std::string::npos)
      << Tail(pipeline.LastStderr());
  EXPECT_EQ(pipeline.LastStderr().find("s3cr3t-value"), std::string::npos)
      << Tail(pipeline.LastStderr());
}

// A SASL password never reaches walflow's output, whatever becomes of the connection (the
// mock cluster does not speak SASL), even with librdkafka's debug logs on.
TEST(KafkaSinkTest, SaslPasswordNeverLogged) {
  KafkaCluster cluster;
  cluster.Start(1);
  PgServer& pg = PgServer::Shared();
  const std::string db = pg.CreateDatabase("kafka_secret");
  pg.Exec("CREATE TABLE t (id int PRIMARY KEY)", db);
  PipelineSpec spec = KafkaOnlySpec(db, {"t"}, cluster);
  spec.log_level = "debug";
  spec.kafka_sinks[0].timeout = "2s";
  spec.kafka_sinks[0].properties = {{"security.protocol", "SASL_PLAINTEXT"},
                                    {"sasl.mechanism", "PLAIN"},
                                    {"sasl.username", "walflow"},
                                    {"sasl.password", "s3cr3t-value"},
                                    {"debug", "conf,security,broker"}};
  WalflowPipeline pipeline(pg, spec);
  pipeline.Start();
  if (!pipeline.WaitExit(seconds(8))) pipeline.Stop(seconds(20));
  const std::string out = pipeline.process()->Stdout() + pipeline.Stderr();
  const size_t leak = out.find("s3cr3t-value");
  EXPECT_EQ(leak, std::string::npos) << "the password appears in walflow's output:\n"
                                     << out.substr(leak < 1500 ? 0 : leak - 1500, 2000);
  EXPECT_NE(pipeline.Stderr().find("sink bus"), std::string::npos) << Tail(pipeline.Stderr());
}

}  // namespace
}  // namespace walflow::test
