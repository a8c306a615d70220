#include "lake_test_util.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <tuple>

namespace walflow::test {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kCommitDir = "_walflow/commits/";

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string FileName(const std::string& key) {
  auto slash = key.find_last_of('/');
  return slash == std::string::npos ? key : key.substr(slash + 1);
}

// (commit, number within the commit) of a data file's name.
std::pair<uint64_t, uint64_t> WriteOrder(const std::string& key) {
  const std::string name = FileName(key);
  return {LakeFileCommit(key), std::strtoull(name.substr(13, 4).c_str(), nullptr, 10)};
}

void SortInWriteOrder(std::vector<std::string>* keys) {
  std::sort(keys->begin(), keys->end(), [](const std::string& a, const std::string& b) {
    return std::make_tuple(WriteOrder(a), a) < std::make_tuple(WriteOrder(b), b);
  });
}

std::string DuckDbIdent(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  return out + "\"";
}

std::string PgQualified(const std::string& qualified) {
  auto dot = qualified.find('.');
  return DuckDbIdent(qualified.substr(0, dot)) + "." + DuckDbIdent(qualified.substr(dot + 1));
}

std::string PgLiteral(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out.push_back('\'');
    out.push_back(c);
  }
  return out + "'";
}

std::string DuckDbExpr(const LakeColumn& c) {
  return c.duckdb.empty() ? "CAST(" + DuckDbIdent(c.name) + " AS VARCHAR)" : c.duckdb;
}

std::string PgExpr(const LakeColumn& c) {
  return c.pg.empty() ? DuckDbIdent(c.name) + "::text" : c.pg;
}

template <typename T>
std::string ShortestText(T v) {
  if (std::isnan(v)) return "NaN";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::optional<std::string> Normalize(const std::optional<std::string>& text, LakeNormalize how) {
  if (!text) return text;
  switch (how) {
    case LakeNormalize::kNone: return text;
    case LakeNormalize::kFloat4:
    case LakeNormalize::kFloat8: {
      // strtod reads "NaN", "nan", "Infinity", "inf", "-0", "-0.0" alike.
      char* end = nullptr;
      const double d = std::strtod(text->c_str(), &end);
      if (end == text->c_str() || *end != '\0') return "<not a number: " + *text + ">";
      if (how == LakeNormalize::kFloat8) return ShortestText(d);
      const float f = std::strtof(text->c_str(), &end);
      return ShortestText(f);
    }
    case LakeNormalize::kJson: {
      Json j = Json::parse(*text, nullptr, false);
      if (j.is_discarded()) return "<not JSON: " + *text + ">";
      return j.dump();
    }
  }
  return text;
}

std::string KeyOf(const OracleRow& row, const std::vector<std::string>& key_columns) {
  std::string key;
  for (const auto& k : key_columns) {
    if (!key.empty()) key += '|';
    auto it = row.find(k);
    key += it == row.end() ? "<no column " + k + ">" : it->second.value_or("NULL");
  }
  return key;
}

int64_t ToInt(const std::optional<std::string>& text, const char* what) {
  if (!text) {
    ADD_FAILURE() << what << " is NULL";
    return 0;
  }
  return std::strtoll(text->c_str(), nullptr, 10);
}

}  // namespace

uint64_t LakeFileCommit(const std::string& key) {
  const std::string name = FileName(key);
  if (name.size() != 12 + 1 + 4 + 8 || name[12] != '-' || !EndsWith(name, ".parquet") ||
      !AllDigits(name.substr(0, 12)) || !AllDigits(name.substr(13, 4))) {
    return 0;
  }
  return std::strtoull(name.substr(0, 12).c_str(), nullptr, 10);
}

LakeListing ListLake(const fs::path& root) {
  LakeListing out;
  std::vector<std::string> data;
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return out;
  for (auto it = fs::recursive_directory_iterator(root, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (!it->is_regular_file(ec)) continue;
    const std::string key = fs::relative(it->path(), root, ec).generic_string();
    const std::string name = it->path().filename().string();
    if (key == ".walflow-lock") continue;
    if (key.rfind(kCommitDir, 0) == 0 && name.size() == 12 + 5 && EndsWith(name, ".json") &&
        AllDigits(name.substr(0, 12))) {
      out.commit_records.push_back(std::strtoull(name.substr(0, 12).c_str(), nullptr, 10));
    } else if (name[0] == '.' || EndsWith(name, ".tmp") || EndsWith(name, ".inprogress")) {
      out.temporary.push_back(key);
    } else if (LakeFileCommit(key) > 0) {
      data.push_back(key);
    } else {
      out.other.push_back(key);
    }
  }
  std::sort(out.commit_records.begin(), out.commit_records.end());
  if (!out.commit_records.empty()) out.newest_commit = out.commit_records.back();
  SortInWriteOrder(&data);
  for (auto& key : data) {
    (LakeFileCommit(key) <= out.newest_commit ? out.committed : out.uncommitted)
        .push_back(std::move(key));
  }
  std::sort(out.temporary.begin(), out.temporary.end());
  std::sort(out.other.begin(), out.other.end());
  return out;
}

Json ReadCommitRecord(const fs::path& root, uint64_t commit) {
  char name[32];
  std::snprintf(name, sizeof name, "%012llu.json", static_cast<unsigned long long>(commit));
  const std::string text = ReadWholeFile(root / "_walflow" / "commits" / name);
  Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded()) {
    ADD_FAILURE() << "commit record " << name << " is not JSON: " << text.substr(0, 300);
    return Json::object();
  }
  return j;
}

