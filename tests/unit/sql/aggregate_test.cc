// sql::GroupState: exact incremental aggregates over a real ViewStateStore, checked by
// hand, against a brute-force recomputation from the live rows, and against PostgreSQL 15.
#include "sql/aggregate.h"

#include <gtest/gtest.h>

#include <climits>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "pg_server.h"
#include "unit_test_util.h"

// GCC 12 warns falsely on chains of std::string operator+ (GCC bug 105329).
#pragma GCC diagnostic ignored "-Wrestrict"

namespace walflow::sql {
namespace {

using state::StateBatch;
using state::ViewStateStore;
using test::ScratchDir;

std::string RowText(const std::optional<AggregateRow>& row) {
  if (!row) return "<none>";
  std::string out;
  for (size_t i = 0; i < row->size(); ++i) {
    if (i > 0) out += "|";
    out += (*row)[i].is_null() ? "NULL" : (*row)[i].ToString();
  }
  return out;
}

Value Num(const char* text) { return Value::Numeric(*Decimal::Parse(text)); }

class AggregateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = ViewStateStore::Open(dir_.path(), "view");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    batch_.emplace(store_->NewBatch());
  }

  void Init(std::vector<AggregateSpec> specs) {
    auto gs = GroupState::Create(store_.get(), std::move(specs));
    ASSERT_TRUE(gs.ok()) << gs.status().ToString();
    groups_ = std::move(gs).value();
  }

  // Applies a row whose every aggregate gets `arg` (count(*) ignores it).
  Result<GroupChange> ApplyAll(const std::vector<Value>& key, const Value& arg, int64_t weight) {
    std::vector<AggregateInput> inputs(groups_->aggregates().size(), AggregateInput{arg, true});
    return groups_->Apply(*batch_, key, inputs, weight);
  }

  std::string Apply(const std::vector<Value>& key, const Value& arg, int64_t weight) {
    auto change = ApplyAll(key, arg, weight);
    if (!change.ok()) return "error: " + change.status().message();
    return RowText(change->after);
  }

  std::string Current(const std::vector<Value>& key) {
    auto row = groups_->Lookup(key, &*batch_);
    if (!row.ok()) return "error: " + row.status().message();
    return RowText(*row);
  }

  void Commit() {
    ASSERT_TRUE(store_->Commit(std::move(*batch_)).ok());
    batch_.emplace(store_->NewBatch());
  }

  ScratchDir dir_;
  std::unique_ptr<ViewStateStore> store_;
  std::optional<StateBatch> batch_;
  std::unique_ptr<GroupState> groups_;
};

std::vector<AggregateSpec> AllOf(SqlType t) {
  return {{AggregateKind::kCountStar, t},    {AggregateKind::kCount, t}, {AggregateKind::kSum, t},
          {AggregateKind::kAvg, t},          {AggregateKind::kMin, t},   {AggregateKind::kMax, t},
          {AggregateKind::kCountDistinct, t}};
}

TEST_F(AggregateTest, ResultTypesArePostgres) {
  auto type = [](AggregateKind k, SqlType t) { return *AggregateResultType({k, t}); };
  EXPECT_EQ(type(AggregateKind::kSum, SqlType::kInt4), SqlType::kInt8);
  EXPECT_EQ(type(AggregateKind::kSum, SqlType::kInt2), SqlType::kInt8);
  EXPECT_EQ(type(AggregateKind::kSum, SqlType::kInt8), SqlType::kNumeric);
  EXPECT_EQ(type(AggregateKind::kSum, SqlType::kFloat4), SqlType::kFloat4);
  EXPECT_EQ(type(AggregateKind::kAvg, SqlType::kInt4), SqlType::kNumeric);
  EXPECT_EQ(type(AggregateKind::kAvg, SqlType::kFloat4), SqlType::kFloat8);
  EXPECT_EQ(type(AggregateKind::kCount, SqlType::kText), SqlType::kInt8);
  EXPECT_EQ(type(AggregateKind::kMin, SqlType::kText), SqlType::kText);
  EXPECT_FALSE(AggregateResultType({AggregateKind::kSum, SqlType::kText}).ok());
  EXPECT_FALSE(AggregateResultType({AggregateKind::kBoolAnd, SqlType::kInt4}).ok());
}

