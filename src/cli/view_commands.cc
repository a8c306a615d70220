#include "cli/view_commands.h"

#include <cstdio>

#include "core/log.h"
#include "format/debezium_json.h"
#include "pg/connection.h"
#include "view/compile.h"
#include "view/view_operator.h"

namespace walflow::cli {

namespace {

std::string ViewStateDir(const runtime::PipelineConfig& config) {
  return config.data_dir + "/views";
}

Result<std::vector<std::shared_ptr<const view::CompiledView>>> Compile(
    const runtime::PipelineConfig& config) {
  WF_ASSIGN_OR_RETURN(auto conn, pg::Connection::Open(config.postgres.dsn.Reveal(),
                                                      pg::Connection::Kind::kSql, "walflow"));
  return view::CompileViews(config, view::CatalogDescriber(conn.get()));
}

}  // namespace

runtime::OperatorFactory ViewOperators(const runtime::PipelineConfig& config,
                                       MetricsRegistry* metrics) {
  if (config.views.empty()) return nullptr;
  return [&config, metrics]() -> Result<std::vector<std::unique_ptr<runtime::Operator>>> {
    WF_ASSIGN_OR_RETURN(auto views, Compile(config));
    std::vector<std::unique_ptr<runtime::Operator>> ops;
    for (auto& v : views) {
      view::ViewOperatorOptions o;
      o.state_dir = ViewStateDir(config);
      o.dead_letter_dir = config.data_dir + "/dead-letters";
      o.metrics = metrics;
      ops.push_back(std::make_unique<view::ViewOperator>(v, std::move(o)));
    }
    return ops;
  };
}

bool CheckViews(const runtime::PipelineConfig& config, pg::Connection* conn) {
  if (config.views.empty()) return true;
  // One view at a time, so that each gets its own line.
  bool ok = true;
  for (size_t i = 0; i < config.views.size(); ++i) {
    runtime::PipelineConfig upto = config;
    upto.views.resize(i + 1);
    auto compiled = view::CompileViews(upto, view::CatalogDescriber(conn));
    if (!compiled.ok()) {
      std::printf("FAIL %s\n", compiled.status().message().c_str());
      ok = false;
      break;  // the views after it may read it
    }
    const view::CompiledView& v = *compiled->back();
    std::string cols;
    for (const auto& c : v.plan.columns) {
      cols += (cols.empty() ? "" : ", ") + c.name + " " + sql::SqlTypeName(c.type);
    }
    std::printf("ok   view %s over %s (%s): %s\n", v.config.Qualified().c_str(),
                v.config.input.c_str(), v.plan.grouped ? "grouped" : "filter/projection",
                cols.c_str());
  }
  return ok;
}

int PeekCommand(const std::string& config_path, const std::string& name, bool json) {
  auto config = runtime::LoadConfig(config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "walflow: %s\n", config.status().message().c_str());
    return 2;
  }
  const runtime::ViewConfig* wanted = runtime::FindView(*config, name);
  if (!wanted) {
    std::fprintf(stderr, "walflow: %s has no view %s\n", config_path.c_str(), name.c_str());
    return 2;
  }
  SetLogLevel(LogLevel::kError);
  auto views = Compile(*config);
  if (!views.ok()) {
    std::fprintf(stderr, "walflow: %s\n", views.status().message().c_str());
    return 1;
  }
  std::shared_ptr<const view::CompiledView> v;
  for (const auto& c : *views) {
    if (c->config.Qualified() == wanted->Qualified()) v = c;
  }
  auto op = view::OpenForPeek(v, ViewStateDir(*config));
  if (!op.ok()) {
    std::fprintf(stderr,
                 "walflow: view %s: %s (is the pipeline running? peek reads the state "
                 "of a stopped pipeline)\n",
                 name.c_str(), op.status().message().c_str());
    return 1;
  }
  const auto& columns = v->plan.columns;
  std::vector<std::vector<std::string>> table;
  format::DebeziumOptions dopts;
  dopts.decimal_handling = format::DecimalHandling::kString;
  format::DebeziumJsonEncoder encoder(dopts);
  Status s = (*op)->ForEachRow([&](const std::vector<sql::Value>& row) -> Status {
    if (json) {
      std::string line = "{";
      for (size_t i = 0; i < row.size(); ++i) {
        if (i) line += ",";
        line += "\"" + columns[i].name + "\":";
        if (row[i].is_null()) {
          line += "null";
        } else if (!encoder.AppendJsonValue(v->output_schema->columns[i].type, row[i].ToString(),
                                            &line)) {
          return Internal("cannot render column " + columns[i].name);
        }
      }
      std::printf("%s}\n", line.c_str());
      return Status::OK();
    }
    std::vector<std::string> cells;
    for (const sql::Value& x : row) cells.push_back(x.is_null() ? "" : x.ToString());
    table.push_back(std::move(cells));
    return Status::OK();
  });
  if (!s.ok()) {
    std::fprintf(stderr, "walflow: view %s: %s\n", name.c_str(), s.message().c_str());
    return 1;
  }
  if (!json) {
    std::vector<size_t> width;
    for (const auto& c : columns) width.push_back(c.name.size());
    for (const auto& r : table) {
      for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
    }
    auto print = [&](const std::vector<std::string>& cells) {
      std::string line;
      for (size_t i = 0; i < cells.size(); ++i) {
        line += (i ? " | " : " ") + cells[i] + std::string(width[i] - cells[i].size(), ' ');
      }
      std::printf("%s\n", line.c_str());
    };
    std::vector<std::string> header;
    for (const auto& c : columns) header.push_back(c.name);
    print(header);
    std::string rule;
    for (size_t i = 0; i < width.size(); ++i)
      rule += (i ? "-+-" : "-") + std::string(width[i], '-');
    std::printf("%s\n", rule.c_str());
    for (const auto& r : table) print(r);
    std::printf("(%zu row%s)\n", table.size(), table.size() == 1 ? "" : "s");
  }
  return 0;
}

}  // namespace walflow::cli