std::vector<std::string> LakeFilesOf(const LakeListing& listing, const std::string& qualified) {
  std::vector<std::string> out;
  for (const auto& key : listing.committed) {
    if (key.rfind(qualified + "/", 0) == 0) out.push_back(key);
  }
  return out;
}

std::vector<std::string> LakePaths(const fs::path& root, const std::vector<std::string>& keys) {
  std::vector<std::string> out;
  for (const auto& k : keys) out.push_back((root / k).string());
  return out;
}

std::vector<LakeColumn> DefaultLakeColumns(PgServer& pg, const std::string& db,
                                           const std::string& qualified) {
  PgRows cols = pg.Query(
      "SELECT attname FROM pg_attribute WHERE attrelid = " + PgLiteral(PgQualified(qualified)) +
          "::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
      db);
  std::vector<LakeColumn> out;
  for (const auto& c : cols) out.push_back({*c[0]});
  return out;
}

LakeTable ReadLakeTable(const fs::path& root, const LakeListing& listing,
                        const std::string& qualified, const std::vector<LakeColumn>& columns) {
  LakeTable table;
  table.qualified = qualified;
  table.files = LakeFilesOf(listing, qualified);
  if (table.files.empty()) return table;
  std::string select;
  for (const auto& c : columns) select += DuckDbExpr(c) + ", ";
  const std::string sql =
      "SELECT " + select +
      "_op, _lsn, _seq, _txid, epoch_us(_commit_ts), CAST(_unchanged AS VARCHAR), filename, "
      "file_row_number FROM read_parquet(" +
      DuckDbParquetList(LakePaths(root, table.files)) +
      ", union_by_name = true, filename = true, file_row_number = true, "
      "hive_partitioning = false)";
  QueryResult result = DuckDbQuery(sql);
  const size_t n = columns.size();
  const std::string prefix = root.string() + "/";
  for (const auto& r : result.rows) {
    LakeRow row;
    for (size_t i = 0; i < n; ++i)
      row.values[columns[i].name] = Normalize(r[i], columns[i].normalize);
    row.op = r[n].value_or("<NULL>");
    row.lsn = static_cast<uint64_t>(ToInt(r[n + 1], "_lsn"));
    row.seq = ToInt(r[n + 2], "_seq");
    row.txid = ToInt(r[n + 3], "_txid");
    row.commit_ts_us = ToInt(r[n + 4], "_commit_ts");
    if (r[n + 5]) {
      Json u = Json::parse(*r[n + 5], nullptr, false);
      if (!u.is_array()) {
        ADD_FAILURE() << qualified << ": _unchanged is not a JSON array: " << *r[n + 5];
      } else {
        for (const auto& c : u)
          row.unchanged.push_back(c.is_string() ? c.get<std::string>() : c.dump());
      }
    }
    row.file = r[n + 6].value_or("");
    if (row.file.rfind(prefix, 0) == 0) row.file = row.file.substr(prefix.size());
    row.file_row = ToInt(r[n + 7], "file_row_number");
    table.rows.push_back(std::move(row));
  }
  std::map<std::string, size_t> file_index;
  for (size_t i = 0; i < table.files.size(); ++i) file_index[table.files[i]] = i;
  std::stable_sort(table.rows.begin(), table.rows.end(), [&](const LakeRow& a, const LakeRow& b) {
    return std::make_tuple(a.lsn, a.seq, file_index[a.file], a.file_row) <
           std::make_tuple(b.lsn, b.seq, file_index[b.file], b.file_row);
  });
  return table;
}