TEST_F(AggregateTest, ExactAfterInsertsAndRetractions) {
  Init(AllOf(SqlType::kInt4));
  std::vector<Value> k = {Value::Text("a")};
  EXPECT_EQ(Apply(k, Value::Int4(5), 1), "1|1|5|5.0000000000000000|5|5|1");
  EXPECT_EQ(Apply(k, Value::Int4(1), 1), "2|2|6|3.0000000000000000|1|5|2");
  EXPECT_EQ(Apply(k, Value::Int4(2), 1), "3|3|8|2.6666666666666667|1|5|3");
  EXPECT_EQ(Apply(k, Value::Int4(2), 1), "4|4|10|2.5000000000000000|1|5|3");
  EXPECT_EQ(Apply(k, Value::Null(SqlType::kInt4), 1), "5|4|10|2.5000000000000000|1|5|3");
  // Deleting the current min, then the current max: the next one is found.
  EXPECT_EQ(Apply(k, Value::Int4(1), -1), "4|3|9|3.0000000000000000|2|5|2");
  EXPECT_EQ(Apply(k, Value::Int4(5), -1), "3|2|4|2.0000000000000000|2|2|1");
  // One of two equal values goes: min, max and the distinct count stay.
  EXPECT_EQ(Apply(k, Value::Int4(2), -1), "2|1|2|2.0000000000000000|2|2|1");
  EXPECT_EQ(Apply(k, Value::Int4(2), -1), "1|0|NULL|NULL|NULL|NULL|0");
  Commit();
  EXPECT_EQ(Current(k), "1|0|NULL|NULL|NULL|NULL|0");
  EXPECT_EQ(Apply(k, Value::Int4(-7), 1), "2|1|-7|-7.0000000000000000|-7|-7|1");
}

TEST_F(AggregateTest, MinMaxNextAcrossCommittedAndBatchedState) {
  Init({{AggregateKind::kCountStar, SqlType::kText},
        {AggregateKind::kMin, SqlType::kText},
        {AggregateKind::kMax, SqlType::kText}});
  std::vector<Value> k = {Value::Int4(1)};
  for (const char* s : {"m", "c", "x", "a", "z"}) ASSERT_NE(Apply(k, Value::Text(s), 1), "");
  Commit();
  EXPECT_EQ(Apply(k, Value::Text("b"), 1), "6|a|z");
  EXPECT_EQ(Apply(k, Value::Text("a"), -1), "5|b|z");
  EXPECT_EQ(Apply(k, Value::Text("b"), -1), "4|c|z");
  EXPECT_EQ(Apply(k, Value::Text("z"), -1), "3|c|x");
  Commit();
  EXPECT_EQ(Apply(k, Value::Text("x"), -1), "2|c|m");
  EXPECT_EQ(Apply(k, Value::Text("c"), -1), "1|m|m");
}

TEST_F(AggregateTest, GroupDisappearsAndReappears) {
  Init(AllOf(SqlType::kInt8));
  std::vector<Value> k = {Value::Text("g"), Value::Int4(3)};
  auto c1 = ApplyAll(k, Value::Int8(10), 1);
  ASSERT_TRUE(c1.ok());
  EXPECT_FALSE(c1->before.has_value());
  EXPECT_EQ(RowText(c1->after), "1|1|10|10.0000000000000000|10|10|1");
  EXPECT_TRUE(c1->changed());
  auto c2 = ApplyAll(k, Value::Int8(10), -1);
  ASSERT_TRUE(c2.ok());
  EXPECT_EQ(RowText(c2->before), "1|1|10|10.0000000000000000|10|10|1");
  EXPECT_FALSE(c2->after.has_value());
  EXPECT_EQ(Current(k), "<none>");
  Commit();
  auto c3 = ApplyAll(k, Value::Int8(20), 1);
  ASSERT_TRUE(c3.ok());
  EXPECT_FALSE(c3->before.has_value());
  EXPECT_EQ(RowText(c3->after), "1|1|20|20.0000000000000000|20|20|1");
  // No multiset entry of the first life is left behind.
  auto it = store_->ScanPrefix(state::Family::kMultisets, "", &*batch_);
  int entries = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) ++entries;
  EXPECT_EQ(entries, 3);  // min, max, distinct: one value each
}

TEST_F(AggregateTest, RetractionOfAbsentRowIsDataLoss) {
  Init(AllOf(SqlType::kInt4));
  auto missing = ApplyAll({Value::Text("nowhere")}, Value::Int4(1), -1);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(missing.status().message().find("(nowhere)"), std::string::npos)
      << missing.status().message();
  EXPECT_EQ(Current({Value::Text("nowhere")}), "<none>");
  // A retraction whose value was never inserted: refused, nothing written.
  ASSERT_EQ(Apply({Value::Text("g")}, Value::Int4(1), 1), "1|1|1|1.00000000000000000000|1|1|1");
  auto wrong = ApplyAll({Value::Text("g")}, Value::Int4(2), -1);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(Current({Value::Text("g")}), "1|1|1|1.00000000000000000000|1|1|1");
}

