#include "sql/aggregate.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>
#include <string_view>
#include <utility>

#include "sql/key_encoding.h"

namespace walflow::sql {

using state::Family;
using state::StateBatch;
using state::ViewStateStore;

const char* AggregateName(AggregateKind kind) {
  switch (kind) {
    case AggregateKind::kCountStar:
    case AggregateKind::kCount:
    case AggregateKind::kCountDistinct: return "count";
    case AggregateKind::kSum: return "sum";
    case AggregateKind::kAvg: return "avg";
    case AggregateKind::kMin: return "min";
    case AggregateKind::kMax: return "max";
    case AggregateKind::kBoolAnd: return "bool_and";
    case AggregateKind::kBoolOr: return "bool_or";
  }
  return "?";
}

namespace {

// How sum/avg keep their argument: a 128-bit integer, an exact numeric with its display
// scales, or the exact value of doubles.
enum class SumClass { kInteger, kNumeric, kFloat };

bool SumClassOf(SqlType t, SumClass* out) {
  if (IsIntegerType(t)) {
    *out = SumClass::kInteger;
  } else if (t == SqlType::kNumeric) {
    *out = SumClass::kNumeric;
  } else if (IsFloatType(t)) {
    *out = SumClass::kFloat;
  } else {
    return false;
  }
  return true;
}

SumClass SumClassOrDie(SqlType t) {
  SumClass c = SumClass::kInteger;
  SumClassOf(t, &c);
  return c;
}

// The state of one aggregate in one group; each kind uses some of the fields.
struct AggState {
  uint64_t n = 0;  // rows seen (count, sum, avg, min/max) or distinct values
  uint64_t trues = 0, falses = 0;
  __int128 int_sum = 0;
  Decimal sum;  // finite numeric sum, or the exact sum of finite doubles
  uint64_t nans = 0, pinfs = 0, ninfs = 0;
  std::vector<std::pair<uint64_t, uint64_t>> scales;  // numeric display scale -> rows
  std::string extreme;                                // min/max: key encoding, "" if none
  uint64_t extreme_scale = 0;
};

struct Group {
  uint64_t rows = 0;
  std::vector<AggState> aggs;
};

// ---- bytes -------------------------------------------------------------------------------

void PutVarint(std::string* out, unsigned __int128 v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

bool GetVarint128(std::string_view* in, unsigned __int128* v) {
  *v = 0;
  for (int shift = 0; shift < 128 && !in->empty(); shift += 7) {
    auto b = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    *v |= static_cast<unsigned __int128>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

bool GetVarint(std::string_view* in, uint64_t* v) {
  unsigned __int128 wide = 0;
  if (!GetVarint128(in, &wide) || wide > std::numeric_limits<uint64_t>::max()) return false;
  *v = static_cast<uint64_t>(wide);
  return true;
}

void PutInt128(std::string* out, __int128 v) {
  auto u = static_cast<unsigned __int128>(v);
  PutVarint(out, (u << 1) ^ static_cast<unsigned __int128>(v >> 127));  // zigzag
}

bool GetInt128(std::string_view* in, __int128* v) {
  unsigned __int128 z = 0;
  if (!GetVarint128(in, &z)) return false;
  *v = static_cast<__int128>((z >> 1) ^ (~(z & 1) + 1));
  return true;
}

void PutBytes(std::string* out, std::string_view bytes) {
  PutVarint(out, bytes.size());
  out->append(bytes);
}

bool GetBytes(std::string_view* in, std::string* out) {
  uint64_t len = 0;
  if (!GetVarint(in, &len) || len > in->size()) return false;
  out->assign(in->substr(0, len));
  in->remove_prefix(len);
  return true;
}

void PutDecimal(std::string* out, const Decimal& d) {
  std::string enc;
  KeyEncoder().Append(Value::Numeric(d), &enc);
  PutBytes(out, enc);
}

bool GetDecimal(std::string_view* in, Decimal* d) {
  std::string enc;
  if (!GetBytes(in, &enc)) return false;
  std::string_view view(enc);
  auto v = KeyEncoder().DecodeOne(SqlType::kNumeric, &view);
  if (!v.ok() || !view.empty() || v->is_null()) return false;
  *d = v->numeric_value();
  return true;
}

// ---- group state format (version 1, see the header) ---------------------------------------

std::string SerializeGroup(const std::vector<AggregateSpec>& specs, const Group& g) {
  std::string out;
  out.push_back(static_cast<char>(kGroupStateVersion));
  PutVarint(&out, g.rows);
  PutVarint(&out, specs.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    const AggregateSpec& spec = specs[i];
    const AggState& s = g.aggs[i];
    out.push_back(static_cast<char>(spec.kind));
    switch (spec.kind) {
      case AggregateKind::kCountStar:
      case AggregateKind::kCount:
      case AggregateKind::kCountDistinct: PutVarint(&out, s.n); break;
      case AggregateKind::kBoolAnd:
      case AggregateKind::kBoolOr:
        PutVarint(&out, s.trues);
        PutVarint(&out, s.falses);
        break;
      case AggregateKind::kSum:
      case AggregateKind::kAvg: {
        PutVarint(&out, s.n);
        SumClass c = SumClassOrDie(spec.arg_type);
        if (c == SumClass::kInteger) {
          PutInt128(&out, s.int_sum);
          break;
        }
        PutVarint(&out, s.nans);
        PutVarint(&out, s.pinfs);
        PutVarint(&out, s.ninfs);
        PutDecimal(&out, s.sum);
        if (c == SumClass::kNumeric) {
          PutVarint(&out, s.scales.size());
          for (const auto& [scale, rows] : s.scales) {
            PutVarint(&out, scale);
            PutVarint(&out, rows);
          }
        }
        break;
      }
      case AggregateKind::kMin:
      case AggregateKind::kMax:
        PutVarint(&out, s.n);
        if (s.n > 0) {
          PutBytes(&out, s.extreme);
          PutVarint(&out, s.extreme_scale);
        }
        break;
    }
  }
  return out;
}

bool ParseAggState(const AggregateSpec& spec, std::string_view* in, AggState* s) {
  switch (spec.kind) {
    case AggregateKind::kCountStar:
    case AggregateKind::kCount:
    case AggregateKind::kCountDistinct: return GetVarint(in, &s->n);
    case AggregateKind::kBoolAnd:
    case AggregateKind::kBoolOr: return GetVarint(in, &s->trues) && GetVarint(in, &s->falses);
    case AggregateKind::kSum:
    case AggregateKind::kAvg: {
      if (!GetVarint(in, &s->n)) return false;
      SumClass c = SumClassOrDie(spec.arg_type);
      if (c == SumClass::kInteger) return GetInt128(in, &s->int_sum);
      if (!GetVarint(in, &s->nans) || !GetVarint(in, &s->pinfs) || !GetVarint(in, &s->ninfs) ||
          !GetDecimal(in, &s->sum)) {
        return false;
      }
      if (c == SumClass::kFloat) return true;
      uint64_t k = 0;
      if (!GetVarint(in, &k) || k > in->size()) return false;
      s->scales.resize(k);
      for (auto& [scale, rows] : s->scales) {
        if (!GetVarint(in, &scale) || !GetVarint(in, &rows)) return false;
      }
      return true;
    }
    case AggregateKind::kMin:
    case AggregateKind::kMax:
      if (!GetVarint(in, &s->n)) return false;
      return s->n == 0 || (GetBytes(in, &s->extreme) && GetVarint(in, &s->extreme_scale));
  }
  return false;
}

Result<Group> ParseGroup(const std::vector<AggregateSpec>& specs, std::string_view in) {
  auto corrupt = [&](const char* what) {
    return DataLoss(std::string("group state: ") + what +
                    " (the view's state does not match its SQL; rebuild the view)");
  };
  if (in.empty() || static_cast<uint8_t>(in.front()) != kGroupStateVersion) {
    return corrupt("unknown format version");
  }
  in.remove_prefix(1);
  Group g;
  uint64_t count = 0;
  if (!GetVarint(&in, &g.rows) || !GetVarint(&in, &count)) return corrupt("truncated header");
  if (count != specs.size()) return corrupt("aggregate count differs");
  g.aggs.resize(specs.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    if (in.empty() || static_cast<uint8_t>(in.front()) != static_cast<uint8_t>(specs[i].kind)) {
      return corrupt("aggregate kind differs");
    }
    in.remove_prefix(1);
    if (!ParseAggState(specs[i], &in, &g.aggs[i])) return corrupt("truncated aggregate");
  }
  if (!in.empty()) return corrupt("bytes left over");
  return g;
}

// ---- arithmetic ---------------------------------------------------------------------------

Status NotHeld(const char* what) {
  return DataLoss(std::string("retraction of ") + what + " the group does not hold");
}

// Adds a weight to a non-negative count; going below zero is a retraction of rows that
// were never inserted.
Status AddCount(uint64_t* count, int64_t weight, const char* what) {
  if (weight < 0) {
    uint64_t d = static_cast<uint64_t>(-(weight + 1)) + 1;
    if (*count < d) return NotHeld(what);
    *count -= d;
  } else {
    if (*count > std::numeric_limits<uint64_t>::max() - static_cast<uint64_t>(weight)) {
      return Internal("aggregate count overflows 64 bits");
    }
    *count += static_cast<uint64_t>(weight);
  }
  return Status::OK();
}

Decimal Int128ToDecimal(__int128 v) {
  if (v >= std::numeric_limits<int64_t>::min() && v <= std::numeric_limits<int64_t>::max()) {
    return Decimal(static_cast<int64_t>(v));
  }
  bool negative = v < 0;
  auto u = negative ? ~static_cast<unsigned __int128>(v) + 1 : static_cast<unsigned __int128>(v);
  std::string digits;
  while (u > 0) {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(u % 10)));
    u /= 10;
  }
  if (negative) digits.insert(digits.begin(), '-');
  return *Decimal::Parse(digits);
}

Result<Decimal> Power(Decimal base, int exponent) {
  Decimal result(1);
  while (exponent > 0) {
    if (exponent & 1) {
      WF_ASSIGN_OR_RETURN(result, Decimal::Mul(result, base));
    }
    exponent >>= 1;
    if (exponent > 0) {
      WF_ASSIGN_OR_RETURN(base, Decimal::Mul(base, base));
    }
  }
  return result;
}

// The exact value of a finite double: m * 2^e as a decimal (at most 1074 digits after the
// point).
Result<Decimal> ExactDecimal(double v) {
  if (v == 0) return Decimal();
  int exponent = 0;
  double fraction = std::frexp(v, &exponent);
  auto mantissa = static_cast<int64_t>(std::ldexp(fraction, 53));
  exponent -= 53;
  while (mantissa % 2 == 0) {
    mantissa /= 2;
    ++exponent;
  }
  Decimal m(mantissa);
  if (exponent == 0) return m;
  static const Decimal kHalf = *Decimal::Parse("0.5");
  WF_ASSIGN_OR_RETURN(Decimal p,
                      exponent > 0 ? Power(Decimal(2), exponent) : Power(kHalf, -exponent));
  return Decimal::Mul(m, p);
}

Result<Decimal> Weighted(const Decimal& d, int64_t weight) {
  if (weight == 1) return d;
  if (weight == -1) return d.Negate();
  return Decimal::Mul(d, Decimal(weight));
}

Status AddScale(std::vector<std::pair<uint64_t, uint64_t>>* scales, uint64_t scale,
                int64_t weight) {
  for (auto it = scales->begin(); it != scales->end(); ++it) {
    if (it->first != scale) continue;
    WF_RETURN_IF_ERROR(AddCount(&it->second, weight, "a value"));
    if (it->second == 0) scales->erase(it);
    return Status::OK();
  }
  if (weight < 0) return NotHeld("a value");
  scales->emplace_back(scale, static_cast<uint64_t>(weight));
  return Status::OK();
}

Status ApplySum(const AggregateSpec& spec, const Value& v, int64_t weight, AggState* s) {
  WF_RETURN_IF_ERROR(AddCount(&s->n, weight, "a value"));
  switch (SumClassOrDie(spec.arg_type)) {
    case SumClass::kInteger: {
      __int128 product = static_cast<__int128>(v.int_value()) * weight;
      if (__builtin_add_overflow(s->int_sum, product, &s->int_sum)) {
        return InvalidArgument("bigint out of range");
      }
      return Status::OK();
    }
    case SumClass::kNumeric: {
      const Decimal& d = v.numeric_value();
      if (d.is_nan()) return AddCount(&s->nans, weight, "a NaN");
      if (d.kind() == Decimal::Kind::kPositiveInfinity) {
        return AddCount(&s->pinfs, weight, "an Infinity");
      }
      if (d.kind() == Decimal::Kind::kNegativeInfinity) {
        return AddCount(&s->ninfs, weight, "a -Infinity");
      }
      WF_RETURN_IF_ERROR(AddScale(&s->scales, static_cast<uint64_t>(d.scale()), weight));
      WF_ASSIGN_OR_RETURN(Decimal term, Weighted(d, weight));
      WF_ASSIGN_OR_RETURN(s->sum, Decimal::Add(s->sum, term));
      return Status::OK();
    }
    case SumClass::kFloat: {
      double d = v.float_value();
      if (std::isnan(d)) return AddCount(&s->nans, weight, "a NaN");
      if (std::isinf(d)) return AddCount(d > 0 ? &s->pinfs : &s->ninfs, weight, "an Infinity");
      WF_ASSIGN_OR_RETURN(Decimal exact, ExactDecimal(d));
      WF_ASSIGN_OR_RETURN(Decimal term, Weighted(exact, weight));
      WF_ASSIGN_OR_RETURN(s->sum, Decimal::Add(s->sum, term));
      return Status::OK();
    }
  }
  return Internal("unknown sum class");
}

// Max multisets store each value's key encoding with every bit flipped: the encodings are
// self-delimiting (none is a prefix of another), so this reverses their order and the max
// is the first key of the group's range, found with forward seeks only.
void Complement(std::string* bytes) {
  for (char& c : *bytes) c = static_cast<char>(~static_cast<unsigned char>(c));
}

// ---- output -------------------------------------------------------------------------------

// NaN, +Infinity or -Infinity when special values decide the sum, as PostgreSQL's numeric
// and float aggregates decide it.
std::optional<Decimal::Kind> SpecialSum(const AggState& s) {
  if (s.nans > 0 || (s.pinfs > 0 && s.ninfs > 0)) return Decimal::Kind::kNaN;
  if (s.pinfs > 0) return Decimal::Kind::kPositiveInfinity;
  if (s.ninfs > 0) return Decimal::Kind::kNegativeInfinity;
  return std::nullopt;
}

Result<Decimal> NumericSum(const AggState& s) {
  if (auto special = SpecialSum(s)) {
    if (*special == Decimal::Kind::kNaN) return Decimal::NaN();
    return Decimal::Infinity(*special == Decimal::Kind::kNegativeInfinity);
  }
  uint64_t scale = 0;
  for (const auto& entry : s.scales) scale = std::max(scale, entry.first);
  return s.sum.Round(static_cast<int32_t>(scale));
}

Result<double> FloatSum(const AggState& s) {
  if (auto special = SpecialSum(s)) {
    if (*special == Decimal::Kind::kNaN) return std::numeric_limits<double>::quiet_NaN();
    double inf = std::numeric_limits<double>::infinity();
    return *special == Decimal::Kind::kNegativeInfinity ? -inf : inf;
  }
  double d = s.sum.ToDouble();
  if (std::isinf(d)) return InvalidArgument("value out of range: overflow");
  return d;
}

bool Collated(const AggregateSpec& spec) {
  return spec.collation && spec.arg_type == SqlType::kText &&
         (spec.kind == AggregateKind::kMin || spec.kind == AggregateKind::kMax);
}

// A min/max or DISTINCT value's multiset key, before max complements it: the value's key
// encoding, after the collation's sort key when text is ordered under one.
std::string ValueKey(const AggregateSpec& spec, const Value& v) {
  std::string enc;
  if (Collated(spec))
    KeyEncoder().Append(Value::Text(spec.collation->SortKey(v.text_value())), &enc);
  KeyEncoder().Append(v, &enc);
  return enc;
}

Result<Value> Extreme(const AggregateSpec& spec, const AggState& s) {
  std::string bytes = s.extreme;
  if (spec.kind == AggregateKind::kMax) Complement(&bytes);
  std::string_view in(bytes);
  if (Collated(spec)) WF_RETURN_IF_ERROR(KeyEncoder().DecodeOne(SqlType::kText, &in).status());
  WF_ASSIGN_OR_RETURN(Value v, KeyEncoder().DecodeOne(spec.arg_type, &in));
  if (!in.empty()) return DataLoss("group state: bytes left over in a min/max value");
  if (v.type() == SqlType::kNumeric && v.numeric_value().is_finite()) {
    return Value::Numeric(v.numeric_value().Round(static_cast<int32_t>(s.extreme_scale)));
  }
  return v;
}

Result<Value> Finalize(const AggregateSpec& spec, SqlType result, const AggState& s) {
  switch (spec.kind) {
    case AggregateKind::kCountStar:
    case AggregateKind::kCount:
    case AggregateKind::kCountDistinct: return Value::Int8(static_cast<int64_t>(s.n));
    case AggregateKind::kBoolAnd:
      if (s.trues + s.falses == 0) return Value::Null(SqlType::kBool);
      return Value::Bool(s.falses == 0);
    case AggregateKind::kBoolOr:
      if (s.trues + s.falses == 0) return Value::Null(SqlType::kBool);
      return Value::Bool(s.trues > 0);
    case AggregateKind::kMin:
    case AggregateKind::kMax:
      if (s.n == 0) return Value::Null(result);
      return Extreme(spec, s);
    case AggregateKind::kSum:
    case AggregateKind::kAvg: break;
  }
  if (s.n == 0) return Value::Null(result);
  bool avg = spec.kind == AggregateKind::kAvg;
  switch (SumClassOrDie(spec.arg_type)) {
    case SumClass::kInteger:
      if (avg) {
        WF_ASSIGN_OR_RETURN(Decimal mean,
                            Decimal::Avg(Int128ToDecimal(s.int_sum), static_cast<int64_t>(s.n)));
        return Value::Numeric(std::move(mean));
      }
      if (result == SqlType::kNumeric) return Value::Numeric(Int128ToDecimal(s.int_sum));
      if (s.int_sum < std::numeric_limits<int64_t>::min() ||
          s.int_sum > std::numeric_limits<int64_t>::max()) {
        return InvalidArgument("bigint out of range");
      }
      return Value::Int8(static_cast<int64_t>(s.int_sum));
    case SumClass::kNumeric: {
      WF_ASSIGN_OR_RETURN(Decimal sum, NumericSum(s));
      if (!avg) return Value::Numeric(std::move(sum));
      WF_ASSIGN_OR_RETURN(Decimal mean, Decimal::Avg(sum, static_cast<int64_t>(s.n)));
      return Value::Numeric(std::move(mean));
    }
    case SumClass::kFloat: {
      WF_ASSIGN_OR_RETURN(double sum, FloatSum(s));
      if (avg) return Value::Float8(sum / static_cast<double>(s.n));
      if (result == SqlType::kFloat4) {
        if (std::isfinite(sum) && std::fabs(sum) > FLT_MAX) {
          return InvalidArgument("value out of range: overflow");
        }
        return Value::Float4(static_cast<float>(sum));
      }
      return Value::Float8(sum);
    }
  }
  return Internal("unknown sum class");
}

Result<AggregateRow> FinalizeGroup(const std::vector<AggregateSpec>& specs,
                                   const std::vector<SqlType>& types, const Group& g) {
  AggregateRow row;
  row.reserve(specs.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    WF_ASSIGN_OR_RETURN(Value v, Finalize(specs[i], types[i], g.aggs[i]));
    row.push_back(std::move(v));
  }
  return row;
}

std::string GroupKeyText(std::span<const Value> key) {
  std::string out = "(";
  for (size_t i = 0; i < key.size(); ++i) {
    if (i > 0) out += ", ";
    out += key[i].is_null() ? "NULL" : key[i].ToString();
  }
  return out + ")";
}

bool ArgTypeFits(SqlType declared, SqlType actual) {
  return declared == actual || (IsIntegerType(declared) && IsIntegerType(actual)) ||
         (IsFloatType(declared) && IsFloatType(actual));
}

// One write to the multisets family, made only once the whole change succeeded.
struct PendingWrite {
  std::string key;
  std::optional<std::string> value;  // nullopt: delete
};

// Applies one value to a min/max or count(DISTINCT) multiset under `sub` (the group key and
// the aggregate's index).
class MultisetUpdate {
 public:
  MultisetUpdate(const ViewStateStore& store, const StateBatch& batch, std::string sub)
      : store_(store), batch_(batch), sub_(std::move(sub)) {}

  Status Apply(const AggregateSpec& spec, const Value& v, int64_t weight, AggState* s,
               std::vector<PendingWrite>* writes) {
    bool numeric = spec.arg_type == SqlType::kNumeric;
    std::string enc = ValueKey(spec, v);
    if (spec.kind == AggregateKind::kMax) Complement(&enc);
    std::string key = sub_ + enc;
    // An earlier value of this change may have written the entry (an UPDATE from 1.5 to
    // 1.50 retracts and inserts one key): its pending write is the entry's value.
    std::optional<std::string> entry;
    auto pending = std::find_if(writes->rbegin(), writes->rend(),
                                [&](const PendingWrite& w) { return w.key == key; });
    if (pending != writes->rend()) {
      entry = pending->value;
    } else {
      WF_ASSIGN_OR_RETURN(entry, store_.Get(Family::kMultisets, key, &batch_));
    }
    uint64_t count = 0;
    uint64_t scale = numeric && v.numeric_value().is_finite() ? v.numeric_value().scale() : 0;
    if (entry) WF_RETURN_IF_ERROR(ParseEntry(*entry, numeric, &count, &scale));
    uint64_t old = count;
    WF_RETURN_IF_ERROR(AddCount(&count, weight, "a value"));
    if (count == 0) {
      writes->push_back({key, std::nullopt});
    } else {
      std::string value;
      PutVarint(&value, count);
      if (numeric) PutVarint(&value, scale);
      writes->push_back({key, std::move(value)});
    }
    if (spec.kind == AggregateKind::kCountDistinct) {
      if (old == 0 && count > 0) ++s->n;
      if (old > 0 && count == 0) --s->n;
      return Status::OK();
    }
    WF_RETURN_IF_ERROR(AddCount(&s->n, weight, "a value"));
    // For max the keys are complemented, so in both cases the extreme is the first key.
    if (old == 0 && count > 0 && (s->extreme.empty() || enc < s->extreme)) {
      s->extreme = enc;
      s->extreme_scale = scale;
    } else if (count == 0 && enc == s->extreme) {
      WF_RETURN_IF_ERROR(FindNext(key, numeric, s));
    }
    if (s->n == 0) s->extreme.clear();
    return Status::OK();
  }

 private:
  static Status ParseEntry(std::string_view in, bool numeric, uint64_t* count, uint64_t* scale) {
    if (!GetVarint(&in, count) || (numeric && !GetVarint(&in, scale)) || !in.empty()) {
      return DataLoss("multiset entry is corrupt (rebuild the view)");
    }
    return Status::OK();
  }

  // The current extreme `gone` (still in the store; its deletion is pending) was removed:
  // the next one is one seek away.
  Status FindNext(const std::string& gone, bool numeric, AggState* s) {
    auto it = store_.ScanPrefix(Family::kMultisets, sub_, &batch_);
    it->SeekToFirst();
    if (it->Valid() && it->key() == gone) it->Next();
    WF_RETURN_IF_ERROR(it->status());
    if (!it->Valid()) {
      s->extreme.clear();
      if (s->n != 0) return DataLoss("min/max multiset is empty but the group counts values");
      return Status::OK();
    }
    uint64_t count = 0, scale = 0;
    WF_RETURN_IF_ERROR(ParseEntry(it->value(), numeric, &count, &scale));
    s->extreme.assign(it->key().substr(sub_.size()));
    s->extreme_scale = scale;
    return Status::OK();
  }

  const ViewStateStore& store_;
  const StateBatch& batch_;
  std::string sub_;
};

std::string SubPrefix(const std::string& group_key, size_t index) {
  std::string sub = group_key;
  sub.push_back(static_cast<char>((index >> 8) & 0xff));
  sub.push_back(static_cast<char>(index & 0xff));
  return sub;
}

}  // namespace

Result<SqlType> AggregateResultType(const AggregateSpec& spec) {
  auto unsupported = [&] {
    return InvalidArgument(std::string("function ") + AggregateName(spec.kind) + "(" +
                           SqlTypeName(spec.arg_type) + ") does not exist");
  };
  switch (spec.kind) {
    case AggregateKind::kCountStar:
    case AggregateKind::kCount:
    case AggregateKind::kCountDistinct: return SqlType::kInt8;
    case AggregateKind::kMin:
    case AggregateKind::kMax:
      if (spec.arg_type == SqlType::kJsonb) return unsupported();
      return spec.arg_type;
    case AggregateKind::kBoolAnd:
    case AggregateKind::kBoolOr:
      if (spec.arg_type != SqlType::kBool) return unsupported();
      return SqlType::kBool;
    case AggregateKind::kSum:
    case AggregateKind::kAvg: break;
  }
  SumClass c;
  if (!SumClassOf(spec.arg_type, &c)) return unsupported();
  if (spec.kind == AggregateKind::kAvg) {
    return c == SumClass::kFloat ? SqlType::kFloat8 : SqlType::kNumeric;
  }
  switch (spec.arg_type) {
    case SqlType::kInt2:
    case SqlType::kInt4: return SqlType::kInt8;
    case SqlType::kInt8: return SqlType::kNumeric;
    default: return spec.arg_type;  // numeric, float4, float8
  }
}

bool SameRow(const std::optional<AggregateRow>& a, const std::optional<AggregateRow>& b) {
  if (a.has_value() != b.has_value()) return false;
  if (!a) return true;
  if (a->size() != b->size()) return false;
  for (size_t i = 0; i < a->size(); ++i) {
    const Value& x = (*a)[i];
    const Value& y = (*b)[i];
    if (x.is_null() != y.is_null() || x.type() != y.type()) return false;
    if (!x.is_null() && x.ToString() != y.ToString()) return false;
  }
  return true;
}

bool GroupChange::changed() const { return !SameRow(before, after); }

Result<std::unique_ptr<GroupState>> GroupState::Create(const ViewStateStore* store,
                                                       std::vector<AggregateSpec> aggregates,
                                                       std::string key_prefix) {
  if (aggregates.size() > 0xffff) return InvalidArgument("too many aggregates in one view");
  std::unique_ptr<GroupState> gs(new GroupState());
  for (const AggregateSpec& spec : aggregates) {
    WF_ASSIGN_OR_RETURN(SqlType type, AggregateResultType(spec));
    gs->result_types_.push_back(type);
  }
  gs->store_ = store;
  gs->specs_ = std::move(aggregates);
  gs->prefix_ = std::move(key_prefix);
  return gs;
}

namespace {

// Whether moving a row from input `a` to input `b` leaves the aggregate as it was: it sees
// both or neither, with the same value, down to the text (a numeric's display scale and a
// float's -0 show in sums and in min/max, so 1.5 and 1.50 differ). A numeric min/max or
// DISTINCT is always moved: its multiset entry keeps the display scale of the row that
// created it, which a retraction and insertion of the only row with that value renews.
bool SameInput(AggregateKind kind, const AggregateInput& a, const AggregateInput& b) {
  if (a.filter != b.filter) return false;
  if (!a.filter || kind == AggregateKind::kCountStar) return true;
  if (a.arg.is_null() || b.arg.is_null()) return a.arg.is_null() == b.arg.is_null();
  if (a.arg.type() != b.arg.type() || Value::Compare(a.arg, b.arg) != 0) return false;
  switch (a.arg.type()) {
    case SqlType::kNumeric:
      if (kind == AggregateKind::kMin || kind == AggregateKind::kMax ||
          kind == AggregateKind::kCountDistinct) {
        return false;
      }
      return a.arg.ToString() == b.arg.ToString();
    case SqlType::kFloat4:
    case SqlType::kFloat8: return a.arg.ToString() == b.arg.ToString();
    default: return true;
  }
}

}  // namespace

// One group's state while a change is applied to it.
struct GroupState::Pending {
  std::string key;  // prefix + the group key's encoding
  Group group;
  GroupChange change;
  std::vector<PendingWrite> writes;  // multiset entries
};

Status GroupState::Load(StateBatch& batch, std::span<const Value> group_key, bool want_before,
                        Pending* p) const {
  p->key = prefix_ + KeyEncoder().Encode(group_key);
  WF_ASSIGN_OR_RETURN(auto stored, store_->Get(Family::kGroups, p->key, &batch));
  p->group.aggs.resize(specs_.size());
  if (!stored) return Status::OK();
  WF_ASSIGN_OR_RETURN(p->group, ParseGroup(specs_, *stored));
  if (want_before) {
    WF_ASSIGN_OR_RETURN(AggregateRow before, FinalizeGroup(specs_, result_types_, p->group));
    p->change.before = std::move(before);
  } else {
    p->change.before.emplace();  // the group existed; its row was not asked for
  }
  return Status::OK();
}

Status GroupState::ApplyOne(StateBatch& batch, size_t i, const AggregateInput& in, int64_t weight,
                            Pending* p) const {
  const AggregateSpec& spec = specs_[i];
  if (!in.filter) return Status::OK();
  AggState* s = &p->group.aggs[i];
  if (spec.kind == AggregateKind::kCountStar) return AddCount(&s->n, weight, "a row");
  if (in.arg.is_null()) return Status::OK();
  if (!ArgTypeFits(spec.arg_type, in.arg.type())) {
    return Internal(std::string("aggregate ") + AggregateName(spec.kind) + " got a " +
                    SqlTypeName(in.arg.type()) + " for a " + SqlTypeName(spec.arg_type));
  }
  switch (spec.kind) {
    case AggregateKind::kCountStar: break;
    case AggregateKind::kCount: return AddCount(&s->n, weight, "a value");
    case AggregateKind::kBoolAnd:
    case AggregateKind::kBoolOr:
      return AddCount(in.arg.bool_value() ? &s->trues : &s->falses, weight, "a value");
    case AggregateKind::kSum:
    case AggregateKind::kAvg: return ApplySum(spec, in.arg, weight, s);
    case AggregateKind::kMin:
    case AggregateKind::kMax:
    case AggregateKind::kCountDistinct:
      return MultisetUpdate(*store_, batch, SubPrefix(p->key, i))
          .Apply(spec, in.arg, weight, s, &p->writes);
  }
  return Status::OK();
}

Status GroupState::Store(StateBatch& batch, Pending* p) const {
  const Group& g = p->group;
  if (g.rows == 0) {
    for (size_t i = 0; i < specs_.size(); ++i) {
      const AggState& s = g.aggs[i];
      if (s.n != 0 || s.trues != 0 || s.falses != 0) {
        return DataLoss("the group's last row was retracted but " +
                        std::string(AggregateName(specs_[i].kind)) +
                        " still holds values (a retraction differs from its insert)");
      }
    }
    batch.Delete(Family::kGroups, p->key);
  } else {
    WF_ASSIGN_OR_RETURN(AggregateRow after, FinalizeGroup(specs_, result_types_, g));
    p->change.after = std::move(after);
    batch.Put(Family::kGroups, p->key, SerializeGroup(specs_, g));
  }
  for (const PendingWrite& w : p->writes) {
    if (w.value) {
      batch.Put(Family::kMultisets, w.key, *w.value);
    } else {
      batch.Delete(Family::kMultisets, w.key);
    }
  }
  return Status::OK();
}

Result<GroupChange> GroupState::Apply(StateBatch& batch, std::span<const Value> group_key,
                                      std::span<const AggregateInput> inputs, int64_t weight,
                                      bool want_before) {
  if (inputs.size() != specs_.size()) {
    return Internal("aggregate inputs: " + std::to_string(inputs.size()) + " given, " +
                    std::to_string(specs_.size()) + " expected");
  }
  if (weight == 0) return Internal("aggregate change with weight 0");
  auto in_group = [&](const Status& st) {
    return st.WithContext("group " + GroupKeyText(group_key));
  };
  Pending p;
  Status st = Load(batch, group_key, want_before, &p);
  if (st.ok()) st = AddCount(&p.group.rows, weight, "a row");
  for (size_t i = 0; i < specs_.size() && st.ok(); ++i) {
    st = ApplyOne(batch, i, inputs[i], weight, &p);
  }
  if (st.ok()) st = Store(batch, &p);
  if (!st.ok()) return in_group(st);
  return std::move(p.change);
}

Result<GroupChange> GroupState::Update(StateBatch& batch, std::span<const Value> group_key,
                                       std::span<const AggregateInput> old_inputs,
                                       std::span<const AggregateInput> new_inputs,
                                       bool want_before) {
  if (old_inputs.size() != specs_.size() || new_inputs.size() != specs_.size()) {
    return Internal("aggregate inputs: " + std::to_string(old_inputs.size()) + " and " +
                    std::to_string(new_inputs.size()) + " given, " + std::to_string(specs_.size()) +
                    " expected");
  }
  auto in_group = [&](const Status& st) {
    return st.WithContext("group " + GroupKeyText(group_key));
  };
  Pending p;
  Status st = Load(batch, group_key, want_before, &p);
  if (st.ok() && p.group.rows == 0) st = NotHeld("a row");
  // Per aggregate: the old input out, the new one in (the group's row count stays).
  for (size_t i = 0; i < specs_.size() && st.ok(); ++i) {
    if (SameInput(specs_[i].kind, old_inputs[i], new_inputs[i])) continue;
    st = ApplyOne(batch, i, old_inputs[i], -1, &p);
    if (st.ok()) st = ApplyOne(batch, i, new_inputs[i], +1, &p);
  }
  if (st.ok()) st = Store(batch, &p);
  if (!st.ok()) return in_group(st);
  return std::move(p.change);
}

Result<std::optional<AggregateRow>> GroupState::Lookup(std::span<const Value> group_key,
                                                       const StateBatch* batch) const {
  std::string gk = prefix_ + KeyEncoder().Encode(group_key);
  WF_ASSIGN_OR_RETURN(auto stored, store_->Get(Family::kGroups, gk, batch));
  if (!stored) return std::optional<AggregateRow>();
  WF_ASSIGN_OR_RETURN(Group g, ParseGroup(specs_, *stored));
  WF_ASSIGN_OR_RETURN(AggregateRow row, FinalizeGroup(specs_, result_types_, g));
  return std::optional<AggregateRow>(std::move(row));
}

}  // namespace walflow::sql