LakeReplay ReplayLake(const LakeTable& table, const std::vector<std::string>& key_columns) {
  LakeReplay out;
  size_t index = 0;
  for (const LakeRow& row : table.rows) {
    ++index;
    auto where = [&](const std::string& what) {
      return table.qualified + " row " + std::to_string(index) + " (" + row.op + " at lsn " +
             std::to_string(row.lsn) + " seq " + std::to_string(row.seq) + ", " + row.file + "#" +
             std::to_string(row.file_row) + "): " + what;
    };
    if (row.op == "t") {
      out.rows.clear();
      continue;
    }
    const std::string key = KeyOf(row.values, key_columns);
    auto it = out.rows.find(key);
    const bool present = it != out.rows.end();
    if (row.op == "d") {
      if (!present) {
        out.anomalies.push_back(where("delete of key " + key + " not present"));
      } else {
        out.rows.erase(it);
      }
      continue;
    }
    if (row.op != "c" && row.op != "u" && row.op != "r") {
      out.anomalies.push_back(where("unknown _op"));
      continue;
    }
    if ((row.op == "c" || row.op == "r") && present) {
      out.anomalies.push_back(where(row.op + " of key " + key + " already present"));
    }
    if (row.op == "u" && !present) {
      out.anomalies.push_back(where("update of key " + key + " not present"));
    }
    OracleRow next = row.values;
    for (const auto& col : row.unchanged) {
      if (next.count(col) && next[col].has_value()) {
        out.anomalies.push_back(where("column " + col + " in _unchanged is not NULL"));
      }
      if (!present || !it->second.count(col)) {
        out.anomalies.push_back(where("column " + col + " unchanged without a previous value"));
        continue;
      }
      next[col] = it->second.at(col);
    }
    out.rows[key] = std::move(next);
  }
  return out;
}

OracleTable ReadPgTable(PgServer& pg, const std::string& db, const std::string& qualified,
                        const std::vector<std::string>& key_columns,
                        const std::vector<LakeColumn>& columns) {
  std::string select;
  for (const auto& c : columns) select += (select.empty() ? "" : ", ") + PgExpr(c);
  PgRows rows = pg.Query("SELECT " + select + " FROM " + PgQualified(qualified), db);
  OracleTable out;
  for (const auto& r : rows) {
    OracleRow row;
    for (size_t i = 0; i < columns.size(); ++i) {
      row[columns[i].name] = Normalize(r[i], columns[i].normalize);
    }
    out[KeyOf(row, key_columns)] = std::move(row);
  }
  return out;
}

::testing::AssertionResult LakeMatchesTable(PgServer& pg, const std::string& db,
                                            const fs::path& root, const std::string& qualified,
                                            const std::vector<std::string>& key_columns,
                                            std::vector<LakeColumn> columns, LakeTable* out) {
  if (columns.empty()) columns = DefaultLakeColumns(pg, db, qualified);
  LakeTable table;
  try {
    table = ReadLakeTable(root, ListLake(root), qualified, columns);
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure()
           << qualified << ": DuckDB cannot read the files: " << e.what();
  }
  LakeReplay replay = ReplayLake(table, key_columns);
  if (out) *out = table;
  if (!replay.anomalies.empty()) {
    auto failure = ::testing::AssertionFailure();
    failure << replay.anomalies.size() << " anomalies replaying " << qualified << ":";
    for (size_t i = 0; i < replay.anomalies.size() && i < 10; ++i) {
      failure << "\n  " << replay.anomalies[i];
    }
    return failure;
  }
  return OracleTablesMatch(qualified, ReadPgTable(pg, db, qualified, key_columns, columns),
                           replay.rows, "the Parquet rows");
}

::testing::AssertionResult NoDuplicatePositions(const std::vector<LakeTable>& tables) {
  std::map<std::pair<uint64_t, int64_t>, std::string> seen;
  std::vector<std::string> dups;
  size_t rows = 0;
  for (const LakeTable& t : tables) {
    std::set<std::pair<uint64_t, int64_t>> truncates;
    for (const LakeRow& r : t.rows) {
      ++rows;
      const auto pos = std::make_pair(r.lsn, r.seq);
      const std::string here =
          t.qualified + " " + r.op + " in " + r.file + "#" + std::to_string(r.file_row);
      if (r.op == "t") {
        if (!truncates.insert(pos).second) dups.push_back("truncate twice: " + here);
        continue;
      }
      auto [it, inserted] = seen.emplace(pos, here);
      if (!inserted) {
        dups.push_back("lsn " + std::to_string(r.lsn) + " seq " + std::to_string(r.seq) + ": " +
                       it->second + " and " + here);
      }
    }
  }
  if (dups.empty()) return ::testing::AssertionSuccess();
  auto failure = ::testing::AssertionFailure();
  failure << dups.size() << " of " << rows << " rows share (_lsn, _seq) with another:";
  for (size_t i = 0; i < dups.size() && i < 10; ++i) failure << "\n  " << dups[i];
  return failure;
}