TEST_F(AggregateTest, NullGroupKeysAndNullValues) {
  Init(AllOf(SqlType::kNumeric));
  std::vector<Value> null_key = {Value::Null(SqlType::kText)};
  std::vector<Value> empty_key = {Value::Text("")};
  EXPECT_EQ(Apply(null_key, Value::Null(SqlType::kNumeric), 1), "1|0|NULL|NULL|NULL|NULL|0");
  EXPECT_EQ(Apply(empty_key, Num("1.5"), 1), "1|1|1.5|1.50000000000000000000|1.5|1.5|1");
  EXPECT_EQ(Apply(null_key, Num("2.25"), 1), "2|1|2.25|2.2500000000000000|2.25|2.25|1");
  EXPECT_EQ(Current(empty_key), "1|1|1.5|1.50000000000000000000|1.5|1.5|1");
  EXPECT_EQ(Apply(null_key, Num("2.25"), -1), "1|0|NULL|NULL|NULL|NULL|0");
  EXPECT_EQ(Apply(null_key, Value::Null(SqlType::kNumeric), -1), "<none>");
}

TEST_F(AggregateTest, NumericSumScaleFollowsLiveRows) {
  Init(AllOf(SqlType::kNumeric));
  std::vector<Value> k = {Value::Int4(0)};
  ASSERT_EQ(Apply(k, Num("1.5"), 1), "1|1|1.5|1.50000000000000000000|1.5|1.5|1");
  EXPECT_EQ(Apply(k, Num("2.125"), 1), "2|2|3.625|1.8125000000000000|1.5|2.125|2");
  EXPECT_EQ(Apply(k, Num("2.125"), -1), "1|1|1.5|1.50000000000000000000|1.5|1.5|1");
  EXPECT_EQ(Apply(k, Num("Infinity"), 1), "2|2|Infinity|Infinity|1.5|Infinity|2");
  EXPECT_EQ(Apply(k, Num("-Infinity"), 1), "3|3|NaN|NaN|-Infinity|Infinity|3");
  EXPECT_EQ(Apply(k, Num("Infinity"), -1), "2|2|-Infinity|-Infinity|-Infinity|1.5|2");
  EXPECT_EQ(Apply(k, Num("-Infinity"), -1), "1|1|1.5|1.50000000000000000000|1.5|1.5|1");
}

TEST_F(AggregateTest, SumOverflowIsAnErrorAndWritesNothing) {
  Init({{AggregateKind::kCountStar, SqlType::kInt4}, {AggregateKind::kSum, SqlType::kInt4}});
  std::vector<Value> k = {Value::Int4(1)};
  ASSERT_EQ(Apply(k, Value::Int4(INT_MAX), int64_t{1} << 32), "4294967296|9223372032559808512");
  auto over = ApplyAll(k, Value::Int4(INT_MAX), 3);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().message(), "group (1): bigint out of range");
  EXPECT_EQ(Current(k), "4294967296|9223372032559808512");
  // sum(int8) is numeric and does not overflow.
  Init({{AggregateKind::kSum, SqlType::kInt8}, {AggregateKind::kAvg, SqlType::kInt8}});
  std::vector<Value> k2 = {Value::Int4(2)};
  ASSERT_NE(Apply(k2, Value::Int8(INT64_MAX), 1), "");
  EXPECT_EQ(Apply(k2, Value::Int8(INT64_MAX), 1), "18446744073709551614|9223372036854775807");
}

