#include "sql/evaluator.h"

#include <cmath>
#include <string>

#include "sql/datetime.h"

namespace walflow::sql {
namespace {

using Kind = BoundExpr::Kind;

class Evaluator {
 public:
  explicit Evaluator(Row row) : row_(row) {}

  // A reference to the child's value: the row's or the constant's own when it is one, else
  // evaluated into *scratch (so column and constant operands are not copied).
  Result<const Value*> Ref(const BoundExpr& e, Value* scratch) {
    if (e.kind == Kind::kColumn) return &row_[e.column];
    if (e.kind == Kind::kConstant) return &e.constant;
    WF_ASSIGN_OR_RETURN(*scratch, Eval(e));
    return scratch;
  }

  Result<Value> Eval(const BoundExpr& e);

 private:
  Result<Value> Arithmetic(const BoundExpr& e);
  Result<Value> Compare(const BoundExpr& e);
  Result<Value> Logical(const BoundExpr& e);
  Result<Value> In(const BoundExpr& e);
  Result<Value> Case(const BoundExpr& e);
  Result<Value> Conditional(const BoundExpr& e);
  Result<Value> Function(const BoundExpr& e);

  Row row_;
};

// PostgreSQL compares a float with another number as float8, and numbers of other types
// exactly; Value::Compare does the latter.
int CompareValues(const Value& a, const Value& b) {
  if ((IsFloatType(a.type()) || IsFloatType(b.type())) && a.type() != b.type()) {
    auto as_double = [](const Value& v) {
      if (IsFloatType(v.type())) return v.float_value();
      if (v.type() == SqlType::kNumeric) return v.numeric_value().ToDouble();
      return static_cast<double>(v.int_value());
    };
    return Value::Compare(Value::Float8(as_double(a)), Value::Float8(as_double(b)));
  }
  return Value::Compare(a, b);
}

bool CompareResult(BinaryOperator op, int c) {
  switch (op) {
    case BinaryOperator::kEqual: return c == 0;
    case BinaryOperator::kNotEqual: return c != 0;
    case BinaryOperator::kLess: return c < 0;
    case BinaryOperator::kLessEqual: return c <= 0;
    case BinaryOperator::kGreater: return c > 0;
    case BinaryOperator::kGreaterEqual: return c >= 0;
    default: return false;
  }
}

// UTF-8 code point boundaries: byte offset of character `n` (0-based), clamped to size.
size_t CharOffset(std::string_view s, int64_t n) {
  size_t i = 0;
  while (i < s.size() && n > 0) {
    ++i;
    while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
    --n;
  }
  return i;
}
int64_t CharLength(std::string_view s) {
  int64_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

char FoldAscii(char c, bool fold) { return fold && c >= 'A' && c <= 'Z' ? c + 32 : c; }

bool LikeAt(std::string_view t, std::string_view p, bool fold) {
  size_t ti = 0, pi = 0;
  while (pi < p.size()) {
    char pc = p[pi];
    if (pc == '%') {
      while (pi < p.size() && p[pi] == '%') ++pi;
      if (pi == p.size()) return true;
      for (size_t k = ti; k <= t.size(); ++k) {
        // Only start at character boundaries.
        if (k < t.size() && (static_cast<unsigned char>(t[k]) & 0xC0) == 0x80) continue;
        if (LikeAt(t.substr(k), p.substr(pi), fold)) return true;
      }
      return false;
    }
    if (ti >= t.size()) return false;
    if (pc == '_') {
      ti = ti + CharOffset(t.substr(ti), 1);
      ++pi;
      continue;
    }
    if (pc == '\\' && pi + 1 < p.size()) pc = p[++pi];
    if (FoldAscii(t[ti], fold) != FoldAscii(pc, fold)) return false;
    ++ti;
    ++pi;
  }
  return ti == t.size();
}

Result<Value> IntegerResult(SqlType t, int64_t v) {
  if (t == SqlType::kInt2) {
    if (v < INT16_MIN || v > INT16_MAX) return InvalidArgument("smallint out of range");
    return Value::Int2(static_cast<int16_t>(v));
  }
  if (t == SqlType::kInt4) {
    if (v < INT32_MIN || v > INT32_MAX) return InvalidArgument("integer out of range");
    return Value::Int4(static_cast<int32_t>(v));
  }
  return Value::Int8(v);
}

Result<Value> CastToNumeric(const Value& v, int precision, int scale) {
  Decimal d;
  if (v.type() == SqlType::kNumeric) {
    d = v.numeric_value();
  } else if (v.type() == SqlType::kFloat4) {
    d = Decimal::FromFloat(static_cast<float>(v.float_value()));
  } else if (v.type() == SqlType::kFloat8) {
    d = Decimal::FromDouble(v.float_value());
  } else {
    d = Decimal(v.int_value());
  }
  if (precision >= 0) {
    if (!d.is_finite()) {
      if (!d.is_nan()) return InvalidArgument("numeric field overflow");
    } else {
      d = d.Round(scale);
      // At most precision - scale digits before the point.
      Decimal limit(1);
      int digits = precision - scale;
      Decimal ten(10);
      for (int i = 0; i < digits; ++i) limit = *Decimal::Mul(limit, ten);
      if (Decimal::Compare(d.Abs(), limit) >= 0) {
        return InvalidArgument("numeric field overflow");
      }
    }
  }
  return Value::Numeric(std::move(d));
}

Status OutOfRange(SqlType t) {
  return InvalidArgument(t == SqlType::kInt2   ? "smallint out of range"
                         : t == SqlType::kInt4 ? "integer out of range"
                                               : "bigint out of range");
}

}  // namespace

Result<Value> ParseInput(SqlType type, std::string_view text) {
  if (type != SqlType::kBool) return Value::Parse(type, text);
  std::string s;
  for (char c : text) {
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
      s.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));
    }
  }
  // Leading and trailing spaces only: an inner space makes the text invalid.
  size_t b = text.find_first_not_of(" \t\n\r"), e = text.find_last_not_of(" \t\n\r");
  bool inner_space = b != std::string_view::npos && s.size() != e - b + 1;
  auto prefix_of = [&](std::string_view word, size_t min) {
    return s.size() >= min && s.size() <= word.size() && word.substr(0, s.size()) == s;
  };
  if (!inner_space) {
    if (prefix_of("true", 1) || prefix_of("yes", 1) || prefix_of("on", 2) || s == "1") {
      return Value::Bool(true);
    }
    if (prefix_of("false", 1) || prefix_of("no", 1) || prefix_of("off", 2) || s == "0") {
      return Value::Bool(false);
    }
  }
  return InvalidArgument("invalid input syntax for type boolean: \"" + std::string(text) + "\"");
}

