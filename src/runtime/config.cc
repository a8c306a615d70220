#include "runtime/config.h"

#include <yaml-cpp/yaml.h>

#include <map>
#include <set>

#include "kafka/properties_config.h"
#include "storage/file_io.h"

namespace walflow::runtime {
namespace {

bool ValidIdentifierPart(const std::string& s) { return !s.empty(); }

// "orders" → "public.orders".
std::string QualifiedName(const std::string& name) {
  return name.find('.') == std::string::npos ? "public." + name : name;
}

// A sink's from: names tables of the source (a Kafka source's tables are known only from
// its records, so any name is taken). Names are stored qualified.
Status ResolveFrom(const PipelineConfig& cfg, sink::SinkSpec& spec) {
  std::vector<std::string>& from = spec.from;
  std::set<std::string> seen;
  for (size_t i = 0; i < from.size(); ++i) {
    from[i] = QualifiedName(from[i]);
    const ConfigLocation& at = spec.from_locations[i];
    if (!seen.insert(from[i]).second) return ConfigError(at, from[i] + " is listed twice");
    if (cfg.source_type != SourceType::kPostgres) continue;
    bool known = false;
    for (const TableRef& t : cfg.postgres.tables) known = known || t.Qualified() == from[i];
    if (!known) {
      std::string tables;
      for (const TableRef& t : cfg.postgres.tables) {
        tables += (tables.empty() ? "" : ", ") + t.Qualified();
      }
      return ConfigError(at, "'" + from[i] +
                                 "' is not a table of the source (source.postgres."
                                 "tables: " +
                                 tables + ")");
    }
  }
  return Status::OK();
}

Status ParseTable(const YAML::Node& n, const std::string& file, const std::string& key,
                  TableRef* out) {
  out->location = LocationOf(n, file, key);
  if (!n.IsScalar())
    return ConfigError(out->location, "expected a table name such as public.orders");
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
    return ConfigError(out->location,
                       "expected a table name such as public.orders, got '" + v + "'");
  }
  return Status::OK();
}

Status ParsePostgres(const YAML::Node& node, const std::string& file, PostgresSourceConfig* pg) {
  ConfigReader r(node, "source.postgres", file);
  WF_RETURN_IF_ERROR(r.CheckIsMap());
  pg->location = r.Here();
  WF_RETURN_IF_ERROR(r.SecretString("dsn", &pg->dsn, true));
  WF_RETURN_IF_ERROR(r.String("slot", &pg->slot));
  WF_RETURN_IF_ERROR(r.String("publication", &pg->publication));
  YAML::Node tables = r.Get("tables");
  if (!tables.IsDefined() || tables.IsNull()) {
    return ConfigError(r.Here(), "missing required key 'tables' (a list such as [public.orders])");
  }
  if (!tables.IsSequence() || tables.size() == 0) {
    return ConfigError(r.At("tables"),
                       "expected a non-empty list of tables such as [public.orders]");
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < tables.size(); ++i) {
    TableRef t;
    WF_RETURN_IF_ERROR(
        ParseTable(tables[i], file, "source.postgres.tables[" + std::to_string(i) + "]", &t));
    if (!seen.insert(t.Qualified()).second) {
      return ConfigError(t.location, "table " + t.Qualified() + " is listed twice");
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
    return ConfigError(r.At("status_interval"), "must be greater than zero");
  }
  WF_RETURN_IF_ERROR(r.String("unavailable_value_placeholder", &pg->unavailable_value_placeholder));
  WF_RETURN_IF_ERROR(r.Size("spool_memory_limit", &pg->spool_memory_limit));
  WF_RETURN_IF_ERROR(r.Bool("create_slot", &pg->create_slot));
  WF_RETURN_IF_ERROR(r.Bool("create_publication", &pg->create_publication));
  WF_RETURN_IF_ERROR(r.String("capture_file", &pg->capture_file));
  return r.Finish();
}

Status ParseKafkaSource(const YAML::Node& node, const std::string& file, KafkaSourceConfig* k) {
  ConfigReader r(node, "source.kafka", file);
  WF_RETURN_IF_ERROR(r.CheckIsMap());
  k->location = r.Here();
  WF_RETURN_IF_ERROR(r.String("brokers", &k->brokers, true));
  WF_RETURN_IF_ERROR(r.String("group_id", &k->group_id));
  WF_RETURN_IF_ERROR(r.String("name", &k->server_name));
  YAML::Node topics = r.Get("topics");
  if (!topics.IsDefined() || topics.IsNull()) {
    return ConfigError(r.Here(),
                       "missing required key 'topics' (a list such as [dbserver1.public.orders])");
  }
  if (!topics.IsSequence() || topics.size() == 0) {
    return ConfigError(r.At("topics"),
                       "expected a non-empty list of topic names or patterns starting with '^'");
  }
  for (size_t i = 0; i < topics.size(); ++i) {
    if (!topics[i].IsScalar() || topics[i].Scalar().empty()) {
      return ConfigError(
          LocationOf(topics[i], file, "source.kafka.topics[" + std::to_string(i) + "]"),
          "expected a topic name or a pattern starting with '^'");
    }
    k->topics.push_back(topics[i].Scalar());
  }
  WF_RETURN_IF_ERROR(kafka::ReadProperties(r, &k->properties));
  YAML::Node dl = r.Get("dead_letter");
  if (dl.IsDefined() && !dl.IsNull()) {
    ConfigReader d(dl, "source.kafka.dead_letter", file);
    WF_RETURN_IF_ERROR(d.CheckIsMap());
    WF_RETURN_IF_ERROR(d.String("topic", &k->dead_letter_topic));
    WF_RETURN_IF_ERROR(d.String("path", &k->dead_letter_path));
    if (k->dead_letter_topic.empty() && k->dead_letter_path.empty()) {
      return ConfigError(d.Here(), "expected 'topic', 'path' or both");
    }
    WF_RETURN_IF_ERROR(d.Finish());
  }
  return r.Finish();
}

}  // namespace

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
    ConfigReader top(root, "", file);
    YAML::Node source = top.Get("source");
    if (!source.IsDefined() || source.IsNull()) {
      return InvalidArgument(file + ": missing required key 'source'");
    }
    ConfigReader src(source, "source", file);
    WF_RETURN_IF_ERROR(src.CheckIsMap());
    YAML::Node pg = src.Get("postgres");
    YAML::Node kafka = src.Get("kafka");
    bool has_pg = pg.IsDefined() && !pg.IsNull();
    bool has_kafka = kafka.IsDefined() && !kafka.IsNull();
    if (has_pg == has_kafka) {
      return ConfigError(src.Here(), has_pg ? "expected one source, 'postgres' or 'kafka', not both"
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
      return ConfigError(LocationOf(sinks, file, "sinks"), "expected a non-empty list of sinks");
    }
    std::set<std::string> names;
    std::map<std::string, std::string> destinations;  // destination → sink name
    for (size_t i = 0; i < sinks.size(); ++i) {
      WF_ASSIGN_OR_RETURN(auto spec, sink::ParseSinkSpec(sinks[i], file, i));
      if (!names.insert(spec->name).second) {
        return ConfigError(spec->location, "sink name '" + spec->name + "' is used twice");
      }
      const std::string dest = spec->Destination();
      if (!dest.empty()) {
        auto [it, added] = destinations.emplace(dest, spec->name);
        if (!added) {
          return ConfigError(spec->location, "sinks '" + it->second + "' and '" + spec->name +
                                                 "' write to the same destination (" + dest + ")");
        }
      }
      WF_RETURN_IF_ERROR(ResolveFrom(cfg, *spec));
      cfg.sinks.push_back(std::move(spec));
    }
    WF_RETURN_IF_ERROR(top.String("data_dir", &cfg.data_dir));
    YAML::Node log = top.Get("log");
    if (log.IsDefined() && !log.IsNull()) {
      ConfigReader lr(log, "log", file);
      WF_RETURN_IF_ERROR(lr.CheckIsMap());
      std::string level;
      WF_RETURN_IF_ERROR(lr.Scalar("level", &level, false));
      if (!level.empty() && !ParseLogLevel(level, &cfg.log_level)) {
        return ConfigError(lr.At("level"),
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