TEST_F(AggregateTest, FloatSumIsExactUnderRetraction) {
  Init({{AggregateKind::kSum, SqlType::kFloat8}, {AggregateKind::kAvg, SqlType::kFloat8}});
  std::vector<Value> k = {Value::Int4(1)};
  ASSERT_NE(Apply(k, Value::Float8(1e20), 1), "");
  ASSERT_NE(Apply(k, Value::Float8(0.1), 1), "");
  ASSERT_NE(Apply(k, Value::Float8(0.2), 1), "");
  // Floating point would have lost 0.1 and 0.2 in 1e20; the exact sum gets them back.
  EXPECT_EQ(Apply(k, Value::Float8(1e20), -1), "0.30000000000000004|0.15000000000000002");
  EXPECT_EQ(Apply(k, Value::Float8(0.1), -1), "0.2|0.2");
  EXPECT_EQ(Apply(k, Value::Float8(INFINITY), 1), "Infinity|Infinity");
  EXPECT_EQ(Apply(k, Value::Float8(NAN), 1), "NaN|NaN");
  EXPECT_EQ(Apply(k, Value::Float8(NAN), -1), "Infinity|Infinity");
  EXPECT_EQ(Apply(k, Value::Float8(INFINITY), -1), "0.2|0.2");
  EXPECT_EQ(Apply(k, Value::Float8(DBL_MAX), 1), "1.7976931348623157e+308|8.988465674311579e+307");
  auto over = ApplyAll(k, Value::Float8(DBL_MAX), 1);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().message(), "group (1): value out of range: overflow");
  EXPECT_EQ(Apply(k, Value::Float8(5e-324), 1), "1.7976931348623157e+308|5.992310449541053e+307");
}

TEST_F(AggregateTest, BoolAggregatesAndFilters) {
  Init({{AggregateKind::kCountStar, SqlType::kBool},
        {AggregateKind::kCountStar, SqlType::kBool},
        {AggregateKind::kBoolAnd, SqlType::kBool},
        {AggregateKind::kBoolOr, SqlType::kBool}});
  std::vector<Value> k = {Value::Int4(1)};
  // count(*), count(*) FILTER (WHERE b), bool_and(b), bool_or(b) FILTER (WHERE b IS NOT NULL)
  auto row = [&](const Value& b, int64_t w) {
    bool filter = !b.is_null() && b.bool_value();
    std::vector<AggregateInput> in = {{b, true}, {b, filter}, {b, true}, {b, !b.is_null()}};
    auto change = groups_->Apply(*batch_, k, in, w);
    return change.ok() ? RowText(change->after) : change.status().ToString();
  };
  EXPECT_EQ(row(Value::Null(SqlType::kBool), 1), "1|0|NULL|NULL");
  EXPECT_EQ(row(Value::Bool(true), 1), "2|1|t|t");
  EXPECT_EQ(row(Value::Bool(false), 1), "3|1|f|t");
  EXPECT_EQ(row(Value::Bool(true), -1), "2|0|f|f");
  EXPECT_EQ(row(Value::Bool(false), -1), "1|0|NULL|NULL");
}

TEST_F(AggregateTest, StateSurvivesReopen) {
  Init(AllOf(SqlType::kNumeric));
  std::vector<Value> k = {Value::Text("k")};
  for (const char* v : {"1.25", "-3", "1.25", "7.5"}) ASSERT_NE(Apply(k, Num(v), 1), "");
  std::string before = Current(k);
  Commit();
  groups_.reset();
  batch_.reset();
  store_.reset();
  SetUp();
  Init(AllOf(SqlType::kNumeric));
  EXPECT_EQ(Current(k), before);
  EXPECT_EQ(Apply(k, Num("-3"), -1), "3|3|10.00|3.3333333333333333|1.25|7.5|2");
  // A view whose aggregates differ from the stored state is refused.
  Init({{AggregateKind::kCountStar, SqlType::kInt4}});
  auto mismatch = groups_->Lookup(k, &*batch_);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_EQ(mismatch.status().code(), StatusCode::kDataLoss);
}

// ---- randomized, against a brute-force recomputation from the live rows ----------------

struct LiveRow {
  int g;
  Value x;  // int4
  Value y;  // numeric
  Value t;  // text
  Value b;  // bool
};

std::vector<AggregateSpec> RandomSpecs() {
  std::vector<AggregateSpec> s = AllOf(SqlType::kInt4);
  for (const AggregateSpec& n : AllOf(SqlType::kNumeric)) s.push_back(n);
  s.push_back({AggregateKind::kMin, SqlType::kText});
  s.push_back({AggregateKind::kMax, SqlType::kText});
  s.push_back({AggregateKind::kCountDistinct, SqlType::kText});
  s.push_back({AggregateKind::kBoolAnd, SqlType::kBool});
  s.push_back({AggregateKind::kBoolOr, SqlType::kBool});
  s.push_back({AggregateKind::kCount, SqlType::kInt4});  // count(x) FILTER (WHERE x > 0)
  return s;
}

bool Positive(const Value& x) { return !x.is_null() && x.int_value() > 0; }

std::vector<AggregateInput> RandomInputs(const LiveRow& r) {
  std::vector<AggregateInput> in;
  for (int i = 0; i < 7; ++i) in.push_back({r.x, true});
  for (int i = 0; i < 7; ++i) in.push_back({r.y, true});
  for (int i = 0; i < 3; ++i) in.push_back({r.t, true});
  in.push_back({r.b, true});
  in.push_back({r.b, true});
  in.push_back({r.x, Positive(r.x)});
  return in;
}