Result<Value> CastValue(const Value& v, SqlType target, int numeric_precision, int numeric_scale) {
  if (v.is_null()) return Value::Null(target);
  SqlType from = v.type();
  if (from == target && numeric_precision < 0) return v;
  if (target == SqlType::kText) {
    if (from == SqlType::kBool) return Value::Text(v.bool_value() ? "true" : "false");
    return Value::Text(v.ToString());
  }
  if (from == SqlType::kText) {
    WF_ASSIGN_OR_RETURN(Value parsed, ParseInput(target, v.text_value()));
    if (target == SqlType::kNumeric && numeric_precision >= 0) {
      return CastToNumeric(parsed, numeric_precision, numeric_scale);
    }
    return parsed;
  }
  if (target == SqlType::kNumeric) return CastToNumeric(v, numeric_precision, numeric_scale);
  if (IsIntegerType(target)) {
    if (IsIntegerType(from)) return IntegerResult(target, v.int_value());
    if (from == SqlType::kBool) return Value::Int4(v.bool_value() ? 1 : 0);
    if (IsFloatType(from)) {
      double r = std::rint(v.float_value());
      // Exclusive upper bounds as doubles (2^15, 2^31, 2^63).
      double hi = target == SqlType::kInt2   ? 32768.0
                  : target == SqlType::kInt4 ? 2147483648.0
                                             : 9223372036854775808.0;
      if (std::isnan(r) || r < -hi || r >= hi) return OutOfRange(target);
      return IntegerResult(target, static_cast<int64_t>(r));
    }
    if (from == SqlType::kNumeric) {
      const Decimal& d = v.numeric_value();
      if (d.is_nan()) {
        return InvalidArgument(std::string("cannot convert NaN to ") + SqlTypeName(target));
      }
      if (!d.is_finite()) {
        return InvalidArgument(std::string("cannot convert infinity to ") + SqlTypeName(target));
      }
      Result<int64_t> i = d.ToInt64();
      if (!i.ok()) return OutOfRange(target);
      return IntegerResult(target, *i);
    }
  }
  if (IsFloatType(target)) {
    double d = IsFloatType(from)           ? v.float_value()
               : from == SqlType::kNumeric ? v.numeric_value().ToDouble()
                                           : static_cast<double>(v.int_value());
    if (target == SqlType::kFloat8) return Value::Float8(d);
    float f = static_cast<float>(d);
    if (std::isinf(f) && !std::isinf(d)) return InvalidArgument("value out of range: overflow");
    if (f == 0 && d != 0) return InvalidArgument("value out of range: underflow");
    return Value::Float4(f);
  }
  if (target == SqlType::kBool && IsIntegerType(from)) return Value::Bool(v.int_value() != 0);
  if (from == SqlType::kDate) {
    int64_t days = v.int_value();
    int64_t micros = days == kDateNegativeInfinity   ? kTimestampNegativeInfinity
                     : days == kDatePositiveInfinity ? kTimestampPositiveInfinity
                                                     : days * int64_t{86400000000};
    return target == SqlType::kTimestamp ? Value::Timestamp(micros) : Value::TimestampTz(micros);
  }
  if (from == SqlType::kTimestamp || from == SqlType::kTimestampTz) {
    int64_t t = v.int_value();
    if (target == SqlType::kDate) {
      if (t == kTimestampNegativeInfinity) return Value::Date(kDateNegativeInfinity);
      if (t == kTimestampPositiveInfinity) return Value::Date(kDatePositiveInfinity);
      int64_t day = int64_t{86400000000};
      int64_t q = t / day;
      if (t % day < 0) --q;
      return Value::Date(static_cast<int32_t>(q));
    }
    return target == SqlType::kTimestamp ? Value::Timestamp(t) : Value::TimestampTz(t);
  }
  return InvalidArgument(std::string("cannot cast type ") + SqlTypeName(from) + " to " +
                         SqlTypeName(target));
}

