#include "runtime/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <set>

#include "kafka/client.h"
#include "storage/file_io.h"

namespace walflow::runtime {
namespace {

ConfigLocation LocationOf(const YAML::Node& node, const std::string& file, const std::string& key) {
  ConfigLocation loc;
  loc.file = file;
  loc.key = key;
  if (node.IsDefined() && node.Mark().line >= 0) {
    loc.line = node.Mark().line + 1;
    loc.column = node.Mark().column + 1;
  }
  return loc;
}

Status ErrorAt(const ConfigLocation& loc, const std::string& message) {
  return InvalidArgument(loc.ToString() + ": " + message);
}

size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// Reads the keys of one YAML mapping, remembering which were used so that the rest
// can be reported as unknown.
class MapReader {
 public:
  MapReader(const YAML::Node& node, std::string path, std::string file)
      : node_(node), path_(std::move(path)), file_(std::move(file)) {}

  Status CheckIsMap() const {
    if (!node_.IsMap()) return ErrorAt(Here(), "expected a mapping of keys to values");
    return Status::OK();
  }

  ConfigLocation Here() const { return LocationOf(node_, file_, path_.empty() ? "(top)" : path_); }
  std::string KeyPath(const std::string& key) const {
    return path_.empty() ? key : path_ + "." + key;
  }
  ConfigLocation At(const std::string& key) const {
    return LocationOf(node_[key], file_, KeyPath(key));
  }

  YAML::Node Get(const std::string& key) {
    known_.insert(key);
    return node_[key];
  }

  Status Scalar(const std::string& key, std::string* out, bool required) {
    YAML::Node n = Get(key);
    if (!n.IsDefined() || n.IsNull()) {
      if (required) return ErrorAt(Here(), "missing required key '" + key + "'");
      return Status::OK();
    }
    if (!n.IsScalar()) return ErrorAt(At(key), "expected a single value");
    *out = n.Scalar();
    return Status::OK();
  }

  Status String(const std::string& key, std::string* out, bool required = false) {
    std::string v;
    bool had = node_[key].IsDefined() && !node_[key].IsNull();
    WF_RETURN_IF_ERROR(Scalar(key, &v, required));
    if (had) {
      if (v.empty()) return ErrorAt(At(key), "must not be empty");
      *out = v;
    }
    return Status::OK();
  }

  Status Bool(const std::string& key, bool* out) {
    std::string v;
    WF_RETURN_IF_ERROR(Scalar(key, &v, false));
    if (v.empty()) return Status::OK();
    if (v == "true" || v == "yes" || v == "on")
      *out = true;
    else if (v == "false" || v == "no" || v == "off")
      *out = false;
    else
      return ErrorAt(At(key), "expected true or false, got '" + v + "'");
    return Status::OK();
  }

  Status Integer(const std::string& key, uint64_t min, uint64_t max, uint64_t* out) {
    std::string v;
    WF_RETURN_IF_ERROR(Scalar(key, &v, false));
    if (v.empty()) return Status::OK();
    char* end = nullptr;
    uint64_t n = std::strtoull(v.c_str(), &end, 10);
    if (end == v.c_str() || *end != '\0' || v[0] == '-' || n < min || n > max) {
      return ErrorAt(At(key), "expected a number between " + std::to_string(min) + " and " +
                                  std::to_string(max) + ", got '" + v + "'");
    }
    *out = n;
    return Status::OK();
  }

  Status Duration(const std::string& key, std::chrono::milliseconds* out) {
    std::string v;
    WF_RETURN_IF_ERROR(Scalar(key, &v, false));
    if (v.empty()) return Status::OK();
    if (!ParseDuration(v, out)) {
      return ErrorAt(At(key), "expected a duration such as 500ms, 10s or 2m, got '" + v + "'");
    }
    return Status::OK();
  }

