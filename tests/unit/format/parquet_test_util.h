// Reading Parquet files back with DuckDB (tests/fixtures/duckdb_reader.h) for the Parquet
// writer tests: node starts once per query, so a test asks all its questions in one query.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "duckdb_reader.h"

namespace walflow::format::test {

using Cells = std::vector<std::optional<std::string>>;

// The rows of one SELECT of a DuckDbBatch, every value as DuckDB's text for it.
struct DuckDbPart {
  std::vector<std::string> columns;
  std::vector<Cells> rows;

  // The value of `column` in row `row`; throws when either does not exist.
  const std::optional<std::string>& At(size_t row, const std::string& column) const {
    if (row >= rows.size()) {
      throw std::out_of_range("row " + std::to_string(row) + " of " + std::to_string(rows.size()));
    }
    for (size_t i = 0; i < columns.size(); ++i) {
      if (columns[i] == column) return rows[row][i];
    }
    throw std::out_of_range("no column " + column);
  }
  // The rows whose `column` is `value` (e.g. parquet_metadata rows of one column).
  DuckDbPart Where(const std::string& column, const std::string& value) const {
    DuckDbPart out;
    out.columns = columns;
    for (size_t r = 0; r < rows.size(); ++r) {
      if (At(r, column) == value) out.rows.push_back(rows[r]);
    }
    return out;
  }
};

// Several SELECTs answered by one DuckDB run. Each SELECT's columns are cast to VARCHAR
// (DuckDB's own text, exact) and its rows come back in the order of its `order_by`.
class DuckDbBatch {
 public:
  // `order_by`: expressions over the SELECT's columns ("" for no particular order).
  void Add(const std::string& name, const std::string& select, const std::string& order_by) {
    parts_.push_back({name, select, order_by});
  }

  std::map<std::string, DuckDbPart> Run() const {
    std::string sql = "SELECT wf_part, wf_n, wf_row FROM (";
    for (size_t i = 0; i < parts_.size(); ++i) {
      if (i > 0) sql += "\nUNION ALL\n";
      sql += "SELECT " + std::to_string(i) +
             " AS wf_part, wf_n, to_json(q)::VARCHAR AS wf_row FROM (" +
             "SELECT row_number() OVER (" +
             (parts_[i].order_by.empty() ? "" : "ORDER BY " + parts_[i].order_by) +
             ") AS wf_n, COLUMNS(*)::VARCHAR FROM (\n" + parts_[i].select + "\n) AS p) AS q";
    }
    sql += ") ORDER BY wf_part, wf_n";
    walflow::test::QueryResult result = walflow::test::DuckDbQuery(sql);
    std::map<std::string, DuckDbPart> parts;
    for (const Part& p : parts_) parts[p.name];
    for (const auto& row : result.rows) {
      const Part& part = parts_.at(std::stoul(*row[0]));
      DuckDbPart& out = parts[part.name];
      const auto object = nlohmann::ordered_json::parse(*row[2]);
      Cells cells;
      std::vector<std::string> columns;
      for (const auto& [key, value] : object.items()) {
        if (key == "wf_n") continue;
        columns.push_back(key);
        if (value.is_null()) {
          cells.push_back(std::nullopt);
        } else {
          cells.push_back(value.get<std::string>());
        }
      }
      if (out.rows.empty()) out.columns = columns;
      out.rows.push_back(std::move(cells));
    }
    return parts;
  }

 private:
  struct Part {
    std::string name, select, order_by;
  };
  std::vector<Part> parts_;
};

// `path` as a DuckDB string literal.
inline std::string Sql(const std::string& path) { return walflow::test::DuckDbString(path); }

inline void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace walflow::format::test
