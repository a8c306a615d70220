// Secret: a password or token that cannot end up in a log line, an error message or a
// status page by accident. Formatted through fmt, an ostream or ToString() it reads
// "***" when set and "" when not set (so "no password given" stays visible); the value
// itself comes out only through Reveal(), so `grep Reveal(` lists every use.
//
// It guards against printing, not against memory inspection: the value lives in an
// ordinary std::string.
#pragma once

#include <fmt/format.h>

#include <iosfwd>
#include <string>
#include <string_view>
#include <utility>

namespace walflow {

class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}

  bool empty() const { return value_.empty(); }

  // The value, for the one call that needs it (a libpq connection parameter, an
  // Authorization header). Never pass the result to a formatter or a Status.
  const std::string& Reveal() const { return value_; }

  // "***" when set, "" when not.
  std::string_view Redacted() const { return value_.empty() ? std::string_view() : "***"; }
  std::string ToString() const { return std::string(Redacted()); }

  // Whether `candidate` is the value, in time that depends only on the lengths (for
  // checking a token a client sent).
  bool Matches(std::string_view candidate) const;

  friend bool operator==(const Secret& a, const Secret& b) { return a.Matches(b.value_); }

 private:
  std::string value_;
};

std::ostream& operator<<(std::ostream& os, const Secret& secret);

}  // namespace walflow

template <>
struct fmt::formatter<walflow::Secret> : fmt::formatter<std::string_view> {
  template <typename FormatContext>
  auto format(const walflow::Secret& secret, FormatContext& ctx) const {
    return fmt::formatter<std::string_view>::format(secret.Redacted(), ctx);
  }
};
