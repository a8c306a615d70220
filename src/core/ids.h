// Strong types for the identifiers that move through walflow: a WAL position cannot be
// passed where a transaction id is expected.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace walflow {

// A position in PostgreSQL's write-ahead log (XLogRecPtr). Printed as PostgreSQL does:
// "16/B374D848".
struct Lsn {
  uint64_t value = 0;

  constexpr Lsn() = default;
  constexpr explicit Lsn(uint64_t v) : value(v) {}
  constexpr bool valid() const { return value != 0; }
  constexpr auto operator<=>(const Lsn&) const = default;

  std::string ToString() const;
  static std::optional<Lsn> Parse(std::string_view text);
};

// A transaction id (32-bit, as pgoutput sends it).
struct Xid {
  uint32_t value = 0;
  constexpr Xid() = default;
  constexpr explicit Xid(uint32_t v) : value(v) {}
  constexpr auto operator<=>(const Xid&) const = default;
};

// An object id of a relation or a type in the server's catalog.
struct Oid {
  uint32_t value = 0;
  constexpr Oid() = default;
  constexpr explicit Oid(uint32_t v) : value(v) {}
  constexpr auto operator<=>(const Oid&) const = default;
};

}  // namespace walflow

template <>
struct std::hash<walflow::Oid> {
  size_t operator()(walflow::Oid o) const noexcept { return std::hash<uint32_t>()(o.value); }
};
template <>
struct std::hash<walflow::Xid> {
  size_t operator()(walflow::Xid x) const noexcept { return std::hash<uint32_t>()(x.value); }
};
