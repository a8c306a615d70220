// Every sink type, registered in one place (registry.cc): its name, what it is, and how its
// options are read from the pipeline file. A type's options live in a SinkSpec subclass in
// the type's own folder, which reads its keys, describes the sink, checks it for
// `walflow check` and makes it. Nothing else in walflow switches on a type name.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <memory>
#include <stop_token>
#include <string>
#include <vector>

#include "core/config_reader.h"
#include "core/ids.h"
#include "core/status.h"
#include "format/debezium_json.h"
#include "sink/sink.h"

namespace walflow::sink {

// What a sink promises; the pipeline logs it, `check` shows it, and the sink worker uses
// needs_transaction_boundaries.
struct SinkCapabilities {
  // Data and position become durable together: after a crash nothing is written twice.
  bool transactional = false;
  // Writing a change again leaves the destination as it was (an upsert by key).
  bool idempotent = false;
  // Checkpoints only where a source transaction ends: the worker asks for one right after
  // a transaction's marker, never in the middle of a transaction.
  bool needs_transaction_boundaries = false;
};
std::string DescribeGuarantee(const SinkCapabilities& caps);

// Facts of the pipeline a sink is made for.
struct SinkContext {
  std::string server_name;  // Debezium's topic.prefix: source.name
  std::string database;     // source.db
  std::string unavailable_value_placeholder = "__debezium_unavailable_value";
  std::stop_token stop;  // set when the pipeline stops: long waits end early
};

// One line of `walflow check` about a sink.
struct SinkCheck {
  bool ok = true;
  std::string text;
  Lsn held;  // what the sink holds, when it can tell without starting (Lsn() otherwise)
};

// A sink's options as read from the file.
class SinkSpec {
 public:
  virtual ~SinkSpec() = default;

  // The keys every sink has, read by ParseSinkSpec.
  std::string name;
  std::string type;
  ConfigLocation location;
  // from: qualified names of the tables (later views) the sink receives; empty: every table
  // of the source.
  std::vector<std::string> from;
  std::vector<ConfigLocation> from_locations;
  std::chrono::milliseconds flush_interval{1000};

  // Reads the type's own keys.
  virtual Status Parse(ConfigReader& reader) = 0;
  // "jsonl ./out", "kafka 10.0.0.1:9092 (exactly once)": for logs and check.
  virtual std::string Describe() const = 0;
  virtual SinkCapabilities capabilities() const = 0;
  virtual std::unique_ptr<Sink> Make(const SinkContext& context) const = 0;
  // Reachable or writable, and what it holds, without changing anything.
  virtual SinkCheck Check() const = 0;
  // Where it writes, when two sinks must not share it (a canonical path, an s3:// URL).
  virtual std::string Destination() const { return ""; }
};

struct SinkType {
  const char* name;
  const char* description;
  std::unique_ptr<SinkSpec> (*create)();
};

// The registered types, in the order `walflow help` lists them.
const std::vector<SinkType>& SinkTypes();

// Reads sinks[index]: name, type, from, flush_interval, then the type's keys; unknown keys
// are errors naming file:line:key.
Result<std::unique_ptr<SinkSpec>> ParseSinkSpec(const YAML::Node& node, const std::string& file,
                                                size_t index);

// Debezium event options of the sinks that write Debezium JSON (jsonl, kafka).
struct EventEncodingSpec {
  format::DecimalHandling decimal_handling = format::DecimalHandling::kPrecise;
  bool schemas = false;
  bool transaction_metadata = false;

  Status Parse(ConfigReader& reader);
  format::DebeziumOptions For(const SinkContext& context) const;
};

}  // namespace walflow::sink
