// A libc collation, as PostgreSQL uses one for a column (its provider "c" collations and
// the database default): text ordered by strcoll() under the same glibc locale, ties broken
// by bytes as PostgreSQL does for deterministic collations, and upper()/lower() by the
// locale's wide-character case mapping. The C collation ("C", "POSIX", ucs_basic) is no
// Collation at all: callers order text by its bytes and fold ASCII letters only.
//
// The answers equal PostgreSQL's when walflow runs with the same glibc (locale data) as the
// server: collation order is the C library's, not PostgreSQL's.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace walflow::sql {

class Collation {
 public:
  // Whether `name` (collcollate, datcollate) orders text by its bytes: "C", "POSIX",
  // "ucs_basic", or empty (a type without collation).
  static bool IsBytewise(std::string_view name);
  // Opens the glibc locale `name` ("en_US.UTF-8", "pl_PL.utf8"). FailedPrecondition when
  // this machine's C library does not have it.
  static Result<std::shared_ptr<const Collation>> Open(const std::string& name);

  ~Collation();
  Collation(const Collation&) = delete;
  Collation& operator=(const Collation&) = delete;

  const std::string& name() const { return name_; }
  // < 0, 0, > 0 as PostgreSQL's varstr_cmp: strcoll, then the bytes when it says equal.
  int Compare(std::string_view a, std::string_view b) const;
  // A byte string whose bytewise order is Compare's order (strxfrm), without the tie break.
  std::string SortKey(std::string_view s) const;
  // upper() / lower() of UTF-8 text, character by character (towupper_l / towlower_l).
  std::string Upper(std::string_view s) const;
  std::string Lower(std::string_view s) const;

 private:
  Collation() = default;
  std::string CaseMap(std::string_view s, bool upper) const;

  std::string name_;
  void* locale_ = nullptr;  // locale_t
};

}  // namespace walflow::sql