// The seven aggregates of AllOf() over one column, recomputed from scratch.
void BruteColumn(const std::vector<const Value*>& values, size_t rows, bool numeric,
                 AggregateRow* out) {
  int64_t n = 0;
  int64_t int_sum = 0;
  Decimal dec_sum;
  const Value* min = nullptr;
  const Value* max = nullptr;
  std::set<std::string> distinct;
  for (const Value* v : values) {
    if (v->is_null()) continue;
    ++n;
    if (numeric) {
      dec_sum = *Decimal::Add(dec_sum, v->numeric_value());
    } else if (v->type() != SqlType::kText) {
      int_sum += v->int_value();
    }
    if (min == nullptr || Value::Compare(*v, *min) < 0) min = v;
    if (max == nullptr || Value::Compare(*v, *max) > 0) max = v;
    distinct.insert(v->ToString());
  }
  out->push_back(Value::Int8(static_cast<int64_t>(rows)));
  out->push_back(Value::Int8(n));
  Decimal sum = numeric ? dec_sum : Decimal(int_sum);
  if (n == 0) {
    out->push_back(Value::Null(numeric ? SqlType::kNumeric : SqlType::kInt8));
    out->push_back(Value::Null(SqlType::kNumeric));
  } else {
    out->push_back(numeric ? Value::Numeric(sum) : Value::Int8(int_sum));
    out->push_back(Value::Numeric(*Decimal::Avg(sum, n)));
  }
  SqlType t = numeric ? SqlType::kNumeric : SqlType::kInt4;
  out->push_back(min ? *min : Value::Null(t));
  out->push_back(max ? *max : Value::Null(t));
  out->push_back(Value::Int8(static_cast<int64_t>(distinct.size())));
}

std::optional<AggregateRow> Brute(const std::multimap<int, LiveRow>& live, int g) {
  auto [lo, hi] = live.equal_range(g);
  if (lo == hi) return std::nullopt;
  std::vector<const Value*> xs, ys, ts;
  size_t rows = 0;
  int64_t trues = 0, falses = 0, positives = 0;
  for (auto it = lo; it != hi; ++it) {
    ++rows;
    xs.push_back(&it->second.x);
    ys.push_back(&it->second.y);
    ts.push_back(&it->second.t);
    if (!it->second.b.is_null()) ++(it->second.b.bool_value() ? trues : falses);
    if (Positive(it->second.x)) ++positives;
  }
  AggregateRow row;
  BruteColumn(xs, rows, false, &row);
  BruteColumn(ys, rows, true, &row);
  AggregateRow text;
  BruteColumn(ts, rows, false, &text);  // only min, max and distinct are used
  row.push_back(text[4]);
  row.push_back(text[5]);
  row.push_back(text[6]);
  bool any = trues + falses > 0;
  row.push_back(any ? Value::Bool(falses == 0) : Value::Null(SqlType::kBool));
  row.push_back(any ? Value::Bool(trues > 0) : Value::Null(SqlType::kBool));
  row.push_back(Value::Int8(positives));
  return row;
}