  Status Size(const std::string& key, uint64_t* out) {
    std::string v;
    WF_RETURN_IF_ERROR(Scalar(key, &v, false));
    if (v.empty()) return Status::OK();
    if (!ParseByteSize(v, out) || *out == 0) {
      return ErrorAt(At(key), "expected a size such as 512KB, 64MB or 1GB, got '" + v + "'");
    }
    return Status::OK();
  }

  template <typename E>
  Status Enum(const std::string& key, const std::vector<std::pair<std::string, E>>& choices,
              E* out) {
    std::string v;
    WF_RETURN_IF_ERROR(Scalar(key, &v, false));
    if (v.empty()) return Status::OK();
    std::string names;
    for (const auto& [name, value] : choices) {
      if (name == v) {
        *out = value;
        return Status::OK();
      }
      names += (names.empty() ? "" : ", ") + name;
    }
    return ErrorAt(At(key), "expected one of " + names + ", got '" + v + "'");
  }

  Status Finish() const {
    for (auto it = node_.begin(); it != node_.end(); ++it) {
      std::string key = it->first.Scalar();
      if (known_.count(key)) continue;
      std::string hint;
      size_t best = 3;
      for (const auto& k : known_) {
        size_t d = EditDistance(key, k);
        if (d < best) {
          best = d;
          hint = " (did you mean '" + k + "'?)";
        }
      }
      return ErrorAt(LocationOf(it->first, file_, KeyPath(key)), "unknown key" + hint);
    }
    return Status::OK();
  }