bool LikeMatch(std::string_view text, std::string_view pattern, bool case_insensitive) {
  return LikeAt(text, pattern, case_insensitive);
}

Result<Value> Evaluator::Eval(const BoundExpr& e) {
  switch (e.kind) {
    case Kind::kColumn: return row_[e.column];
    case Kind::kConstant: return e.constant;
    case Kind::kArithmetic: return Arithmetic(e);
    case Kind::kConcat: {
      Value sa, sb;
      WF_ASSIGN_OR_RETURN(const Value* a, Ref(e.children[0], &sa));
      WF_ASSIGN_OR_RETURN(const Value* b, Ref(e.children[1], &sb));
      if (a->is_null() || b->is_null()) return Value::Null(SqlType::kText);
      // text || anynonarray is $1 || $2::text: a boolean reads 'true', not its output 't'.
      std::string out;
      for (const Value* v : {a, b}) {
        if (v->type() == SqlType::kBool) {
          out += v->bool_value() ? "true" : "false";
        } else {
          v->AppendTo(&out);
        }
      }
      return Value::Text(std::move(out));
    }
    case Kind::kNegate: {
      Value s;
      WF_ASSIGN_OR_RETURN(const Value* a, Ref(e.children[0], &s));
      if (a->is_null()) return Value::Null(e.type);
      return Value::Negate(*a);
    }
    case Kind::kCompare: return Compare(e);
    case Kind::kNot: {
      Value s;
      WF_ASSIGN_OR_RETURN(const Value* a, Ref(e.children[0], &s));
      if (a->is_null()) return Value::Null(SqlType::kBool);
      return Value::Bool(!a->bool_value());
    }
    case Kind::kAnd:
    case Kind::kOr: return Logical(e);
    case Kind::kIsNull: {
      Value s;
      WF_ASSIGN_OR_RETURN(const Value* a, Ref(e.children[0], &s));
      return Value::Bool(a->is_null() != e.negated);
    }
    case Kind::kIsDistinct: {
      Value sa, sb;
      WF_ASSIGN_OR_RETURN(const Value* a, Ref(e.children[0], &sa));
      WF_ASSIGN_OR_RETURN(const Value* b, Ref(e.children[1], &sb));
      bool distinct;
      if (a->is_null() || b->is_null()) {
        distinct = a->is_null() != b->is_null();
      } else {
        distinct = CompareValues(*a, *b) != 0;
      }
      return Value::Bool(distinct != e.negated);
    }
    case Kind::kIn: return In(e);
    case Kind::kLike: {
      Value sa, sb;
      WF_ASSIGN_OR_RETURN(const Value* a, Ref(e.children[0], &sa));
      WF_ASSIGN_OR_RETURN(const Value* b, Ref(e.children[1], &sb));
      if (a->is_null() || b->is_null()) return Value::Null(SqlType::kBool);
      const std::string& p = b->text_value();
      if (!p.empty() && p.back() == '\\' &&
          (p.size() == 1 || p.find_last_not_of('\\') == std::string::npos ||
           (p.size() - 1 - p.find_last_not_of('\\')) % 2 == 1)) {
        return InvalidArgument("LIKE pattern must not end with escape character");
      }
      return Value::Bool(LikeMatch(a->text_value(), p, e.case_insensitive) != e.negated);
    }
    case Kind::kCase: return Case(e);
    case Kind::kCoalesce:
    case Kind::kNullIf:
    case Kind::kGreatest:
    case Kind::kLeast: return Conditional(e);
    case Kind::kCast: {
      Value s;
      WF_ASSIGN_OR_RETURN(const Value* a, Ref(e.children[0], &s));
      return CastValue(*a, e.type, e.numeric_precision, e.numeric_scale);
    }
    case Kind::kFunction: return Function(e);
    case Kind::kAggregate:
      return Internal("an aggregate cannot be evaluated as a scalar expression");
  }
  return Internal("unknown expression kind");
}

