// Incremental aggregates of a GROUP BY view: per group, the state that keeps every
// aggregate exact under insertions and retractions, stored in the view's ViewStateStore
// (so groups do not have to fit in memory) and updated inside the caller's StateBatch.
//
// Each input change is (group key, one AggregateInput per aggregate, weight); an UPDATE is
// the old row with weight -1 and the new row with +1. Apply() returns the group's output
// row before and after, from which the caller emits c/u/d (nothing when SameRow()).
//
// State (all keys start with the operator's `key_prefix`, then the memcomparable encoding
// of the group key, NULLS LAST):
//   groups     prefix+G               -> the group's state, format below (kGroupStateVersion)
//   multisets  prefix+G+u16 BE agg#+V -> varint count [+ varint display scale, numeric only]
//              for min/max (V = the value's key encoding, for max with every bit flipped,
//              which reverses the order: the current min or max is the first key under
//              prefix+G+agg#, and the next one after deleting it is one seek away) and
//              count(DISTINCT) (per-value counts).
//
// Group state value, version 1:
//   u8 version=1, varint row_count (>= 1), varint aggregate count, then per aggregate a u8
//   AggregateKind tag and
//     count(*), count(x)       varint n
//     count(DISTINCT x)        varint number of distinct values
//     bool_and / bool_or       varint trues, varint falses
//     sum/avg of integers      varint n, zigzag varint (128-bit) sum
//     sum/avg of numeric       varint n, nan, +inf, -inf counts, key-encoded finite sum,
//                              varint k, k x (varint display scale, varint count)
//     sum/avg of floats        varint n, nan, +inf, -inf counts, key-encoded exact sum
//     min / max                varint n; if n > 0: varint length + V of the current
//                              extreme (as in its multiset key), varint its display scale
//   A value of another version, a tag that does not match the view's aggregates or bytes
//   left over is DataLoss.
//
// Float sums: PostgreSQL adds float8 in scan order, so its sum depends on the order and a
// retraction cannot be undone in floating point. Here the sum of the finite inputs is kept
// exactly, as a Decimal of each double's exact binary value (NaN and ±Infinity counted
// apart), and rounded to the nearest double at output. That equals PostgreSQL's answer
// whenever PostgreSQL's partial sums are exact (e.g. values with few significant bits) and
// is otherwise the correctly rounded sum, within the order-dependent ulps of PostgreSQL's.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "sql/collation.h"
#include "sql/value.h"
#include "state/view_state.h"

namespace walflow::sql {

inline constexpr uint8_t kGroupStateVersion = 1;

enum class AggregateKind : uint8_t {
  kCountStar = 1,
  kCount = 2,
  kCountDistinct = 3,
  kSum = 4,
  kAvg = 5,
  kMin = 6,
  kMax = 7,
  kBoolAnd = 8,
  kBoolOr = 9,
};
const char* AggregateName(AggregateKind kind);  // "count", "sum", ...

struct AggregateSpec {
  AggregateKind kind = AggregateKind::kCountStar;
  SqlType arg_type = SqlType::kInt8;  // ignored for count(*)
  // min/max of text under a libc collation (null: bytes). Its multiset keys are then the
  // collation's sort key followed by the text (sql/collation.h).
  std::shared_ptr<const Collation> collation;
};

// PostgreSQL's result type: count -> bigint, sum(int2/int4) -> bigint, sum(int8/numeric)
// -> numeric, sum(float4) -> real, sum(float8) -> double, avg(int/numeric) -> numeric,
// avg(float) -> double, min/max -> the argument's type, bool_* -> boolean. Unsupported
// combinations (sum(text), bool_and(int), sum(interval) for now) are InvalidArgument.
Result<SqlType> AggregateResultType(const AggregateSpec& spec);

// One row's input to one aggregate. `filter` is the FILTER (WHERE ...) condition as the
// caller evaluated it: false when it is false or NULL (the row is then not seen by this
// aggregate), true without a FILTER. `arg` is ignored by count(*).
struct AggregateInput {
  Value arg;
  bool filter = true;
};

using AggregateRow = std::vector<Value>;  // one value per aggregate, in spec order

// A group's output row before and after one change; absent when the group did not exist
// before / no longer exists after (its last row was retracted).
struct GroupChange {
  std::optional<AggregateRow> before;
  std::optional<AggregateRow> after;
  bool changed() const;  // false when the view's row is unchanged (emit nothing)
};

// Same nullness, type and PostgreSQL text form for every column (so 1.5 -> 1.50 and
// 0 -> -0 count as changes, as a sink would see them).
bool SameRow(const std::optional<AggregateRow>& a, const std::optional<AggregateRow>& b);

// The aggregates of one GROUP BY operator. Holds no group in memory. Not thread-safe: used
// by the view's writer thread.
class GroupState {
 public:
  // `store` must outlive this. `key_prefix` separates operators that share one store.
  static Result<std::unique_ptr<GroupState>> Create(const state::ViewStateStore* store,
                                                    std::vector<AggregateSpec> aggregates,
                                                    std::string key_prefix = "");

  // Applies one input row with `weight` (non-zero; +1 insert, -1 retract) to its group.
  // `inputs` has one entry per aggregate. Retracting more rows (or values) than the group
  // holds is DataLoss naming the group key. On any error nothing is written to `batch`.
  // Overflow of a result ("bigint out of range", "value out of range: overflow") is
  // reported by the Apply() that causes it.
  // Without `want_before` the change's `before` is an empty row when the group existed
  // (the caller knows the row already).
  Result<GroupChange> Apply(state::StateBatch& batch, std::span<const Value> group_key,
                            std::span<const AggregateInput> inputs, int64_t weight,
                            bool want_before = true);
  // Moves one input row within its group (an UPDATE that keeps the group key): the same as
  // Apply(old, -1) then Apply(new, +1), in one read and one write of the group, and
  // aggregates whose input did not change are not touched. The group must exist.
  Result<GroupChange> Update(state::StateBatch& batch, std::span<const Value> group_key,
                             std::span<const AggregateInput> old_inputs,
                             std::span<const AggregateInput> new_inputs, bool want_before = true);

  // The group's current row (nullopt when the group does not exist), seeing `batch`.
  Result<std::optional<AggregateRow>> Lookup(std::span<const Value> group_key,
                                             const state::StateBatch* batch = nullptr) const;

  const std::vector<AggregateSpec>& aggregates() const { return specs_; }
  const std::vector<SqlType>& result_types() const { return result_types_; }

 private:
  GroupState() = default;
  struct Pending;
  Status Load(state::StateBatch& batch, std::span<const Value> group_key, bool want_before,
              Pending* p) const;
  Status ApplyOne(state::StateBatch& batch, size_t i, const AggregateInput& in, int64_t weight,
                  Pending* p) const;
  Status Store(state::StateBatch& batch, Pending* p) const;

  const state::ViewStateStore* store_ = nullptr;
  std::vector<AggregateSpec> specs_;
  std::vector<SqlType> result_types_;
  std::string prefix_;
};

}  // namespace walflow::sql