 private:
  YAML::Node node_;
  std::string path_;
  std::string file_;
  std::set<std::string> known_;
};

bool ValidIdentifierPart(const std::string& s) { return !s.empty(); }

Status ParseTable(const YAML::Node& n, const std::string& file, const std::string& key,
                  TableRef* out) {
  out->location = LocationOf(n, file, key);
  if (!n.IsScalar()) return ErrorAt(out->location, "expected a table name such as public.orders");
  std::string v = n.Scalar();
  auto dot = v.find('.');
  if (dot == std::string::npos) {
    out->schema = "public";
    out->name = v;
  } else {
    out->schema = v.substr(0, dot);
    out->name = v.substr(dot + 1);
  }
  if (!ValidIdentifierPart(out->schema) || !ValidIdentifierPart(out->name) ||
      out->name.find('.') != std::string::npos) {
    return ErrorAt(out->location, "expected a table name such as public.orders, got '" + v + "'");
  }
  return Status::OK();
}

Status ParsePostgres(const YAML::Node& node, const std::string& file, PostgresSourceConfig* pg) {
  MapReader r(node, "source.postgres", file);
  WF_RETURN_IF_ERROR(r.CheckIsMap());
  pg->location = r.Here();
  WF_RETURN_IF_ERROR(r.String("dsn", &pg->dsn, true));
  WF_RETURN_IF_ERROR(r.String("slot", &pg->slot));
  WF_RETURN_IF_ERROR(r.String("publication", &pg->publication));
  YAML::Node tables = r.Get("tables");
  if (!tables.IsDefined() || tables.IsNull()) {
    return ErrorAt(r.Here(), "missing required key 'tables' (a list such as [public.orders])");
  }
  if (!tables.IsSequence() || tables.size() == 0) {
    return ErrorAt(r.At("tables"), "expected a non-empty list of tables such as [public.orders]");
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < tables.size(); ++i) {
    TableRef t;
    WF_RETURN_IF_ERROR(
        ParseTable(tables[i], file, "source.postgres.tables[" + std::to_string(i) + "]", &t));
    if (!seen.insert(t.Qualified()).second) {
      return ErrorAt(t.location, "table " + t.Qualified() + " is listed twice");
    }
    pg->tables.push_back(std::move(t));
  }
  WF_RETURN_IF_ERROR(r.Enum<SnapshotMode>("snapshot",
                                          {{"never", SnapshotMode::kNever},
                                           {"initial", SnapshotMode::kInitial},
                                           {"always", SnapshotMode::kAlways},
                                           {"initial_only", SnapshotMode::kInitialOnly}},
                                          &pg->snapshot));
  uint64_t parallelism = pg->snapshot_parallelism;
  WF_RETURN_IF_ERROR(r.Integer("snapshot_parallelism", 1, 64, &parallelism));
  pg->snapshot_parallelism = static_cast<int>(parallelism);
  WF_RETURN_IF_ERROR(r.Integer("snapshot_chunk_size", 1, 100000000, &pg->snapshot_chunk_size));
  WF_RETURN_IF_ERROR(r.String("name", &pg->server_name));
  WF_RETURN_IF_ERROR(r.Duration("heartbeat_interval", &pg->heartbeat_interval));
  WF_RETURN_IF_ERROR(r.Duration("status_interval", &pg->status_interval));
  if (pg->status_interval.count() <= 0) {
    return ErrorAt(r.At("status_interval"), "must be greater than zero");
  }
  WF_RETURN_IF_ERROR(r.String("unavailable_value_placeholder", &pg->unavailable_value_placeholder));
  WF_RETURN_IF_ERROR(r.Size("spool_memory_limit", &pg->spool_memory_limit));
  WF_RETURN_IF_ERROR(r.Bool("create_slot", &pg->create_slot));
  WF_RETURN_IF_ERROR(r.Bool("create_publication", &pg->create_publication));
  WF_RETURN_IF_ERROR(r.String("capture_file", &pg->capture_file));
  return r.Finish();
}

// `properties: {compression.type: zstd, ...}`: librdkafka settings, checked by librdkafka
// when the client is created (its message names the property, never the value).
Status ParseKafkaProperties(MapReader* r, KafkaProperties* out) {
  YAML::Node props = r->Get("properties");
  if (!props.IsDefined() || props.IsNull()) return Status::OK();
  if (!props.IsMap()) {
    return ErrorAt(r->At("properties"), "expected a mapping of librdkafka settings to values");
  }
  for (auto it = props.begin(); it != props.end(); ++it) {
    std::string key = it->first.Scalar();
    if (!it->second.IsScalar()) {
      return ErrorAt(LocationOf(it->second, r->Here().file, r->KeyPath("properties." + key)),
                     "expected a single value");
    }
    if (key == "bootstrap.servers" || key == "transactional.id" || key == "group.id" ||
        key == "enable.auto.commit" || key == "enable.idempotence" || key == "isolation.level") {
      return ErrorAt(LocationOf(it->first, r->Here().file, r->KeyPath("properties." + key)),
                     "set by walflow itself (use brokers, transactional_id, group_id or "
                     "exactly_once)");
    }
    Status valid = kafka::CheckSetting(key, it->second.Scalar());
    if (!valid.ok()) {
      return ErrorAt(LocationOf(it->first, r->Here().file, r->KeyPath("properties." + key)),
                     valid.message());
    }
    out->emplace_back(key, it->second.Scalar());
  }
  return Status::OK();
}

Status ParseKafkaSource(const YAML::Node& node, const std::string& file, KafkaSourceConfig* k) {
  MapReader r(node, "source.kafka", file);
  WF_RETURN_IF_ERROR(r.CheckIsMap());
  k->location = r.Here();
  WF_RETURN_IF_ERROR(r.String("brokers", &k->brokers, true));
  WF_RETURN_IF_ERROR(r.String("group_id", &k->group_id));
  WF_RETURN_IF_ERROR(r.String("name", &k->server_name));
  YAML::Node topics = r.Get("topics");
  if (!topics.IsDefined() || topics.IsNull()) {
    return ErrorAt(r.Here(),
                   "missing required key 'topics' (a list such as [dbserver1.public.orders])");
  }
  if (!topics.IsSequence() || topics.size() == 0) {
    return ErrorAt(r.At("topics"),
                   "expected a non-empty list of topic names or patterns starting with '^'");
  }
  for (size_t i = 0; i < topics.size(); ++i) {
    if (!topics[i].IsScalar() || topics[i].Scalar().empty()) {
      return ErrorAt(LocationOf(topics[i], file, "source.kafka.topics[" + std::to_string(i) + "]"),
                     "expected a topic name or a pattern starting with '^'");
    }
    k->topics.push_back(topics[i].Scalar());
  }
  WF_RETURN_IF_ERROR(ParseKafkaProperties(&r, &k->properties));
  YAML::Node dl = r.Get("dead_letter");
  if (dl.IsDefined() && !dl.IsNull()) {
    MapReader d(dl, "source.kafka.dead_letter", file);
    WF_RETURN_IF_ERROR(d.CheckIsMap());
    WF_RETURN_IF_ERROR(d.String("topic", &k->dead_letter_topic));
    WF_RETURN_IF_ERROR(d.String("path", &k->dead_letter_path));
    if (k->dead_letter_topic.empty() && k->dead_letter_path.empty()) {
      return ErrorAt(d.Here(), "expected 'topic', 'path' or both");
    }
    WF_RETURN_IF_ERROR(d.Finish());
  }
  return r.Finish();
}

// The parquet sink's keys; `path` is already read.
Status ParseParquetSink(MapReader* r, const std::string& file, SinkConfig* s) {
  WF_RETURN_IF_ERROR(
      r->Enum<format::parquet::Compression>("compression",
                                            {{"zstd", format::parquet::Compression::kZstd},
                                             {"snappy", format::parquet::Compression::kSnappy},
                                             {"none", format::parquet::Compression::kNone}},
                                            &s->compression));
  WF_RETURN_IF_ERROR(r->Duration("max_file_age", &s->max_file_age));
  if (s->max_file_age < std::chrono::milliseconds(100)) {
    return ErrorAt(r->At("max_file_age"), "must be at least 100ms");
  }
  WF_RETURN_IF_ERROR(r->Size("row_group_size", &s->row_group_size));
  if (s->row_group_size < (64u << 10)) {
    return ErrorAt(r->At("row_group_size"), "must be at least 64KB");
  }
  std::string partition = "none";
  WF_RETURN_IF_ERROR(r->Enum<std::string>(
      "partition_by", {{"none", "none"}, {"commit_date", "commit_date"}}, &partition));
  s->partition_by_commit_date = partition == "commit_date";

  YAML::Node s3 = r->Get("s3");
  const bool is_s3 = s->path.rfind("s3://", 0) == 0;
  if (!is_s3) {
    if (s3.IsDefined() && !s3.IsNull()) {
      return ErrorAt(r->At("s3"), "s3 settings need an s3://bucket/prefix path");
    }
    return Status::OK();
  }
  Status url = storage::ParseS3Url(s->path, &s->s3.bucket, &s->s3.prefix);
  if (!url.ok()) return ErrorAt(r->At("path"), url.message());
  auto env = [](const char* name) {
    const char* v = std::getenv(name);
    return v ? std::string(v) : std::string();
  };
  s->s3.access_key_id = env("AWS_ACCESS_KEY_ID");
  s->s3.secret_access_key = env("AWS_SECRET_ACCESS_KEY");
  s->s3.session_token = env("AWS_SESSION_TOKEN");
  if (!env("AWS_REGION").empty()) {
    s->s3.region = env("AWS_REGION");
  } else if (!env("AWS_DEFAULT_REGION").empty()) {
    s->s3.region = env("AWS_DEFAULT_REGION");
  }
  if (s3.IsDefined() && !s3.IsNull()) {
    MapReader m(s3, r->KeyPath("s3"), file);
    WF_RETURN_IF_ERROR(m.CheckIsMap());
    WF_RETURN_IF_ERROR(m.String("endpoint", &s->s3.endpoint));
    if (!s->s3.endpoint.empty() && s->s3.endpoint.rfind("http://", 0) != 0 &&
        s->s3.endpoint.rfind("https://", 0) != 0) {
      return ErrorAt(m.At("endpoint"), "expected an http:// or https:// URL");
    }
    WF_RETURN_IF_ERROR(m.String("region", &s->s3.region));
    WF_RETURN_IF_ERROR(m.String("access_key_id", &s->s3.access_key_id));
    WF_RETURN_IF_ERROR(m.String("secret_access_key", &s->s3.secret_access_key));
    WF_RETURN_IF_ERROR(m.String("session_token", &s->s3.session_token));
    WF_RETURN_IF_ERROR(m.Bool("path_style", &s->s3.path_style));
    WF_RETURN_IF_ERROR(m.Size("part_size", &s->s3.part_size));
    if (s->s3.part_size < (5u << 20)) return ErrorAt(m.At("part_size"), "must be at least 5MB");
    WF_RETURN_IF_ERROR(m.Duration("timeout", &s->s3.timeout));
    if (s->s3.timeout < std::chrono::milliseconds(1000)) {
      return ErrorAt(m.At("timeout"), "must be at least 1s");
    }
    uint64_t attempts = s->s3.max_attempts;
    WF_RETURN_IF_ERROR(m.Integer("max_attempts", 1, 100, &attempts));
    s->s3.max_attempts = static_cast<int>(attempts);
    WF_RETURN_IF_ERROR(m.Finish());
  }
  if (s->s3.access_key_id.empty() || s->s3.secret_access_key.empty()) {
    return ErrorAt(s->location,
                   "no S3 credentials: set s3.access_key_id and s3.secret_access_key, or the "
                   "environment variables AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
  }
  return Status::OK();
}

Status ParseSink(const YAML::Node& node, const std::string& file, size_t index, SinkConfig* s) {
  std::string path = "sinks[" + std::to_string(index) + "]";
  MapReader r(node, path, file);
  WF_RETURN_IF_ERROR(r.CheckIsMap());
  s->location = r.Here();
  WF_RETURN_IF_ERROR(r.String("name", &s->name, true));
  WF_RETURN_IF_ERROR(r.String("type", &s->type, true));
  if (s->type != "jsonl" && s->type != "kafka" && s->type != "parquet") {
    return ErrorAt(r.At("type"),
                   "unknown sink type '" + s->type + "' (available: jsonl, kafka, parquet)");
  }
  if (s->type == "kafka") {
    WF_RETURN_IF_ERROR(r.String("brokers", &s->brokers, true));
    WF_RETURN_IF_ERROR(r.String("topic_prefix", &s->topic_prefix));
    WF_RETURN_IF_ERROR(r.Bool("exactly_once", &s->exactly_once));
    WF_RETURN_IF_ERROR(r.String("transactional_id", &s->transactional_id));
    if (s->transactional_id.empty()) s->transactional_id = "walflow-" + s->name;
    WF_RETURN_IF_ERROR(r.Bool("tombstones", &s->tombstones));
    uint64_t partitions = 0, replication = 0;
    WF_RETURN_IF_ERROR(r.Integer("topic_partitions", 1, 100000, &partitions));
    WF_RETURN_IF_ERROR(r.Integer("topic_replication_factor", 1, 100, &replication));
    if (partitions > 0) s->topic_partitions = static_cast<int32_t>(partitions);
    if (replication > 0) s->topic_replication_factor = static_cast<int32_t>(replication);
    WF_RETURN_IF_ERROR(r.String("offsets_topic", &s->offsets_topic));
    WF_RETURN_IF_ERROR(r.Duration("timeout", &s->timeout));
    if (s->timeout < std::chrono::milliseconds(1000)) {
      return ErrorAt(r.At("timeout"), "must be at least 1s");
    }
    WF_RETURN_IF_ERROR(ParseKafkaProperties(&r, &s->properties));
  } else {
    WF_RETURN_IF_ERROR(r.String("path", &s->path, true));
  }
  if (s->type == "parquet") {
    s->max_file_size = 128ull << 20;
    WF_RETURN_IF_ERROR(ParseParquetSink(&r, file, s));
  } else {
    WF_RETURN_IF_ERROR(
        r.Enum<format::DecimalHandling>("decimal_handling",
                                        {{"precise", format::DecimalHandling::kPrecise},
                                         {"string", format::DecimalHandling::kString},
                                         {"double", format::DecimalHandling::kDouble}},
                                        &s->decimal_handling));
    WF_RETURN_IF_ERROR(r.Bool("schemas", &s->schemas));
    WF_RETURN_IF_ERROR(r.Bool("transaction_metadata", &s->transaction_metadata));
  }
  WF_RETURN_IF_ERROR(r.Size("max_file_size", &s->max_file_size));
  WF_RETURN_IF_ERROR(r.Duration("flush_interval", &s->flush_interval));
  if (s->flush_interval < std::chrono::milliseconds(10)) {
    return ErrorAt(r.At("flush_interval"), "must be at least 10ms");
  }
  return r.Finish();
}

}  // namespace

std::string ConfigLocation::ToString() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line) + ":" + std::to_string(column);
  if (!key.empty()) out += ": " + key;
  return out;
}

