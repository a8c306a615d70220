// Building change events by hand for the format tests: columns, rows of text / NULL /
// unchanged-TOAST cells.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/change.h"

namespace walflow::format::test {

inline ValueType Type(ValueKind kind, const std::string& name, uint32_t oid) {
  ValueType t;
  t.kind = kind;
  t.type_name = name;
  t.type_oid = Oid(oid);
  return t;
}

// numeric(precision, scale); (-1, -1) for an unconstrained numeric.
inline ValueType DecimalType(int32_t precision, int32_t scale) {
  ValueType t = Type(ValueKind::kDecimal, "numeric", 1700);
  t.precision = precision;
  t.scale = scale;
  return t;
}

inline ValueType ArrayOf(const ValueType& element, const std::string& name, uint32_t oid) {
  ValueType t = Type(ValueKind::kArray, name, oid);
  t.element = std::make_shared<ValueType>(element);
  return t;
}

inline ColumnSchema Column(const std::string& name, ValueType type, bool optional = true) {
  ColumnSchema c;
  c.name = name;
  c.type = std::move(type);
  c.optional = optional;
  return c;
}

// Index of the column called `name` (a test failure, and 0, if there is none).
inline int Col(const TableSchema& t, const std::string& name) {
  for (size_t i = 0; i < t.columns.size(); ++i) {
    if (t.columns[i].name == name) return static_cast<int>(i);
  }
  ADD_FAILURE() << "no column " << name;
  return 0;
}

// A row value: text, NULL or unchanged TOAST.
struct Cell {
  enum Kind { kText, kNull, kToast } kind = kText;
  std::string text;
  Cell(const char* t) : text(t) {}             // NOLINT
  Cell(std::string t) : text(std::move(t)) {}  // NOLINT
  static Cell Null() {
    Cell c("");
    c.kind = kNull;
    return c;
  }
  static Cell Toast() {
    Cell c("");
    c.kind = kToast;
    return c;
  }
};

using Row = std::vector<Cell>;

// Appends `cells` as a row of `b`; returns the index of its first datum.
inline int32_t AddRow(ChangeBatch* b, const Row& cells) {
  int32_t first = b->AddRow(cells.size());
  for (size_t i = 0; i < cells.size(); ++i) {
    int32_t idx = first + static_cast<int32_t>(i);
    switch (cells[i].kind) {
      case Cell::kText: b->SetText(idx, cells[i].text); break;
      case Cell::kNull: b->DatumAt(idx).kind = Datum::Kind::kNull; break;
      case Cell::kToast: b->DatumAt(idx).kind = Datum::Kind::kUnchangedToast; break;
    }
  }
  return first;
}

}  // namespace walflow::format::test