TEST_F(AggregateTest, RandomizedAgainstBruteForce) {
  Init(RandomSpecs());
  std::mt19937_64 rng(13);
  auto pick = [&](uint64_t n) { return static_cast<int>(rng() % n); };
  auto random_row = [&] {
    LiveRow r;
    r.g = pick(4);
    r.x = pick(8) == 0 ? Value::Null(SqlType::kInt4) : Value::Int4(pick(21) - 10);
    if (pick(8) == 0) {
      r.y = Value::Null(SqlType::kNumeric);
    } else {
      // Scales 0..2, never two texts of one value (1.5 vs 1.50): ties keep one scale.
      int scale = pick(3);
      int m = pick(2000) - 1000;
      if (scale > 0 && m % 10 == 0) ++m;
      std::string s = std::to_string(std::abs(m));
      while (static_cast<int>(s.size()) <= scale) s.insert(s.begin(), '0');
      if (scale > 0) s.insert(s.end() - scale, '.');
      r.y = Num(((m < 0 ? "-" : "") + s).c_str());
    }
    r.t = pick(8) == 0 ? Value::Null(SqlType::kText)
                       : Value::Text(std::string(1, static_cast<char>('a' + pick(12))));
    r.b = pick(5) == 0 ? Value::Null(SqlType::kBool) : Value::Bool(pick(3) != 0);
    return r;
  };
  std::multimap<int, LiveRow> live;
  auto apply = [&](const LiveRow& r, int64_t w) {
    auto before = Brute(live, r.g);
    if (w > 0) {
      live.emplace(r.g, r);
    } else {
      auto [lo, hi] = live.equal_range(r.g);
      for (auto it = lo; it != hi; ++it) {
        if (it->second.x == r.x && it->second.y == r.y && it->second.t == r.t &&
            it->second.b == r.b) {
          live.erase(it);
          break;
        }
      }
    }
    auto after = Brute(live, r.g);
    std::vector<Value> key = {Value::Int4(r.g)};
    auto change = groups_->Apply(*batch_, key, RandomInputs(r), w);
    ASSERT_TRUE(change.ok()) << change.status().ToString();
    ASSERT_EQ(RowText(change->before), RowText(before));
    ASSERT_EQ(RowText(change->after), RowText(after));
    ASSERT_TRUE(SameRow(change->after, after));
  };
  for (int step = 0; step < 4000; ++step) {
    int op = pick(10);
    if (live.empty() || op < 5) {
      apply(random_row(), 1);
    } else {
      auto it = std::next(live.begin(), pick(live.size()));
      LiveRow old = it->second;
      apply(old, -1);
      if (op < 8) apply(random_row(), 1);  // an update, often to another group
    }
    if (HasFatalFailure()) return;
    if (step % 97 == 0) Commit();
  }
  for (int g = 0; g < 4; ++g) EXPECT_EQ(Current({Value::Int4(g)}), RowText(Brute(live, g)));
}

// Update() (one read and write of the group, unchanged aggregates skipped) against the
// retraction and insertion it replaces, on two operators sharing one store: every row
// both return and every group's final state are the same, with ties in value and not in
// text (1.5 and 1.50, 0 and -0), NULLs and filters that flip.
TEST_F(AggregateTest, UpdateWithinAGroupEqualsRetractThenInsert) {
  std::vector<AggregateSpec> specs = RandomSpecs();
  for (const AggregateSpec& f : AllOf(SqlType::kFloat8)) specs.push_back(f);
  auto a = GroupState::Create(store_.get(), specs, "a");
  auto b = GroupState::Create(store_.get(), specs, "b");
  ASSERT_TRUE(a.ok() && b.ok());
  std::mt19937_64 rng(29);
  auto pick = [&](uint64_t n) { return static_cast<int>(rng() % n); };
  const char* numerics[] = {"1.5", "1.50", "2", "2.0", "-1.25", "0", "0.00"};
  const double floats[] = {0.0, -0.0, 1.5, 2.25, -3.0};
  auto random_inputs = [&] {
    LiveRow r;
    r.g = 0;
    r.x = pick(6) == 0 ? Value::Null(SqlType::kInt4) : Value::Int4(pick(5) - 2);
    r.y = pick(8) == 0 ? Value::Null(SqlType::kNumeric) : Num(numerics[pick(7)]);
    r.t = pick(8) == 0 ? Value::Null(SqlType::kText)
                       : Value::Text(std::string(1, static_cast<char>('a' + pick(3))));
    r.b = pick(5) == 0 ? Value::Null(SqlType::kBool) : Value::Bool(pick(2) != 0);
    std::vector<AggregateInput> in = RandomInputs(r);
    const Value f = pick(8) == 0 ? Value::Null(SqlType::kFloat8) : Value::Float8(floats[pick(5)]);
    for (int i = 0; i < 7; ++i) in.push_back({f, true});
    return in;
  };
  for (int g = 0; g < 3; ++g) {
    std::vector<std::vector<AggregateInput>> rows;
    const std::vector<Value> key = {Value::Int4(g)};
    for (int i = 0; i < 6; ++i) {
      rows.push_back(random_inputs());
      auto ca = (*a)->Apply(*batch_, key, rows.back(), 1);
      auto cb = (*b)->Apply(*batch_, key, rows.back(), 1);
      ASSERT_TRUE(ca.ok() && cb.ok());
    }
    for (int step = 0; step < 400; ++step) {
      const size_t victim = pick(rows.size());
      std::vector<AggregateInput> next = random_inputs();
      if (pick(3) == 0) next = rows[victim];  // an UPDATE of columns no aggregate reads
      if (pick(4) == 0) next[pick(next.size())].filter = false;
      auto moved = (*a)->Update(*batch_, key, rows[victim], next);
      ASSERT_TRUE(moved.ok()) << moved.status().ToString();
      auto out = (*b)->Apply(*batch_, key, rows[victim], -1);
      ASSERT_TRUE(out.ok()) << out.status().ToString();
      auto in = (*b)->Apply(*batch_, key, next, 1);
      ASSERT_TRUE(in.ok()) << in.status().ToString();
      ASSERT_EQ(RowText(moved->before), RowText(out->before)) << "step " << step;
      ASSERT_EQ(RowText(moved->after), RowText(in->after)) << "step " << step;
      ASSERT_TRUE(SameRow(moved->after, in->after)) << "step " << step;
      rows[victim] = next;
      if (step % 37 == 0) Commit();
    }
    Commit();
    auto la = (*a)->Lookup(key, &*batch_);
    auto lb = (*b)->Lookup(key, &*batch_);
    ASSERT_TRUE(la.ok() && lb.ok());
    EXPECT_EQ(RowText(*la), RowText(*lb)) << "group " << g;
  }
  // An update in a group that does not exist retracts a row it never held.
  const std::vector<Value> absent = {Value::Int4(99)};
  auto missing = (*a)->Update(*batch_, absent, random_inputs(), random_inputs());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kDataLoss);
}