namespace {

// Splits "<number><unit>" ("64MB", "10s"); false without digits or past `limit`.
bool SplitNumberAndUnit(const std::string& text, uint64_t limit, uint64_t* n, std::string* unit) {
  size_t i = 0;
  *n = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    *n = *n * 10 + (text[i] - '0');
    if (*n > limit) return false;
    ++i;
  }
  if (i == 0) return false;
  *unit = text.substr(i);
  return true;
}

}  // namespace

bool ParseDuration(const std::string& text, std::chrono::milliseconds* out) {
  uint64_t n;
  std::string unit;
  if (!SplitNumberAndUnit(text, 1ull << 40, &n, &unit)) return false;
  uint64_t ms;
  if (unit == "ms")
    ms = n;
  else if (unit == "s" || unit.empty())
    ms = n * 1000;
  else if (unit == "m" || unit == "min")
    ms = n * 60000;
  else if (unit == "h")
    ms = n * 3600000;
  else
    return false;
  *out = std::chrono::milliseconds(ms);
  return true;
}

bool ParseByteSize(const std::string& text, uint64_t* out) {
  uint64_t n;
  std::string unit;
  if (!SplitNumberAndUnit(text, 1ull << 50, &n, &unit)) return false;
  while (!unit.empty() && unit[0] == ' ') unit.erase(0, 1);
  uint64_t mul;
  if (unit.empty() || unit == "B")
    mul = 1;
  else if (unit == "KB" || unit == "KiB" || unit == "kB")
    mul = 1ull << 10;
  else if (unit == "MB" || unit == "MiB")
    mul = 1ull << 20;
  else if (unit == "GB" || unit == "GiB")
    mul = 1ull << 30;
  else
    return false;
  if (n > std::numeric_limits<uint64_t>::max() / mul) return false;
  *out = n * mul;
  return true;
}

