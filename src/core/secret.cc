#include "core/secret.h"

#include <ostream>

namespace walflow {

bool Secret::Matches(std::string_view candidate) const {
  if (candidate.size() != value_.size()) return false;
  // Every byte is compared, whatever the first difference, so the time does not tell
  // how much of a guess was right.
  unsigned char difference = 0;
  for (size_t i = 0; i < value_.size(); ++i) {
    difference |= static_cast<unsigned char>(value_[i]) ^ static_cast<unsigned char>(candidate[i]);
  }
  return difference == 0;
}

std::ostream& operator<<(std::ostream& os, const Secret& secret) { return os << secret.Redacted(); }

}  // namespace walflow