std::vector<Json> LakeEvents(const LakeTable& table) {
  const auto dot = table.qualified.find('.');
  std::vector<Json> events;
  for (const LakeRow& r : table.rows) {
    Json row = Json::object();
    for (const auto& [col, value] : r.values) row[col] = value ? Json(*value) : Json(nullptr);
    Json e;
    e["op"] = r.op;
    e["before"] = r.op == "d" ? row : Json(nullptr);
    e["after"] = r.op == "c" || r.op == "u" || r.op == "r" ? row : Json(nullptr);
    e["source"] = {{"schema", table.qualified.substr(0, dot)},
                   {"table", table.qualified.substr(dot + 1)},
                   {"sequence", "[" + std::to_string(r.lsn) + "," + std::to_string(r.seq) + "]"},
                   {"file", r.file}};
    events.push_back(std::move(e));
  }
  return events;
}

::testing::AssertionResult CommitRecordsConsistent(const fs::path& root,
                                                   const LakeListing& listing) {
  std::vector<std::string> problems;
  std::set<std::string> committed(listing.committed.begin(), listing.committed.end());
  std::map<std::string, uint64_t> rows_in_records;  // key -> rows the record says
  std::set<uint64_t> with_record(listing.commit_records.begin(), listing.commit_records.end());
  uint64_t last_position = 0;
  for (uint64_t commit : listing.commit_records) {
    const Json record = ReadCommitRecord(root, commit);
    const std::string name = "commit record " + std::to_string(commit);
    if (record.value("commit", uint64_t{0}) != commit) {
      problems.push_back(name + " says commit " + record.value("commit", Json()).dump());
    }
    if (!record.contains("position") || !record["position"].is_string()) {
      problems.push_back(name + " has no position: " + record.dump());
      continue;
    }
    const uint64_t position = ParsePgLsn(record["position"].get<std::string>());
    if (position < last_position) problems.push_back(name + ": the position went back");
    last_position = position;
    for (const auto& f : record.value("files", Json::array())) {
      const std::string key = f.value("key", "");
      if (LakeFileCommit(key) != commit) problems.push_back(name + " names " + key);
      if (!committed.count(key)) problems.push_back(name + " names " + key + ", not there");
      rows_in_records[key] = f.value("rows", uint64_t{0});
      std::error_code ec;
      const auto size = fs::file_size(root / key, ec);
      if (!ec && size != f.value("bytes", uint64_t{0})) {
        problems.push_back(name + ": " + key + " has " + std::to_string(size) +
                           " bytes, the record says " + f.value("bytes", Json()).dump());
      }
    }
  }
  std::vector<std::string> counted;
  for (const auto& key : listing.committed) {
    if (!with_record.count(LakeFileCommit(key))) continue;
    if (!rows_in_records.count(key)) {
      problems.push_back(key + " is not named by the commit record of its commit");
    } else {
      counted.push_back(key);
    }
  }
  if (!counted.empty()) {
    // Row counts from the footers, as DuckDB reads them.
    QueryResult r = DuckDbQuery(
        "SELECT file_name, sum(row_group_num_rows) FROM (SELECT DISTINCT file_name, row_group_id, "
        "row_group_num_rows FROM parquet_metadata(" +
        DuckDbParquetList(LakePaths(root, counted)) + ")) GROUP BY file_name");
    const std::string prefix = root.string() + "/";
    std::map<std::string, uint64_t> actual;
    for (const auto& row : r.rows) {
      std::string key = row[0].value_or("");
      if (key.rfind(prefix, 0) == 0) key = key.substr(prefix.size());
      actual[key] = std::strtoull(row[1].value_or("0").c_str(), nullptr, 10);
    }
    for (const auto& key : counted) {
      if (actual[key] != rows_in_records[key]) {
        problems.push_back(key + " holds " + std::to_string(actual[key]) +
                           " rows, its commit record says " + std::to_string(rows_in_records[key]));
      }
    }
  }
  if (problems.empty()) return ::testing::AssertionSuccess();
  auto failure = ::testing::AssertionFailure();
  failure << problems.size() << " inconsistencies between commit records and files:";
  for (size_t i = 0; i < problems.size() && i < 15; ++i) failure << "\n  " << problems[i];
  return failure;
}

uint64_t ParsePgLsn(const std::string& text) {
  size_t slash = text.find('/');
  if (slash == std::string::npos) return 0;
  return (std::stoull(text.substr(0, slash), nullptr, 16) << 32) |
         std::stoull(text.substr(slash + 1), nullptr, 16);
}

}  // namespace walflow::test