// ---- oracle: the same workload in PostgreSQL 15 --------------------------------------------

std::string Sql(const Value& v) {
  if (v.is_null()) return "NULL";
  if (v.type() == SqlType::kFloat8) {
    std::string s;
    AppendFloat8(v.float_value(), &s);
    return "'" + s + "'";
  }
  return "'" + v.ToString() + "'";
}

TEST(AggregateOracleTest, GroupByMatchesPostgres) {
  test::PgConnection conn(test::PgServer::Shared().Connect());
  conn.Exec(
      "SET extra_float_digits = 3; DROP TABLE IF EXISTS agg_oracle; "
      "CREATE TABLE agg_oracle (id int PRIMARY KEY, g int, a int4, b int8, c numeric(14,2), "
      "d float8, e float8)");
  ScratchDir dir;
  auto store = ViewStateStore::Open(dir.path(), "oracle");
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  const SqlType types[] = {SqlType::kInt4, SqlType::kInt8, SqlType::kNumeric, SqlType::kFloat8,
                           SqlType::kFloat8};
  std::vector<AggregateSpec> specs;
  for (SqlType t : types) {
    for (const AggregateSpec& s : AllOf(t)) specs.push_back(s);
  }
  auto groups = GroupState::Create(store->get(), specs);
  ASSERT_TRUE(groups.ok());
  StateBatch batch = (*store)->NewBatch();

  std::mt19937_64 rng(2026);
  auto pick = [&](uint64_t n) { return static_cast<int64_t>(rng() % n); };
  struct Row {
    Value g;
    Value cols[5];
  };
  auto random_row = [&] {
    Row r;
    r.g = pick(7) == 0 ? Value::Null(SqlType::kInt4) : Value::Int4(static_cast<int>(pick(5)));
    auto null_or = [&](Value v, SqlType t) { return pick(10) == 0 ? Value::Null(t) : v; };
    int64_t a = pick(3) == 0 ? pick(20) : pick(2000000001) - 1000000000;
    if (pick(50) == 0) a = pick(2) ? INT_MAX : INT_MIN;
    r.cols[0] = null_or(Value::Int4(static_cast<int32_t>(a)), SqlType::kInt4);
    int64_t b = pick(3) == 0 ? pick(20) : static_cast<int64_t>(rng());
    r.cols[1] = null_or(Value::Int8(b), SqlType::kInt8);
    int64_t cents = pick(3) == 0 ? pick(20) : pick(200000000000000) - 100000000000000;
    r.cols[2] =
        null_or(Value::Numeric(*Decimal::Div(Decimal(cents), Decimal(100))), SqlType::kNumeric);
    r.cols[2] =
        r.cols[2].is_null() ? r.cols[2] : Value::Numeric(r.cols[2].numeric_value().Round(2));
    // d: multiples of 1/8 below 2^40, so every partial sum is exact in both systems.
    double d = pick(3) == 0 ? static_cast<double>(pick(20))
                            : static_cast<double>(pick(int64_t{1} << 41) - (int64_t{1} << 40)) / 8;
    r.cols[3] = null_or(Value::Float8(d), SqlType::kFloat8);
    // e: arbitrary doubles; sums are compared within rounding.
    std::uniform_real_distribution<double> uni(-1e6, 1e6);
    r.cols[4] = null_or(Value::Float8(pick(3) == 0 ? static_cast<double>(pick(20)) : uni(rng)),
                        SqlType::kFloat8);
    return r;
  };
  auto apply = [&](const Row& r, int64_t w) {
    std::vector<AggregateInput> in;
    for (const Value& v : r.cols) {
      for (int i = 0; i < 7; ++i) in.push_back({v, true});
    }
    auto change = (*groups)->Apply(batch, std::vector<Value>{r.g}, in, w);
    ASSERT_TRUE(change.ok()) << change.status().ToString();
  };

  std::string select = "SELECT g";
  for (const char* c : {"a", "b", "c", "d", "e"}) {
    select += std::string(", count(*), count(") + c + "), sum(" + c + "), avg(" + c + "), min(" +
              c + "), max(" + c + "), count(DISTINCT " + c + ")";
  }
  select += " FROM agg_oracle GROUP BY g";

  std::map<int, Row> rows;
  int next_id = 0;
  std::string sql;
  for (int round = 0; round < 6; ++round) {
    for (int step = 0; step < 500; ++step) {
      int op = static_cast<int>(pick(10));
      if (rows.empty() || op < 5) {
        Row r = random_row();
        int id = next_id++;
        sql += "INSERT INTO agg_oracle VALUES (" + std::to_string(id) + "," + Sql(r.g);
        for (const Value& v : r.cols) sql += "," + Sql(v);
        sql += ");";
        apply(r, 1);
        rows[id] = r;
      } else {
        auto it = std::next(rows.begin(), pick(rows.size()));
        apply(it->second, -1);
        if (op < 8) {
          Row r = random_row();
          sql += "UPDATE agg_oracle SET g=" + Sql(r.g);
          const char* names[] = {"a", "b", "c", "d", "e"};
          for (int i = 0; i < 5; ++i) sql += std::string(",") + names[i] + "=" + Sql(r.cols[i]);
          sql += " WHERE id=" + std::to_string(it->first) + ";";
          apply(r, 1);
          it->second = r;
        } else {
          sql += "DELETE FROM agg_oracle WHERE id=" + std::to_string(it->first) + ";";
          rows.erase(it);
        }
      }
      if (testing::Test::HasFatalFailure()) return;
    }
    conn.Exec("BEGIN;" + sql + "COMMIT");
    sql.clear();
    ASSERT_TRUE((*store)->Commit(std::move(batch)).ok());
    batch = (*store)->NewBatch();

    std::set<std::string> seen;
    for (const auto& pg : conn.Query(select)) {
      Value g = pg[0] ? Value::Int4(std::stoi(*pg[0])) : Value::Null(SqlType::kInt4);
      seen.insert(pg[0].value_or("NULL"));
      auto ours = (*groups)->Lookup(std::vector<Value>{g});
      ASSERT_TRUE(ours.ok()) << ours.status().ToString();
      ASSERT_TRUE(ours->has_value()) << "group " << pg[0].value_or("NULL");
      for (size_t i = 0; i < specs.size(); ++i) {
        const Value& v = (**ours)[i];
        std::string mine = v.is_null() ? "NULL" : v.ToString();
        std::string theirs = pg[i + 1].value_or("NULL");
        bool rounded_float = i >= 28 && (specs[i].kind == AggregateKind::kSum ||
                                         specs[i].kind == AggregateKind::kAvg);
        if (rounded_float && mine != "NULL" && theirs != "NULL") {
          double x = std::stod(mine), y = std::stod(theirs);
          EXPECT_NEAR(x, y, 1e-9 * std::max(1.0, std::fabs(y)))
              << "round " << round << " group " << pg[0].value_or("NULL") << " column " << i;
        } else {
          EXPECT_EQ(mine, theirs) << "round " << round << " group " << pg[0].value_or("NULL")
                                  << " column " << i << " (" << AggregateName(specs[i].kind)
                                  << " of " << SqlTypeName(specs[i].arg_type) << ")";
        }
      }
    }
    // Groups PostgreSQL does not have do not exist here either.
    for (int g = -1; g < 5; ++g) {
      Value key = g < 0 ? Value::Null(SqlType::kInt4) : Value::Int4(g);
      if (seen.count(g < 0 ? "NULL" : std::to_string(g))) continue;
      auto ours = (*groups)->Lookup(std::vector<Value>{key});
      ASSERT_TRUE(ours.ok());
      EXPECT_FALSE(ours->has_value()) << "group " << g;
    }
  }
  conn.Exec("DROP TABLE agg_oracle");
}

}  // namespace
}  // namespace walflow::sql
