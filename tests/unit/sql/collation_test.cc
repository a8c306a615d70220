// sql::Collation against PostgreSQL 15 with the same glibc locales: the order of a list of
// words (accents, case, punctuation, Polish letters) under COLLATE "en_US.utf8" and
// "pl_PL.utf8", the sort keys' byte order, and upper()/lower() of non-ASCII text. Needs the
// locales of scripts/install-deps.sh; a server initialized after them lists them in
// pg_collation.
#include "sql/collation.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "pg_server.h"

namespace walflow::sql {
namespace {

using test::PgServer;

const std::vector<std::string>& Words() {
  static const std::vector<std::string> words = {
      "apple", "Apple",  "APPLE",  "Äpfel",   "äpfel", "banana", "zebra",
      "Zoo",   "éclair", "eclair", "Eclair",  "Łódź",  "lodz",   "Lodz",
      "łania", "lania",  "ćma",    "cma",     "Żaba",  "zaba",   "a b",
      "ab",    "a-b",    "a_b",    "",        "1",     "10",     "9",
      "ß",     "ss",     "straße", "Strasse", "ﬁsh",   "fish",   "\xc3\xa9t\xc3\xa9",
      "ete",   "Ǆ",      "ǆ",      "ǅ",       "ÿ",     "Ÿ",      "ǉ"};
  return words;
}

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

std::string ValuesList() {
  std::string values;
  for (size_t i = 0; i < Words().size(); ++i) {
    values += (i ? ", (" : "(") + std::to_string(i) + ", " + Quote(Words()[i]) + ")";
  }
  return values;
}

class CollationOracle : public ::testing::TestWithParam<std::string> {};

TEST_P(CollationOracle, OrderAndCaseMappingArePostgres) {
  const std::string name = GetParam();
  auto opened = Collation::Open(name);
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  const Collation& c = **opened;
  PgServer& pg = PgServer::Shared();
  ASSERT_EQ(pg.Scalar("SELECT count(*) FROM pg_collation WHERE collname = '" + name + "'"), "1")
      << "the server lacks collation " << name << " (run scripts/install-deps.sh first)";

  // The server's order (ties by bytes are PostgreSQL's too), as indexes into Words().
  std::vector<size_t> expected;
  for (const auto& row : pg.Query("SELECT i FROM (VALUES " + ValuesList() +
                                  ") AS t(i, w) ORDER BY w COLLATE \"" + name + "\", i")) {
    expected.push_back(std::stoul(*row[0]));
  }
  std::vector<size_t> by_compare(Words().size());
  for (size_t i = 0; i < by_compare.size(); ++i) by_compare[i] = i;
  std::stable_sort(by_compare.begin(), by_compare.end(),
                   [&](size_t a, size_t b) { return c.Compare(Words()[a], Words()[b]) < 0; });
  EXPECT_EQ(by_compare, expected);
  std::vector<size_t> by_key = by_compare;
  std::stable_sort(by_key.begin(), by_key.end(), [&](size_t a, size_t b) {
    const std::string ka = c.SortKey(Words()[a]), kb = c.SortKey(Words()[b]);
    return ka != kb ? ka < kb : Words()[a] < Words()[b];
  });
  EXPECT_EQ(by_key, expected) << "sort key, then bytes: the order of Compare";

  // upper() and lower() of every word under the collation.
  auto rows = pg.Query("SELECT i, upper(w COLLATE \"" + name + "\"), lower(w COLLATE \"" + name +
                       "\") FROM (VALUES " + ValuesList() + ") AS t(i, w) ORDER BY i");
  ASSERT_EQ(rows.size(), Words().size());
  for (const auto& row : rows) {
    const std::string& w = Words()[std::stoul(*row[0])];
    EXPECT_EQ(c.Upper(w), *row[1]) << "upper(" << w << ")";
    EXPECT_EQ(c.Lower(w), *row[2]) << "lower(" << w << ")";
  }
}

INSTANTIATE_TEST_SUITE_P(Locales, CollationOracle, ::testing::Values("en_US.utf8", "pl_PL.utf8"),
                         [](const auto& info) { return info.param.substr(0, 5); });

TEST(Collation, BytewiseNamesAndAMissingLocale) {
  for (const char* name : {"", "C", "POSIX", "ucs_basic"}) EXPECT_TRUE(Collation::IsBytewise(name));
  EXPECT_FALSE(Collation::IsBytewise("C.utf8"));
  EXPECT_FALSE(Collation::IsBytewise("en_US.utf8"));
  auto missing = Collation::Open("xx_XX.utf8");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(missing.status().message().find("\"xx_XX.utf8\" is not a locale"), std::string::npos);
}

TEST(Collation, InvalidUtf8IsCopiedNotMapped) {
  auto c = Collation::Open("en_US.utf8");
  ASSERT_TRUE(c.ok());
  const std::string bad = std::string("a\xff") + "b\xc3";
  EXPECT_EQ((*c)->Upper(bad), std::string("A\xff") + "B\xc3");
}

}  // namespace
}  // namespace walflow::sql