Result<Value> Evaluator::Arithmetic(const BoundExpr& e) {
  Value sa, sb;
  WF_ASSIGN_OR_RETURN(const Value* a, Ref(e.children[0], &sa));
  WF_ASSIGN_OR_RETURN(const Value* b, Ref(e.children[1], &sb));
  if (a->is_null() || b->is_null()) return Value::Null(e.type);
  switch (e.op) {
    case BinaryOperator::kAdd: return Value::Add(*a, *b);
    case BinaryOperator::kSubtract: return Value::Sub(*a, *b);
    case BinaryOperator::kMultiply: return Value::Mul(*a, *b);
    case BinaryOperator::kDivide: return Value::Div(*a, *b);
    case BinaryOperator::kModulo: return Value::Mod(*a, *b);
    default: return Internal("not an arithmetic operator");
  }
}

Result<Value> Evaluator::Compare(const BoundExpr& e) {
  Value sa, sb;
  WF_ASSIGN_OR_RETURN(const Value* a, Ref(e.children[0], &sa));
  WF_ASSIGN_OR_RETURN(const Value* b, Ref(e.children[1], &sb));
  if (a->is_null() || b->is_null()) return Value::Null(SqlType::kBool);
  return Value::Bool(CompareResult(e.op, CompareValues(*a, *b)));
}

Result<Value> Evaluator::Logical(const BoundExpr& e) {
  // AND stops at the first false, OR at the first true, as PostgreSQL's executor does.
  bool decisive = e.kind == Kind::kOr;
  bool saw_null = false;
  for (const BoundExpr& c : e.children) {
    Value s;
    WF_ASSIGN_OR_RETURN(const Value* v, Ref(c, &s));
    if (v->is_null()) {
      saw_null = true;
    } else if (v->bool_value() == decisive) {
      return Value::Bool(decisive);
    }
  }
  return saw_null ? Value::Null(SqlType::kBool) : Value::Bool(!decisive);
}

Result<Value> Evaluator::In(const BoundExpr& e) {
  Value so;
  WF_ASSIGN_OR_RETURN(const Value* x, Ref(e.children[0], &so));
  if (x->is_null()) return Value::Null(SqlType::kBool);
  bool saw_null = false;
  for (size_t i = 1; i < e.children.size(); ++i) {
    Value s;
    WF_ASSIGN_OR_RETURN(const Value* v, Ref(e.children[i], &s));
    if (v->is_null()) {
      saw_null = true;
    } else if (CompareValues(*x, *v) == 0) {
      return Value::Bool(!e.negated);
    }
  }
  return saw_null ? Value::Null(SqlType::kBool) : Value::Bool(e.negated);
}

Result<Value> Evaluator::Case(const BoundExpr& e) {
  size_t pairs = (e.children.size() - (e.has_else ? 1 : 0)) / 2;
  for (size_t i = 0; i < pairs; ++i) {
    Value s;
    WF_ASSIGN_OR_RETURN(const Value* cond, Ref(e.children[2 * i], &s));
    if (!cond->is_null() && cond->bool_value()) return Eval(e.children[2 * i + 1]);
  }
  if (e.has_else) return Eval(e.children.back());
  return Value::Null(e.type);
}

