#include "sql/key_encoding.h"

#include <bit>
#include <cmath>
#include <cstring>

#include "pg/text_format.h"

namespace walflow::sql {
namespace {

constexpr uint8_t kNullFirst = 0x00;
constexpr uint8_t kNotNull = 0x01;
constexpr uint8_t kNullLast = 0x02;

// Classes of a numeric, in order.
constexpr uint8_t kNumNegInf = 0x01;
constexpr uint8_t kNumNegative = 0x02;
constexpr uint8_t kNumZero = 0x03;
constexpr uint8_t kNumPositive = 0x04;
constexpr uint8_t kNumPosInf = 0x05;
constexpr uint8_t kNumNaN = 0x06;

void AppendBigEndian(uint64_t v, int bytes, std::string* out) {
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

bool ReadBigEndian(std::string_view* in, int bytes, uint64_t* v) {
  if (in->size() < static_cast<size_t>(bytes)) return false;
  uint64_t r = 0;
  for (int i = 0; i < bytes; ++i)
    r = (r << 8) | static_cast<uint8_t>((*in)[static_cast<size_t>(i)]);
  in->remove_prefix(static_cast<size_t>(bytes));
  *v = r;
  return true;
}

void AppendInt64(int64_t v, std::string* out) {
  AppendBigEndian(static_cast<uint64_t>(v) ^ (uint64_t{1} << 63), 8, out);
}
void AppendInt32(int32_t v, std::string* out) {
  AppendBigEndian((static_cast<uint32_t>(v) ^ (uint32_t{1} << 31)), 4, out);
}
bool ReadInt64(std::string_view* in, int64_t* v) {
  uint64_t u;
  if (!ReadBigEndian(in, 8, &u)) return false;
  *v = static_cast<int64_t>(u ^ (uint64_t{1} << 63));
  return true;
}
bool ReadInt32(std::string_view* in, int32_t* v) {
  uint64_t u;
  if (!ReadBigEndian(in, 4, &u)) return false;
  *v = static_cast<int32_t>(static_cast<uint32_t>(u) ^ (uint32_t{1} << 31));
  return true;
}

void AppendDouble(double v, std::string* out) {
  uint64_t bits;
  if (std::isnan(v)) {
    bits = 0x7FF8000000000000ULL;
  } else if (v == 0.0) {
    bits = 0;
  } else {
    bits = std::bit_cast<uint64_t>(v);
  }
  bits = (bits >> 63) != 0 ? ~bits : bits ^ (uint64_t{1} << 63);
  AppendBigEndian(bits, 8, out);
}

bool ReadDouble(std::string_view* in, double* v) {
  uint64_t bits;
  if (!ReadBigEndian(in, 8, &bits)) return false;
  bits = (bits >> 63) != 0 ? bits ^ (uint64_t{1} << 63) : ~bits;
  *v = std::bit_cast<double>(bits);
  return true;
}

void AppendDecimal(const Decimal& d, std::string* out) {
  switch (d.kind()) {
    case Decimal::Kind::kNaN: out->push_back(static_cast<char>(kNumNaN)); return;
    case Decimal::Kind::kPositiveInfinity: out->push_back(static_cast<char>(kNumPosInf)); return;
    case Decimal::Kind::kNegativeInfinity: out->push_back(static_cast<char>(kNumNegInf)); return;
    case Decimal::Kind::kFinite: break;
  }
  if (d.is_zero()) {
    out->push_back(static_cast<char>(kNumZero));
    return;
  }
  const bool negative = d.is_negative();
  // |d| = 0.DIGITS x 10^E: a larger E is a larger magnitude; with equal E the digits
  // compare lexicographically, a shorter string (a prefix) being smaller.
  std::string digits;
  int32_t exponent;
  d.SignificantDigits(&digits, &exponent);
  const uint8_t flip = negative ? 0xFF : 0x00;
  out->push_back(static_cast<char>(negative ? kNumNegative : kNumPositive));
  uint32_t e = static_cast<uint32_t>(exponent) ^ (uint32_t{1} << 31);
  for (int i = 3; i >= 0; --i) out->push_back(static_cast<char>(((e >> (8 * i)) & 0xFF) ^ flip));
  for (size_t i = 0; i < digits.size(); i += 2) {
    int pair = (digits[i] - '0') * 10 + (i + 1 < digits.size() ? digits[i + 1] - '0' : 0);
    out->push_back(static_cast<char>((pair + 1) ^ flip));
  }
  out->push_back(static_cast<char>(flip));  // terminator, below every digit byte
}

Result<Decimal> ReadDecimal(std::string_view* in) {
  if (in->empty()) return DataLoss("key ends inside a numeric");
  uint8_t cls = static_cast<uint8_t>((*in)[0]);
  in->remove_prefix(1);
  switch (cls) {
    case kNumNaN: return Decimal::NaN();
    case kNumPosInf: return Decimal::Infinity(false);
    case kNumNegInf: return Decimal::Infinity(true);
    case kNumZero: return Decimal();
    case kNumPositive:
    case kNumNegative: break;
    default: return DataLoss("bad numeric class in key");
  }
  const bool negative = cls == kNumNegative;
  const uint8_t flip = negative ? 0xFF : 0x00;
  if (in->size() < 4) return DataLoss("key ends inside a numeric");
  uint32_t e = 0;
  for (size_t i = 0; i < 4; ++i) e = (e << 8) | (static_cast<uint8_t>((*in)[i]) ^ flip);
  in->remove_prefix(4);
  int32_t exponent = static_cast<int32_t>(e ^ (uint32_t{1} << 31));
  std::string digits;
  while (true) {
    if (in->empty()) return DataLoss("key ends inside a numeric");
    uint8_t b = static_cast<uint8_t>((*in)[0]) ^ flip;
    in->remove_prefix(1);
    if (b == 0) break;
    if (b > 100) return DataLoss("bad numeric digits in key");
    digits.push_back(static_cast<char>('0' + (b - 1) / 10));
    digits.push_back(static_cast<char>('0' + (b - 1) % 10));
  }
  while (!digits.empty() && digits.back() == '0') digits.pop_back();
  return Decimal::FromSignificantDigits(negative, digits, exponent);
}

void AppendText(std::string_view s, std::string* out) {
  for (char c : s) {
    out->push_back(c);
    if (c == '\0') out->push_back(static_cast<char>(0xFF));
  }
  out->push_back('\0');
  out->push_back('\x01');
}

bool ReadText(std::string_view* in, std::string* out) {
  out->clear();
  size_t i = 0;
  while (true) {
    size_t z = in->find('\0', i);
    if (z == std::string_view::npos || z + 1 >= in->size()) return false;
    out->append(in->data() + i, z - i);
    uint8_t next = static_cast<uint8_t>((*in)[z + 1]);
    if (next == 0x01) {
      in->remove_prefix(z + 2);
      return true;
    }
    if (next != 0xFF) return false;
    out->push_back('\0');
    i = z + 2;
  }
}

Status Truncated(SqlType type) {
  return DataLoss(std::string("key ends inside a value of type ") + SqlTypeName(type));
}

}  // namespace

void KeyEncoder::Append(const Value& v, std::string* out) const {
  if (v.is_null()) {
    out->push_back(static_cast<char>(nulls_ == NullOrder::kNullsFirst ? kNullFirst : kNullLast));
    return;
  }
  out->push_back(static_cast<char>(kNotNull));
  switch (v.type()) {
    case SqlType::kBool: out->push_back(v.bool_value() ? 1 : 0); return;
    case SqlType::kInt2:
    case SqlType::kInt4:
    case SqlType::kInt8:
    case SqlType::kTimestamp:
    case SqlType::kTimestampTz: AppendInt64(v.int_value(), out); return;
    case SqlType::kDate: AppendInt32(static_cast<int32_t>(v.int_value()), out); return;
    case SqlType::kFloat4:
    case SqlType::kFloat8: AppendDouble(v.float_value(), out); return;
    case SqlType::kNumeric: AppendDecimal(v.numeric_value(), out); return;
    case SqlType::kText:
    case SqlType::kJsonb: AppendText(v.text_value(), out); return;
    case SqlType::kInterval: {
      const Interval& i = v.interval_value();
      unsigned __int128 span =
          static_cast<unsigned __int128>(i.Span()) ^ (static_cast<unsigned __int128>(1) << 127);
      AppendBigEndian(static_cast<uint64_t>(span >> 64), 8, out);
      AppendBigEndian(static_cast<uint64_t>(span), 8, out);
      AppendInt32(i.months, out);
      AppendInt32(i.days, out);
      return;
    }
  }
}

std::string KeyEncoder::Encode(std::span<const Value> tuple) const {
  std::string out;
  for (const Value& v : tuple) Append(v, &out);
  return out;
}

Result<Value> KeyEncoder::DecodeOne(SqlType type, std::string_view* in) const {
  if (in->empty()) return Truncated(type);
  uint8_t tag = static_cast<uint8_t>((*in)[0]);
  in->remove_prefix(1);
  if (tag == (nulls_ == NullOrder::kNullsFirst ? kNullFirst : kNullLast)) return Value::Null(type);
  if (tag != kNotNull) return DataLoss("bad null marker in key");
  switch (type) {
    case SqlType::kBool: {
      if (in->empty()) return Truncated(type);
      bool b = (*in)[0] != 0;
      in->remove_prefix(1);
      return Value::Bool(b);
    }
    case SqlType::kInt2:
    case SqlType::kInt4:
    case SqlType::kInt8:
    case SqlType::kTimestamp:
    case SqlType::kTimestampTz: {
      int64_t v;
      if (!ReadInt64(in, &v)) return Truncated(type);
      switch (type) {
        case SqlType::kInt2: return Value::Int2(static_cast<int16_t>(v));
        case SqlType::kInt4: return Value::Int4(static_cast<int32_t>(v));
        case SqlType::kInt8: return Value::Int8(v);
        case SqlType::kTimestamp: return Value::Timestamp(v);
        default: return Value::TimestampTz(v);
      }
    }
    case SqlType::kDate: {
      int32_t v;
      if (!ReadInt32(in, &v)) return Truncated(type);
      return Value::Date(v);
    }
    case SqlType::kFloat4:
    case SqlType::kFloat8: {
      double d;
      if (!ReadDouble(in, &d)) return Truncated(type);
      return type == SqlType::kFloat4 ? Value::Float4(static_cast<float>(d)) : Value::Float8(d);
    }
    case SqlType::kNumeric: {
      Result<Decimal> d = ReadDecimal(in);
      if (!d.ok()) return d.status();
      return Value::Numeric(std::move(d).value());
    }
    case SqlType::kText:
    case SqlType::kJsonb: {
      std::string s;
      if (!ReadText(in, &s)) return Truncated(type);
      return type == SqlType::kText ? Value::Text(std::move(s)) : Value::Jsonb(std::move(s));
    }
    case SqlType::kInterval: {
      uint64_t hi, lo;
      Interval i;
      if (!ReadBigEndian(in, 8, &hi) || !ReadBigEndian(in, 8, &lo) || !ReadInt32(in, &i.months) ||
          !ReadInt32(in, &i.days)) {
        return Truncated(type);
      }
      unsigned __int128 u = (static_cast<unsigned __int128>(hi) << 64) | lo;
      __int128 span = static_cast<__int128>(u ^ (static_cast<unsigned __int128>(1) << 127));
      i.micros =
          static_cast<int64_t>(span - static_cast<__int128>(i.months) * 30 * pg::kMicrosPerDay -
                               static_cast<__int128>(i.days) * pg::kMicrosPerDay);
      return Value::MakeInterval(i);
    }
  }
  return Internal("unknown type in key");
}

Result<std::vector<Value>> KeyEncoder::Decode(std::span<const SqlType> types,
                                              std::string_view in) const {
  std::vector<Value> out;
  out.reserve(types.size());
  for (SqlType t : types) {
    Result<Value> v = DecodeOne(t, &in);
    if (!v.ok()) return v.status();
    out.push_back(std::move(v).value());
  }
  if (!in.empty()) return DataLoss("bytes left over after the key's last column");
  return out;
}

}  // namespace walflow::sql