Result<PipelineConfig> ParseConfig(const std::string& text, const std::string& file) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(file + ":" + std::to_string(e.mark.line + 1) + ":" +
                           std::to_string(e.mark.column + 1) + ": not valid YAML: " + e.msg);
  }
  PipelineConfig cfg;
  cfg.file = file;
  try {
    if (!root.IsMap())
      return InvalidArgument(file + ": expected a mapping with 'source' and 'sinks'");
    MapReader top(root, "", file);
    YAML::Node source = top.Get("source");
    if (!source.IsDefined() || source.IsNull()) {
      return InvalidArgument(file + ": missing required key 'source'");
    }
    MapReader src(source, "source", file);
    WF_RETURN_IF_ERROR(src.CheckIsMap());
    YAML::Node pg = src.Get("postgres");
    YAML::Node kafka = src.Get("kafka");
    bool has_pg = pg.IsDefined() && !pg.IsNull();
    bool has_kafka = kafka.IsDefined() && !kafka.IsNull();
    if (has_pg == has_kafka) {
      return ErrorAt(src.Here(), has_pg ? "expected one source, 'postgres' or 'kafka', not both"
                                        : "missing required key 'postgres' or 'kafka'");
    }
    WF_RETURN_IF_ERROR(src.Finish());
    if (has_pg) {
      WF_RETURN_IF_ERROR(ParsePostgres(pg, file, &cfg.postgres));
    } else {
      cfg.source_type = SourceType::kKafka;
      WF_RETURN_IF_ERROR(ParseKafkaSource(kafka, file, &cfg.kafka));
    }

    YAML::Node sinks = top.Get("sinks");
    if (!sinks.IsDefined() || sinks.IsNull()) {
      return InvalidArgument(file + ": missing required key 'sinks'");
    }
    if (!sinks.IsSequence() || sinks.size() == 0) {
      return ErrorAt(LocationOf(sinks, file, "sinks"), "expected a non-empty list of sinks");
    }
    std::set<std::string> names, paths;
    for (size_t i = 0; i < sinks.size(); ++i) {
      SinkConfig s;
      WF_RETURN_IF_ERROR(ParseSink(sinks[i], file, i, &s));
      if (!names.insert(s.name).second) {
        return ErrorAt(s.location, "sink name '" + s.name + "' is used twice");
      }
      if (s.type == "kafka") {
        cfg.sinks.push_back(std::move(s));
        continue;
      }
      if (s.path.rfind("s3://", 0) == 0) {
        if (!paths.insert(s.path).second) {
          return ErrorAt(s.location, "two sinks write to the same path '" + s.path + "'");
        }
        cfg.sinks.push_back(std::move(s));
        continue;
      }
      std::error_code ec;
      std::string canonical =
          std::filesystem::weakly_canonical(std::filesystem::absolute(s.path), ec).string();
      if (!paths.insert(ec ? s.path : canonical).second) {
        return ErrorAt(s.location, "two sinks write to the same path '" + s.path + "'");
      }
      cfg.sinks.push_back(std::move(s));
    }
    WF_RETURN_IF_ERROR(top.String("data_dir", &cfg.data_dir));
    YAML::Node log = top.Get("log");
    if (log.IsDefined() && !log.IsNull()) {
      MapReader lr(log, "log", file);
      WF_RETURN_IF_ERROR(lr.CheckIsMap());
      std::string level;
      WF_RETURN_IF_ERROR(lr.Scalar("level", &level, false));
      if (!level.empty() && !ParseLogLevel(level, &cfg.log_level)) {
        return ErrorAt(lr.At("level"),
                       "expected one of debug, info, warn, error, got '" + level + "'");
      }
      WF_RETURN_IF_ERROR(lr.Duration("progress_interval", &cfg.progress_interval));
      WF_RETURN_IF_ERROR(lr.Finish());
    }
    uint64_t queue = cfg.queue_batches;
    WF_RETURN_IF_ERROR(top.Integer("queue_batches", 1, 4096, &queue));
    cfg.queue_batches = queue;
    WF_RETURN_IF_ERROR(top.Finish());
  } catch (const YAML::Exception& e) {
    return InvalidArgument(file + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  return cfg;
}

Result<PipelineConfig> LoadConfig(const std::string& path) {
  auto text = storage::ReadFile(path);
  if (!text.ok()) {
    return InvalidArgument("cannot read config " + path + ": " + text.status().message());
  }
  return ParseConfig(*text, path);
}

}  // namespace walflow::runtime
