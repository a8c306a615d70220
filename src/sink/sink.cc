#include "sink/sink.h"

#include <algorithm>

namespace walflow::sink {

TableSelection::TableSelection(std::vector<std::string> qualified_names)
    : names_(std::move(qualified_names)) {}

bool TableSelection::Lookup(const TableSchema& table) const {
  auto [it, added] = by_serial_.try_emplace(table.serial, false);
  if (added) {
    it->second = std::find(names_.begin(), names_.end(), table.QualifiedName()) != names_.end();
  }
  last_serial_ = table.serial;
  last_answer_ = it->second;
  return it->second;
}

}  // namespace walflow::sink