Result<Value> Evaluator::Conditional(const BoundExpr& e) {
  if (e.kind == Kind::kCoalesce) {
    for (const BoundExpr& c : e.children) {
      WF_ASSIGN_OR_RETURN(Value v, Eval(c));
      if (!v.is_null()) return v;
    }
    return Value::Null(e.type);
  }
  if (e.kind == Kind::kNullIf) {
    WF_ASSIGN_OR_RETURN(Value a, Eval(e.children[0]));
    Value s;
    WF_ASSIGN_OR_RETURN(const Value* b, Ref(e.children[1], &s));
    if (!a.is_null() && !b->is_null() && CompareValues(a, *b) == 0) return Value::Null(e.type);
    return a;
  }
  // GREATEST/LEAST ignore NULLs; NULL only when every argument is.
  Value best = Value::Null(e.type);
  for (const BoundExpr& c : e.children) {
    WF_ASSIGN_OR_RETURN(Value v, Eval(c));
    if (v.is_null()) continue;
    int cmp = best.is_null() ? 1 : CompareValues(v, best);
    if (e.kind == Kind::kLeast) cmp = -cmp;
    if (best.is_null() || cmp > 0) best = std::move(v);
  }
  return best;
}

Result<Value> Evaluator::Function(const BoundExpr& e) {
  constexpr size_t kMaxArgs = 3;
  if (e.function == ScalarFunction::kConcat) {
    std::string out;
    for (const BoundExpr& c : e.children) {
      Value s;
      WF_ASSIGN_OR_RETURN(const Value* v, Ref(c, &s));
      if (!v->is_null()) v->AppendTo(&out);
    }
    return Value::Text(std::move(out));
  }
  Value scratch[kMaxArgs];
  const Value* args[kMaxArgs] = {nullptr, nullptr, nullptr};
  for (size_t i = 0; i < e.children.size() && i < kMaxArgs; ++i) {
    WF_ASSIGN_OR_RETURN(args[i], Ref(e.children[i], &scratch[i]));
    if (args[i]->is_null()) return Value::Null(e.type);  // every other function is strict
  }
  const Value& a = *args[0];
  auto text = [&](size_t i) -> std::string_view { return args[i]->text_value(); };
  switch (e.function) {
    case ScalarFunction::kLower:
    case ScalarFunction::kUpper: {
      std::string s(text(0));
      bool lower = e.function == ScalarFunction::kLower;
      for (char& c : s) {
        if (lower && c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
        if (!lower && c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
      }
      return Value::Text(std::move(s));
    }
    case ScalarFunction::kLength: return Value::Int4(static_cast<int32_t>(CharLength(text(0))));
    case ScalarFunction::kSubstr: {
      std::string_view s = text(0);
      int64_t start = args[1]->int_value();
      int64_t end = INT64_MAX;
      if (e.children.size() == 3) {
        int64_t len = args[2]->int_value();
        if (len < 0) return InvalidArgument("negative substring length not allowed");
        end = start + len;  // both fit int32, so no overflow
      }
      int64_t from = std::max<int64_t>(start, 1);
      if (end <= from) return Value::Text("");
      size_t b = CharOffset(s, from - 1);
      size_t en = end == INT64_MAX ? s.size() : CharOffset(s, end - 1);
      return Value::Text(std::string(s.substr(b, en - b)));
    }
    case ScalarFunction::kBtrim:
    case ScalarFunction::kLtrim:
    case ScalarFunction::kRtrim: {
      std::string_view s = text(0);
      std::string_view set = e.children.size() == 2 ? text(1) : std::string_view(" ");
      // Characters of `set` (UTF-8 aware): a prefix/suffix char is trimmed if it is in set.
      auto in_set = [&](std::string_view ch) {
        for (size_t i = 0; i < set.size();) {
          size_t n = CharOffset(set.substr(i), 1);
          if (set.substr(i, n) == ch) return true;
          i += n;
        }
        return false;
      };
      size_t b = 0, en = s.size();
      if (e.function != ScalarFunction::kRtrim) {
        while (b < en) {
          size_t n = CharOffset(s.substr(b), 1);
          if (!in_set(s.substr(b, n))) break;
          b += n;
        }
      }
      if (e.function != ScalarFunction::kLtrim) {
        while (en > b) {
          size_t k = en - 1;
          while (k > b && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) --k;
          if (!in_set(s.substr(k, en - k))) break;
          en = k;
        }
      }
      return Value::Text(std::string(s.substr(b, en - b)));
    }
    case ScalarFunction::kReplace: {
      std::string_view s = text(0), from = text(1), to = text(2);
      if (from.empty()) return Value::Text(std::string(s));
      std::string out;
      size_t pos = 0;
      while (true) {
        size_t hit = s.find(from, pos);
        if (hit == std::string_view::npos) break;
        out.append(s.substr(pos, hit - pos));
        out.append(to);
        pos = hit + from.size();
      }
      out.append(s.substr(pos));
      return Value::Text(std::move(out));
    }
    case ScalarFunction::kSplitPart: {
      std::string_view s = text(0), delim = text(1);
      int64_t n = args[2]->int_value();
      if (n == 0) return InvalidArgument("field position must not be zero");
      std::vector<std::string_view> parts;
      if (delim.empty()) {
        if (!s.empty()) parts.push_back(s);
      } else if (!s.empty()) {
        size_t pos = 0;
        while (true) {
          size_t hit = s.find(delim, pos);
          if (hit == std::string_view::npos) break;
          parts.push_back(s.substr(pos, hit - pos));
          pos = hit + delim.size();
        }
        parts.push_back(s.substr(pos));
      }
      int64_t count = static_cast<int64_t>(parts.size());
      int64_t index = n > 0 ? n - 1 : count + n;
      if (index < 0 || index >= count) return Value::Text("");
      return Value::Text(std::string(parts[index]));
    }
    case ScalarFunction::kLeft:
    case ScalarFunction::kRight: {
      std::string_view s = text(0);
      int64_t n = args[1]->int_value();
      int64_t len = CharLength(s);
      int64_t keep = n >= 0 ? std::min(n, len) : std::max<int64_t>(len + n, 0);
      if (e.function == ScalarFunction::kLeft) {
        return Value::Text(std::string(s.substr(0, CharOffset(s, keep))));
      }
      return Value::Text(std::string(s.substr(CharOffset(s, len - keep))));
    }
    case ScalarFunction::kAbs: {
      if (IsIntegerType(a.type())) {
        int64_t v = a.int_value();
        if (v == INT64_MIN) return InvalidArgument("bigint out of range");
        return IntegerResult(a.type(), v < 0 ? -v : v);
      }
      if (a.type() == SqlType::kNumeric) return Value::Numeric(a.numeric_value().Abs());
      if (a.type() == SqlType::kFloat4) {
        return Value::Float4(static_cast<float>(std::fabs(a.float_value())));
      }
      return Value::Float8(std::fabs(a.float_value()));
    }
    case ScalarFunction::kRound:
    case ScalarFunction::kFloor:
    case ScalarFunction::kCeil: {
      if (a.type() == SqlType::kFloat8) {
        double v = a.float_value();
        double r = e.function == ScalarFunction::kRound   ? std::rint(v)
                   : e.function == ScalarFunction::kFloor ? std::floor(v)
                                                          : std::ceil(v);
        return Value::Float8(r);
      }
      const Decimal& d = a.numeric_value();
      if (e.function == ScalarFunction::kRound) {
        int64_t n = e.children.size() == 2 ? args[1]->int_value() : 0;
        return Value::Numeric(d.Round(static_cast<int32_t>(n)));
      }
      if (!d.is_finite()) return Value::Numeric(d);
      Decimal t = d.Trunc(0);
      if (Decimal::Compare(t, d) != 0) {
        bool up = e.function == ScalarFunction::kCeil;
        if (up && !d.is_negative()) {
          WF_ASSIGN_OR_RETURN(t, Decimal::Add(t, Decimal(1)));
        }
        if (!up && d.is_negative()) {
          WF_ASSIGN_OR_RETURN(t, Decimal::Sub(t, Decimal(1)));
        }
      }
      return Value::Numeric(std::move(t));
    }
    case ScalarFunction::kMod: return Value::Mod(a, *args[1]);
    case ScalarFunction::kDateTrunc: return DateTrunc(text(0), *args[1]);
    case ScalarFunction::kExtract: return Extract(text(0), *args[1]);
    case ScalarFunction::kDatePart: return DatePart(text(0), *args[1]);
    case ScalarFunction::kDateBin: return DateBin(a.interval_value(), *args[1], *args[2]);
    case ScalarFunction::kConcat: break;
  }
  return Internal("unknown function");
}

Result<Value> Evaluate(const BoundExpr& expr, Row row) {
  Evaluator evaluator(row);
  return evaluator.Eval(expr);
}

Result<bool> EvaluatePredicate(const BoundExpr& expr, Row row) {
  WF_ASSIGN_OR_RETURN(Value v, Evaluate(expr, row));
  return !v.is_null() && v.bool_value();
}

}  // namespace walflow::sql
