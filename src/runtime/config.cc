#include "runtime/config.h"

#include <yaml-cpp/yaml.h>

#include <functional>
#include <map>
#include <set>

#include "kafka/properties_config.h"
#include "sql/parser.h"
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
  if (from.empty() && !cfg.views.empty()) {
    // Without from: a sink gets the tables of source.postgres.tables, as before views:
    // neither the views nor the tables captured only for them.
    for (const TableRef& t : cfg.postgres.tables) {
      if (!t.for_views) from.push_back(t.Qualified());
    }
    spec.from_locations.assign(from.size(), spec.location);
    return Status::OK();
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < from.size(); ++i) {
    const ViewConfig* view = FindView(cfg, from[i]);
    from[i] = view ? view->Qualified() : QualifiedName(from[i]);
    const ConfigLocation& at = spec.from_locations[i];
    if (!seen.insert(from[i]).second) return ConfigError(at, from[i] + " is listed twice");
    if (view || cfg.source_type != SourceType::kPostgres) continue;
    bool known = false;
    for (const TableRef& t : cfg.postgres.tables) known = known || t.Qualified() == from[i];
    if (!known) {
      std::string tables;
      for (const TableRef& t : cfg.postgres.tables) {
        tables += (tables.empty() ? "" : ", ") + t.Qualified();
      }
      std::string views;
      for (const ViewConfig& v : cfg.views) views += (views.empty() ? "" : ", ") + v.name;
      return ConfigError(at, "'" + from[i] +
                                 "' is not a table of the source (source.postgres."
                                 "tables: " +
                                 tables + ")" +
                                 (views.empty() ? "" : " nor a view (" + views + ")"));
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

Status ParseView(const YAML::Node& n, const std::string& file, size_t index, ViewConfig* v) {
  const std::string path = "views[" + std::to_string(index) + "]";
  ConfigReader r(n, path, file);
  WF_RETURN_IF_ERROR(r.CheckIsMap());
  v->location = r.Here();
  std::string name;
  WF_RETURN_IF_ERROR(r.String("name", &name, true));
  auto dot = name.find('.');
  if (dot != std::string::npos) {
    v->schema = name.substr(0, dot);
    v->name = name.substr(dot + 1);
  } else {
    v->name = name;
  }
  if (v->schema.empty() || v->name.empty() || v->name.find('.') != std::string::npos ||
      v->name.find('/') != std::string::npos || v->schema.find('/') != std::string::npos) {
    return ConfigError(r.At("name"),
                       "expected a view name such as by_country or "
                       "analytics.by_country, got '" +
                           name + "'");
  }
  WF_RETURN_IF_ERROR(r.String("sql", &v->sql, true));
  std::vector<ConfigLocation> key_at;
  bool has_key = false;
  WF_RETURN_IF_ERROR(r.StringList("key", &v->key, &key_at, &has_key));
  WF_RETURN_IF_ERROR(r.Enum<ViewErrorPolicy>(
      "on_error", {{"stop", ViewErrorPolicy::kStop}, {"dead_letter", ViewErrorPolicy::kDeadLetter}},
      &v->on_error));
  WF_RETURN_IF_ERROR(r.String("dead_letter_path", &v->dead_letter_path));
  if (!v->dead_letter_path.empty() && v->on_error != ViewErrorPolicy::kDeadLetter) {
    return ConfigError(r.At("dead_letter_path"), "applies only with on_error: dead_letter");
  }
  WF_RETURN_IF_ERROR(r.Finish());
  auto parsed = sql::Parse(v->sql);
  if (!parsed.ok()) {
    return ConfigError(r.At("sql"), "view " + v->Qualified() + ": " + parsed.status().message());
  }
  v->statement = std::make_shared<const sql::SelectStatement>(std::move(parsed).value());
  return Status::OK();
}

// Reads `views:`, resolves each FROM item to a view or a table, orders the views so that
// each follows the views it reads, and adds the tables they read to the source.
Status ParseViews(const YAML::Node& node, const std::string& file, PipelineConfig* cfg) {
  if (!node.IsDefined() || node.IsNull()) return Status::OK();
  if (!node.IsSequence()) {
    return ConfigError(LocationOf(node, file, "views"), "expected a list of views");
  }
  std::vector<ViewConfig> views;
  std::set<std::string> names;
  for (size_t i = 0; i < node.size(); ++i) {
    ViewConfig v;
    WF_RETURN_IF_ERROR(ParseView(node[i], file, i, &v));
    if (!names.insert(v.Qualified()).second) {
      return ConfigError(v.location, "view " + v.Qualified() + " is defined twice");
    }
    views.push_back(std::move(v));
  }
  auto find = [&](const sql::TableRef& from) -> int {
    for (size_t i = 0; i < views.size(); ++i) {
      const ViewConfig& v = views[i];
      if (from.schema.empty() ? v.name == from.name
                              : (v.schema == from.schema && v.name == from.name)) {
        return static_cast<int>(i);
      }
    }
    return -1;
  };
  std::vector<int> reads(views.size(), -1);
  for (size_t i = 0; i < views.size(); ++i) {
    ViewConfig& v = views[i];
    const sql::TableRef& from = v.statement->from;
    reads[i] = find(from);
    v.input_is_view = reads[i] >= 0;
    v.input = reads[i] >= 0 ? views[reads[i]].Qualified()
                            : (from.schema.empty() ? "public" : from.schema) + "." + from.name;
    if (cfg->source_type != SourceType::kPostgres) {
      return ConfigError(v.location,
                         "view " + v.Qualified() +
                             ": views read the PostgreSQL source; over the Kafka source a "
                             "consumer group member sees only its partitions");
    }
  }
  // Dependency order (depth-first), refusing cycles.
  std::vector<int> state(views.size(), 0);  // 0 new, 1 visiting, 2 done
  std::vector<int> order;
  std::function<Status(int, std::string)> visit = [&](int i, std::string path) -> Status {
    if (state[i] == 2) return Status::OK();
    path += (path.empty() ? "" : " -> ") + views[i].Qualified();
    if (state[i] == 1) {
      return ConfigError(views[i].location, "views read each other in a cycle: " + path);
    }
    state[i] = 1;
    if (reads[i] >= 0) WF_RETURN_IF_ERROR(visit(reads[i], path));
    state[i] = 2;
    order.push_back(i);
    return Status::OK();
  };
  for (size_t i = 0; i < views.size(); ++i) WF_RETURN_IF_ERROR(visit(static_cast<int>(i), ""));
  for (int i : order) {
    ViewConfig& v = views[i];
    if (!v.input_is_view) {
      bool listed = false;
      for (const TableRef& t : cfg->postgres.tables) listed = listed || t.Qualified() == v.input;
      if (!listed) {
        TableRef t;
        auto dot = v.input.find('.');
        t.schema = v.input.substr(0, dot);
        t.name = v.input.substr(dot + 1);
        t.location = v.location;
        t.for_views = true;
        cfg->postgres.tables.push_back(std::move(t));
      }
    }
    cfg->views.push_back(std::move(v));
  }
  return Status::OK();
}

}  // namespace

const ViewConfig* FindView(const PipelineConfig& config, const std::string& name) {
  for (const ViewConfig& v : config.views) {
    if (v.Qualified() == name || (name.find('.') == std::string::npos && v.name == name)) {
      return &v;
    }
  }
  return nullptr;
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

    WF_RETURN_IF_ERROR(ParseViews(top.Get("views"), file, &cfg));

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
