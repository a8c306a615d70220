#include "format/debezium_reader.h"

#include <algorithm>
#include <charconv>
#include <iterator>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <unordered_map>

#include "format/json_writer.h"
#include "pg/text_codec.h"

namespace walflow::format {
namespace {

constexpr int64_t kMicrosPerSecond = 1000000;
constexpr int64_t kMicrosPerDay = 86400LL * kMicrosPerSecond;
// Debezium's MicroDuration: a month is 365.25 / 12 = 30.4375 days (pg::ParseInterval's rule).
constexpr int64_t kMicrosPerMonth = 2629800LL * kMicrosPerSecond;
// Deeper JSON than any Debezium event needs is refused before it can exhaust the stack.
constexpr int kMaxJsonDepth = 64;
// PostgreSQL's numeric holds at most 131072 digits before the point and 16383 after it
// (about 61 KiB as an unscaled integer); longer values are refused, not converted.
constexpr size_t kMaxDecimalBytes = 64 * 1024;
constexpr int32_t kMaxDecimalScale = 16383;

// ---- JSON ------------------------------------------------------------------------------

// A parsed JSON value that keeps each number as written, so a float column reads back to
// the same text ("-0", "1.50", "1e+20").
struct JsonValue {
  enum class Type : uint8_t { kNull, kBoolean, kNumber, kString, kArray, kObject };
  Type type = Type::kNull;
  bool boolean = false;
  std::string text;               // kString: the value; kNumber: the number as written
  std::vector<std::string> keys;  // kObject: member names, in order
  std::vector<JsonValue> items;   // kArray: the elements; kObject: the member values

  bool is_null() const { return type == Type::kNull; }
  // The first member named `key`, or nullptr (also for a non-object).
  const JsonValue* Find(std::string_view key) const {
    for (size_t i = 0; i < keys.size(); ++i) {
      if (keys[i] == key) return &items[i];
    }
    return nullptr;
  }
};

const char* JsonTypeName(const JsonValue& v) {
  switch (v.type) {
    case JsonValue::Type::kNull: return "null";
    case JsonValue::Type::kBoolean: return "boolean";
    case JsonValue::Type::kNumber: return "number";
    case JsonValue::Type::kString: return "string";
    case JsonValue::Type::kArray: return "array";
    case JsonValue::Type::kObject: return "object";
  }
  return "unknown";
}

// An input iterator for nlohmann's parser that records how far the parser has read. The
// SAX interface hands over integers without their text; the position recovers it.
struct CursorIterator {
  using iterator_category = std::forward_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  const char* p = nullptr;
  const char** cursor = nullptr;

  reference operator*() const { return *p; }
  CursorIterator& operator++() {
    *cursor = ++p;
    return *this;
  }
  CursorIterator operator++(int) {
    CursorIterator before = *this;
    ++*this;
    return before;
  }
  bool operator==(const CursorIterator& other) const { return p == other.p; }
};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Builds a JsonValue from nlohmann's SAX events.
class JsonTreeBuilder {
 public:
  explicit JsonTreeBuilder(std::string_view input) : input_(input), cursor_(input.data()) {}

  const char** cursor() { return &cursor_; }
  JsonValue& root() { return root_; }
  const std::string& error() const { return error_; }

  bool null() {
    Add(JsonValue::Type::kNull);
    return true;
  }
  bool boolean(bool b) {
    Add(JsonValue::Type::kBoolean)->boolean = b;
    return true;
  }
  bool number_integer(nlohmann::json::number_integer_t) { return AddInteger(); }
  bool number_unsigned(nlohmann::json::number_unsigned_t) { return AddInteger(); }
  bool number_float(nlohmann::json::number_float_t, const std::string& lexeme) {
    Add(JsonValue::Type::kNumber)->text = lexeme;
    return true;
  }
  bool string(std::string& s) {
    Add(JsonValue::Type::kString)->text = std::move(s);
    return true;
  }
  bool binary(nlohmann::json::binary_t&) { return false; }  // JSON text has none
  bool start_object(std::size_t) { return Open(JsonValue::Type::kObject); }
  bool key(std::string& k) {
    stack_.back()->keys.push_back(std::move(k));
    return true;
  }
  bool end_object() {
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t) { return Open(JsonValue::Type::kArray); }
  bool end_array() {
    stack_.pop_back();
    return true;
  }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::json::exception& e) {
    // "[json.exception.parse_error.101] parse error at line 1, column 3: syntax error ..."
    std::string_view what = e.what();
    if (size_t p = what.find("] "); p != std::string_view::npos) what.remove_prefix(p + 2);
    if (what.starts_with("parse error")) {
      if (size_t p = what.find(": "); p != std::string_view::npos) what.remove_prefix(p + 2);
    }
    if (what.size() > 160) what = what.substr(0, 160);
    error_ = "at byte " + std::to_string(position) + ": " + std::string(what);
    return false;
  }

 private:
  JsonValue* Add(JsonValue::Type type) {
    JsonValue* v = &root_;
    if (!stack_.empty()) v = &stack_.back()->items.emplace_back();
    v->type = type;
    return v;
  }
  bool Open(JsonValue::Type type) {
    if (stack_.size() >= kMaxJsonDepth) {
      error_ = "at byte " + std::to_string(cursor_ - input_.data()) + ": nested deeper than " +
               std::to_string(kMaxJsonDepth) + " levels";
      return false;
    }
    stack_.push_back(Add(type));
    return true;
  }
  // The parser has read the integer and at most one byte after it (never a digit).
  bool AddInteger() {
    size_t end = static_cast<size_t>(cursor_ - input_.data());
    if (end > 0 && !IsDigit(input_[end - 1])) --end;
    size_t start = end;
    while (start > 0 && IsDigit(input_[start - 1])) --start;
    if (start > 0 && input_[start - 1] == '-') --start;
    Add(JsonValue::Type::kNumber)->text.assign(input_.substr(start, end - start));
    return true;
  }

  std::string_view input_;
  const char* cursor_;
  JsonValue root_;
  std::vector<JsonValue*> stack_;  // open arrays and objects; each lives in its parent
  std::string error_;
};

Result<JsonValue> ParseJson(std::string_view text, const char* what) {
  JsonTreeBuilder builder(text);
  CursorIterator first{text.data(), builder.cursor()};
  CursorIterator last{text.data() + text.size(), builder.cursor()};
  bool ok = false;
  try {
    ok = nlohmann::json::sax_parse(first, last, &builder);
  } catch (const std::exception& e) {
    return InvalidArgument(std::string(what) + " is not JSON: " + e.what());
  }
  if (!ok) return InvalidArgument(std::string(what) + " is not JSON " + builder.error());
  return std::move(builder.root());
}

// Compact JSON text, numbers as written.
void AppendJson(const JsonValue& v, std::string* out) {
  switch (v.type) {
    case JsonValue::Type::kNull: out->append("null"); return;
    case JsonValue::Type::kBoolean: out->append(v.boolean ? "true" : "false"); return;
    case JsonValue::Type::kNumber: out->append(v.text); return;
    case JsonValue::Type::kString: AppendJsonString(v.text, out); return;
    case JsonValue::Type::kArray:
      out->push_back('[');
      for (size_t i = 0; i < v.items.size(); ++i) {
        if (i) out->push_back(',');
        AppendJson(v.items[i], out);
      }
      out->push_back(']');
      return;
    case JsonValue::Type::kObject:
      out->push_back('{');
      for (size_t i = 0; i < v.items.size(); ++i) {
        if (i) out->push_back(',');
        AppendJsonString(v.keys[i], out);
        out->push_back(':');
        AppendJson(v.items[i], out);
      }
      out->push_back('}');
      return;
  }
}

bool IsIntegerText(std::string_view t) {
  size_t i = !t.empty() && t[0] == '-' ? 1 : 0;
  if (i == t.size()) return false;
  for (; i < t.size(); ++i) {
    if (!IsDigit(t[i])) return false;
  }
  return true;
}

bool ParseInt64(std::string_view t, int64_t* out) {
  if (!IsIntegerText(t)) return false;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), *out);
  return ec == std::errc() && end == t.data() + t.size();
}

bool ParseUint64(std::string_view t, uint64_t* out) {
  if (t.empty() || t[0] == '-' || !IsIntegerText(t)) return false;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), *out);
  return ec == std::errc() && end == t.data() + t.size();
}

// Jackson's (and the encoder's) quoted spellings of the non-finite floats.
bool IsSpecialFloat(std::string_view t) {
  return t == "NaN" || t == "Infinity" || t == "-Infinity";
}

// A value as shown in a message: quoted, and shortened as the encoder shortens it.
std::string Shown(std::string_view text) {
  std::string out = "\"" + std::string(text.substr(0, 64));
  if (text.size() > 64) out += "...";
  return out + "\"";
}

Status Expected(const char* what, const JsonValue& got) {
  return InvalidArgument(std::string("expected ") + what + ", got " + JsonTypeName(got));
}

// An integer member of an event block ("source.lsn"); absent or null leaves *out as is.
Status ReadIntegerField(const JsonValue& block, std::string_view block_name, std::string_view name,
                        int64_t* out) {
  const JsonValue* v = block.Find(name);
  if (v == nullptr || v->is_null()) return Status::OK();
  if (v->type != JsonValue::Type::kNumber || !ParseInt64(v->text, out)) {
    return Expected("an integer", *v)
        .WithContext(std::string(block_name) + "." + std::string(name));
  }
  return Status::OK();
}

// ---- PostgreSQL text forms -------------------------------------------------------------

// "YYYY-MM-DD" of a day count since 1970-01-01; sets *bc for years before 1, which
// PostgreSQL prints as a positive year followed by " BC" (year 0 is 1 BC).
void AppendDate(int64_t days, std::string* out, bool* bc) {
  int64_t year;
  unsigned month, day;
  pg::CivilFromDays(days, &year, &month, &day);
  *bc = year <= 0;
  pg::AppendPadded(*bc ? 1 - year : year, 4, out);
  out->push_back('-');
  pg::AppendPadded(month, 2, out);
  out->push_back('-');
  pg::AppendPadded(day, 2, out);
}

void AppendTimestampParts(int64_t days, int64_t micros_of_day, bool zoned, std::string* out) {
  bool bc;
  AppendDate(days, out, &bc);
  out->push_back(' ');
  pg::AppendClock(micros_of_day, out);
  if (zoned) out->append("+00");
  if (bc) out->append(" BC");
}

void AppendTimestamp(int64_t micros, std::string* out) {
  int64_t days = micros / kMicrosPerDay;
  int64_t rem = micros % kMicrosPerDay;
  if (rem < 0) {
    rem += kMicrosPerDay;
    --days;
  }
  AppendTimestampParts(days, rem, false, out);
}

// IntervalStyle postgres: "1 year 2 mons 3 days 04:05:06.789", every part carrying the sign
// of a negative interval. MicroDuration fixed a month's length, so the parts are recovered
// greedily; pg::ParseInterval reads the text back to exactly `micros`.
void AppendInterval(int64_t micros, std::string* out) {
  if (micros == 0) {
    out->append("00:00:00");
    return;
  }
  const bool negative = micros < 0;
  uint64_t rest = negative ? 0 - static_cast<uint64_t>(micros) : static_cast<uint64_t>(micros);
  uint64_t months = rest / kMicrosPerMonth;
  rest %= kMicrosPerMonth;
  const uint64_t days = rest / kMicrosPerDay;
  rest %= kMicrosPerDay;
  const uint64_t years = months / 12;
  months %= 12;
  bool first = true;
  auto part = [&](uint64_t n, const char* unit) {
    if (n == 0) return;
    if (!first) out->push_back(' ');
    first = false;
    if (negative) out->push_back('-');
    AppendInt(static_cast<int64_t>(n), out);
    out->push_back(' ');
    out->append(unit);
    if (n != 1 || negative) out->push_back('s');  // PostgreSQL: "1 day", "-1 days"
  };
  part(years, "year");
  part(months, "mon");
  part(days, "day");
  if (rest != 0) {
    if (!first) out->push_back(' ');
    if (negative) out->push_back('-');
    pg::AppendClock(static_cast<int64_t>(rest), out);
  }
}

void AppendByteaHex(std::string_view bytes, std::string* out) {
  static const char kHex[] = "0123456789abcdef";
  out->append("\\x");
  for (unsigned char c : bytes) {
    out->push_back(kHex[c >> 4]);
    out->push_back(kHex[c & 15]);
  }
}

// One element of an array literal, quoted where PostgreSQL's array_out quotes it.
void AppendArrayElement(std::string_view text, char delimiter, std::string* out) {
  bool quote = text.empty();
  if (text.size() == 4) {
    std::string lower(text);
    for (char& c : lower) c = static_cast<char>(c | 0x20);
    quote = lower == "null";
  }
  for (size_t i = 0; i < text.size() && !quote; ++i) {
    char c = text[i];
    quote = c == '"' || c == '\\' || c == '{' || c == '}' || c == delimiter || c == ' ' ||
            c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
  }
  if (!quote) {
    out->append(text);
    return;
  }
  out->push_back('"');
  for (char c : text) {
    if (c == '"' || c == '\\') out->push_back('\\');
    out->push_back(c);
  }
  out->push_back('"');
}

// ISO-8601 as Debezium writes ZonedTime and ZonedTimestamp.

// `count` digits at t[*pos].
bool ReadFixedDigits(std::string_view t, size_t* pos, int count, int64_t* out) {
  if (*pos + count > t.size()) return false;
  int64_t v = 0;
  for (int i = 0; i < count; ++i) {
    char c = t[*pos + i];
    if (!IsDigit(c)) return false;
    v = v * 10 + (c - '0');
  }
  *pos += count;
  *out = v;
  return true;
}

bool Expect(std::string_view t, size_t* pos, char c) {
  if (*pos >= t.size() || t[*pos] != c) return false;
  ++*pos;
  return true;
}

// "HH:MM[:SS[.fffffffff]]" as microseconds (digits beyond the sixth are dropped).
bool ReadIsoClock(std::string_view t, size_t* pos, int64_t* micros) {
  int64_t h, m, s = 0, frac = 0;
  if (!ReadFixedDigits(t, pos, 2, &h) || !Expect(t, pos, ':') || !ReadFixedDigits(t, pos, 2, &m)) {
    return false;
  }
  if (*pos < t.size() && t[*pos] == ':') {
    ++*pos;
    if (!ReadFixedDigits(t, pos, 2, &s)) return false;
    if (*pos < t.size() && t[*pos] == '.') {
      ++*pos;
      int digits = 0;
      while (*pos < t.size() && IsDigit(t[*pos])) {
        if (++digits > 9) return false;
        if (digits <= 6) frac = frac * 10 + (t[*pos] - '0');
        ++*pos;
      }
      if (digits == 0) return false;
      for (; digits < 6; ++digits) frac *= 10;
    }
  }
  if (h > 24 || m > 59 || s > 59 || (h == 24 && (m != 0 || s != 0 || frac != 0))) return false;
  *micros = ((h * 60 + m) * 60 + s) * kMicrosPerSecond + frac;
  return true;
}

// "Z" or "+HH[:MM[:SS]]" as seconds east of UTC, ending the text.
bool ReadIsoOffset(std::string_view t, size_t* pos, int64_t* seconds) {
  if (*pos < t.size() && t[*pos] == 'Z') {
    ++*pos;
    *seconds = 0;
    return *pos == t.size();
  }
  if (*pos >= t.size() || (t[*pos] != '+' && t[*pos] != '-')) return false;
  const int64_t sign = t[*pos] == '-' ? -1 : 1;
  ++*pos;
  int64_t h, m = 0, s = 0;
  if (!ReadFixedDigits(t, pos, 2, &h)) return false;
  if (Expect(t, pos, ':')) {
    if (!ReadFixedDigits(t, pos, 2, &m)) return false;
    if (Expect(t, pos, ':') && !ReadFixedDigits(t, pos, 2, &s)) return false;
  }
  *seconds = sign * (h * 3600 + m * 60 + s);
  return *pos == t.size() && h <= 18 && m <= 59 && s <= 59;
}

// "HH:MM:SS[.f](Z|offset)" as microseconds since midnight UTC.
bool ParseIsoTime(std::string_view t, int64_t* micros_utc) {
  size_t pos = 0;
  int64_t local, offset;
  if (!ReadIsoClock(t, &pos, &local) || !ReadIsoOffset(t, &pos, &offset)) return false;
  int64_t utc = (local - offset * kMicrosPerSecond) % kMicrosPerDay;
  *micros_utc = utc < 0 ? utc + kMicrosPerDay : utc;
  return true;
}

// "[+-]YYYY-MM-DDTHH:MM:SS[.f](Z|offset)" as a UTC day and microseconds into it.
bool ParseIsoTimestamp(std::string_view t, int64_t* days, int64_t* micros_of_day) {
  size_t pos = 0;
  int64_t sign = 1;
  if (!t.empty() && (t[0] == '+' || t[0] == '-')) {
    sign = t[0] == '-' ? -1 : 1;
    ++pos;
  }
  const size_t year_start = pos;
  int64_t year = 0;
  while (pos < t.size() && IsDigit(t[pos])) {
    if (pos - year_start >= 9) return false;
    year = year * 10 + (t[pos++] - '0');
  }
  if (pos - year_start < 4) return false;
  year *= sign;
  int64_t month, day, clock, offset;
  if (!Expect(t, &pos, '-') || !ReadFixedDigits(t, &pos, 2, &month) || !Expect(t, &pos, '-') ||
      !ReadFixedDigits(t, &pos, 2, &day) || !Expect(t, &pos, 'T') ||
      !ReadIsoClock(t, &pos, &clock) || !ReadIsoOffset(t, &pos, &offset)) {
    return false;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31) return false;
  int64_t d = pg::DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  int64_t y2;
  unsigned m2, d2;
  pg::CivilFromDays(d, &y2, &m2, &d2);
  if (y2 != year || m2 != month || d2 != day) return false;  // e.g. February 30
  int64_t rem = clock - offset * kMicrosPerSecond;
  d += rem / kMicrosPerDay;
  rem %= kMicrosPerDay;
  if (rem < 0) {
    rem += kMicrosPerDay;
    --d;
  }
  *days = d;
  *micros_of_day = rem;
  return true;
}

// ---- Base64 and decimals ---------------------------------------------------------------

// Standard base64 with padding, as Jackson writes byte arrays.
bool DecodeBase64(std::string_view in, std::string* out) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  out->clear();
  if (in.size() % 4 != 0) return false;
  out->reserve(in.size() / 4 * 3);
  for (size_t i = 0; i < in.size(); i += 4) {
    const bool last = i + 4 == in.size();
    int pad = 0;
    if (last && in[i + 3] == '=') pad = in[i + 2] == '=' ? 2 : 1;
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      int d = k >= 4 - pad ? 0 : value(in[i + k]);
      if (d < 0) return false;
      v = v << 6 | static_cast<uint32_t>(d);
    }
    out->push_back(static_cast<char>(v >> 16));
    if (pad < 2) out->push_back(static_cast<char>(v >> 8 & 0xff));
    if (pad < 1) out->push_back(static_cast<char>(v & 0xff));
  }
  return true;
}

// The text of unscaled * 10^-scale, where `bytes` is a big-endian two's-complement integer
// (Java's BigInteger.toByteArray, as Kafka Connect's Decimal carries it).
void AppendDecimal(std::string_view bytes, int32_t scale, std::string* out) {
  const bool negative = (static_cast<uint8_t>(bytes[0]) & 0x80) != 0;
  std::vector<uint8_t> magnitude(bytes.begin(), bytes.end());
  if (negative) {
    int carry = 1;
    for (size_t i = magnitude.size(); i-- > 0;) {
      int v = (magnitude[i] ^ 0xff) + carry;
      magnitude[i] = static_cast<uint8_t>(v & 0xff);
      carry = v >> 8;
    }
  }
  // 32-bit limbs, most significant first, divided by 10^9 until nothing is left.
  std::vector<uint32_t> limbs((magnitude.size() + 3) / 4);
  for (size_t i = 0; i < magnitude.size(); ++i) {
    size_t from_end = magnitude.size() - 1 - i;
    limbs[limbs.size() - 1 - from_end / 4] |= static_cast<uint32_t>(magnitude[i])
                                              << (8 * (from_end % 4));
  }
  std::string digits;  // least significant first
  size_t first = 0;
  while (first < limbs.size() && limbs[first] == 0) ++first;
  while (first < limbs.size()) {
    uint64_t rem = 0;
    for (size_t i = first; i < limbs.size(); ++i) {
      uint64_t cur = rem << 32 | limbs[i];
      limbs[i] = static_cast<uint32_t>(cur / 1000000000u);
      rem = cur % 1000000000u;
    }
    while (first < limbs.size() && limbs[first] == 0) ++first;
    for (int k = 0; k < 9; ++k) {
      digits.push_back(static_cast<char>('0' + rem % 10));
      rem /= 10;
    }
  }
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  if (digits.empty()) digits = "0";
  std::reverse(digits.begin(), digits.end());
  if (negative) out->push_back('-');
  if (scale <= 0) {
    out->append(digits);
    if (digits != "0") out->append(static_cast<size_t>(-static_cast<int64_t>(scale)), '0');
    return;
  }
  const size_t s = static_cast<size_t>(scale);
  if (digits.size() <= s) {
    out->append("0.");
    out->append(s - digits.size(), '0');
    out->append(digits);
  } else {
    out->append(digits, 0, digits.size() - s);
    out->push_back('.');
    out->append(digits, digits.size() - s, s);
  }
}

Status AppendBase64Decimal(const JsonValue& v, int32_t scale, std::string* out) {
  if (v.type != JsonValue::Type::kString) return Expected("a base64 string", v);
  std::string bytes;
  if (!DecodeBase64(v.text, &bytes)) return InvalidArgument("bad base64 " + Shown(v.text));
  if (bytes.empty()) return InvalidArgument("empty decimal value");
  if (bytes.size() > kMaxDecimalBytes) {
    return InvalidArgument("decimal of " + std::to_string(bytes.size()) +
                           " bytes is longer than a PostgreSQL numeric can be");
  }
  AppendDecimal(bytes, scale, out);
  return Status::OK();
}

// ---- Types -----------------------------------------------------------------------------

// PostgreSQL built-in types (src/include/catalog/pg_type.dat): name, OID, array type OID.
struct PgType {
  const char* name;
  uint32_t oid;
  uint32_t array_oid;
};
constexpr PgType kPgBool{"bool", 16, 1000};
constexpr PgType kPgInt2{"int2", 21, 1005};
constexpr PgType kPgInt4{"int4", 23, 1007};
constexpr PgType kPgInt8{"int8", 20, 1016};
constexpr PgType kPgFloat4{"float4", 700, 1021};
constexpr PgType kPgFloat8{"float8", 701, 1022};
constexpr PgType kPgNumeric{"numeric", 1700, 1231};
constexpr PgType kPgText{"text", 25, 1009};
constexpr PgType kPgBytea{"bytea", 17, 1001};
constexpr PgType kPgDate{"date", 1082, 1182};
constexpr PgType kPgTime{"time", 1083, 1183};
constexpr PgType kPgTimetz{"timetz", 1266, 1270};
constexpr PgType kPgTimestamp{"timestamp", 1114, 1115};
constexpr PgType kPgTimestamptz{"timestamptz", 1184, 1185};
constexpr PgType kPgInterval{"interval", 1186, 1187};
constexpr PgType kPgUuid{"uuid", 2950, 2951};
constexpr PgType kPgJson{"json", 114, 199};
constexpr PgType kPgXml{"xml", 142, 143};
// An enum's own type is not in the event; anyenum is the pseudo-type every enum matches.
constexpr PgType kPgAnyEnum{"anyenum", 3500, 0};
constexpr const PgType* kPgTypes[] = {
    &kPgBool,     &kPgInt2,  &kPgInt4, &kPgInt8, &kPgFloat4, &kPgFloat8,    &kPgNumeric,
    &kPgText,     &kPgBytea, &kPgDate, &kPgTime, &kPgTimetz, &kPgTimestamp, &kPgTimestamptz,
    &kPgInterval, &kPgUuid,  &kPgJson, &kPgXml,  &kPgAnyEnum};

ValueType Scalar(ValueKind kind, const PgType& pg, int32_t typmod = -1) {
  ValueType t;
  t.kind = kind;
  t.type_name = pg.name;
  t.type_oid = Oid(pg.oid);
  t.typmod = typmod;
  return t;
}

// numeric(precision, scale); a negative scale is numeric without constraints.
ValueType Numeric(int32_t precision, int32_t scale) {
  int32_t typmod = precision >= 0 && scale >= 0 ? ((precision << 16) | scale) + 4 : -1;
  ValueType t = Scalar(ValueKind::kDecimal, kPgNumeric, typmod);
  t.precision = scale >= 0 ? precision : -1;
  t.scale = scale;
  return t;
}

// An array of `element`; like the catalog, the array carries its element's typmod.
ValueType ArrayOf(ValueType element) {
  ValueType t;
  t.kind = ValueKind::kArray;
  t.type_name = "_" + element.type_name;
  for (const PgType* pg : kPgTypes) {
    if (pg->oid == element.type_oid.value) t.type_oid = Oid(pg->array_oid);
  }
  t.typmod = element.typmod;
  t.element = std::make_shared<const ValueType>(std::move(element));
  return t;
}

// A Kafka Connect parameter ("scale": "2") as an integer; parameter values are strings.
bool IntParameter(const JsonValue& schema, std::string_view name, int32_t* out) {
  const JsonValue* params = schema.Find("parameters");
  const JsonValue* v = params != nullptr ? params->Find(name) : nullptr;
  if (v == nullptr ||
      (v->type != JsonValue::Type::kString && v->type != JsonValue::Type::kNumber)) {
    return false;
  }
  int64_t n;
  if (!ParseInt64(v->text, &n) || n < std::numeric_limits<int32_t>::min() ||
      n > std::numeric_limits<int32_t>::max()) {
    return false;
  }
  *out = static_cast<int32_t>(n);
  return true;
}

// The value type of a field's Kafka Connect schema: the inverse of the encoder's
// AppendFieldSchema, and Kafka Connect's own logical types, which Debezium writes in
// time.precision.mode=connect.
Result<ValueType> TypeFromConnect(const JsonValue& schema, bool is_element = false) {
  const JsonValue* type = schema.Find("type");
  if (type == nullptr || type->type != JsonValue::Type::kString) {
    return InvalidArgument("field schema has no \"type\"");
  }
  const JsonValue* name_value = schema.Find("name");
  const std::string_view name =
      name_value != nullptr && name_value->type == JsonValue::Type::kString
          ? std::string_view(name_value->text)
          : std::string_view();
  const std::string_view t = type->text;
  if (t == "boolean") return Scalar(ValueKind::kBoolean, kPgBool);
  if (t == "int8" || t == "int16") return Scalar(ValueKind::kInt16, kPgInt2);
  if (t == "int32") {
    if (name == "io.debezium.time.Date" || name == "org.apache.kafka.connect.data.Date") {
      return Scalar(ValueKind::kDate, kPgDate);
    }
    if (name == "io.debezium.time.Time" || name == "org.apache.kafka.connect.data.Time") {
      return Scalar(ValueKind::kTimeMillis, kPgTime, 3);
    }
    return Scalar(ValueKind::kInt32, kPgInt4);
  }
  if (t == "int64") {
    if (name == "io.debezium.time.MicroTime") return Scalar(ValueKind::kTimeMicros, kPgTime);
    if (name == "io.debezium.time.Timestamp" || name == "org.apache.kafka.connect.data.Timestamp") {
      return Scalar(ValueKind::kTimestampMillis, kPgTimestamp, 3);
    }
    if (name == "io.debezium.time.MicroTimestamp") {
      return Scalar(ValueKind::kTimestampMicros, kPgTimestamp);
    }
    if (name == "io.debezium.time.MicroDuration") return Scalar(ValueKind::kInterval, kPgInterval);
    return Scalar(ValueKind::kInt64, kPgInt8);
  }
  if (t == "float" || t == "float32") return Scalar(ValueKind::kFloat32, kPgFloat4);
  if (t == "double" || t == "float64") return Scalar(ValueKind::kFloat64, kPgFloat8);
  if (t == "string") {
    if (name.empty()) return Scalar(ValueKind::kString, kPgText);
    if (name == "io.debezium.time.ZonedTime") return Scalar(ValueKind::kZonedTime, kPgTimetz);
    if (name == "io.debezium.time.ZonedTimestamp") {
      return Scalar(ValueKind::kZonedTimestamp, kPgTimestamptz);
    }
    if (name == "io.debezium.data.Uuid") return Scalar(ValueKind::kUuid, kPgUuid);
    if (name == "io.debezium.data.Json") return Scalar(ValueKind::kJson, kPgJson);
    if (name == "io.debezium.data.Xml") return Scalar(ValueKind::kXml, kPgXml);
    if (name == "io.debezium.data.Enum") {
      ValueType e = Scalar(ValueKind::kEnum, kPgAnyEnum);
      const JsonValue* params = schema.Find("parameters");
      const JsonValue* allowed = params != nullptr ? params->Find("allowed") : nullptr;
      if (allowed != nullptr && allowed->type == JsonValue::Type::kString &&
          !allowed->text.empty()) {
        size_t start = 0;
        while (true) {
          size_t comma = allowed->text.find(',', start);
          e.enum_labels.push_back(allowed->text.substr(start, comma - start));
          if (comma == std::string::npos) break;
          start = comma + 1;
        }
      }
      return e;
    }
    return Scalar(ValueKind::kText, kPgText);  // Ltree, Interval as ISO text, ...
  }
  if (t == "bytes") {
    if (name == "org.apache.kafka.connect.data.Decimal") {
      int32_t scale, precision = -1;
      if (!IntParameter(schema, "scale", &scale) || scale < 0 || scale > kMaxDecimalScale) {
        return InvalidArgument("Decimal schema without a valid \"scale\" parameter");
      }
      IntParameter(schema, "connect.decimal.precision", &precision);
      return Numeric(precision, scale);
    }
    return Scalar(ValueKind::kBytes, kPgBytea);  // also io.debezium.data.Bits
  }
  if (t == "array") {
    if (is_element) return InvalidArgument("arrays of arrays are not supported");
    const JsonValue* items = schema.Find("items");
    if (items == nullptr || items->type != JsonValue::Type::kObject) {
      return InvalidArgument("array schema has no \"items\"");
    }
    WF_ASSIGN_OR_RETURN(ValueType element, TypeFromConnect(*items, true));
    return ArrayOf(std::move(element));
  }
  if (t == "struct") {
    if (name == "io.debezium.data.VariableScaleDecimal") return Numeric(-1, -1);
    return Scalar(ValueKind::kText, kPgText);  // geometry and others: their JSON text
  }
  if (t == "map") return Scalar(ValueKind::kText, kPgText);
  return InvalidArgument("unknown Kafka Connect type \"" + type->text + "\"");
}

// ---- Schemaless inference --------------------------------------------------------------

// The JSON shape of a column's values, widened over all of them.
enum class Shape : uint8_t {
  kNone,  // only nulls seen
  kBoolean,
  kInteger,
  kFloat,
  kSpecialFloat,  // "NaN", "Infinity", "-Infinity": a float among numbers, else a string
  kString,
  kDecimalStruct,  // {"scale":..,"value":..}: VariableScaleDecimal
  kJson,           // any other object, or an array PostgreSQL's arrays cannot hold
  kArray,
  kConflict,  // values of different JSON types (a number and a string): read as text
};

struct ColumnShape {
  Shape shape = Shape::kNone;
  Shape element = Shape::kNone;  // kArray
  bool operator==(const ColumnShape&) const = default;
};

Shape JoinScalar(Shape a, Shape b) {
  if (a == b || b == Shape::kNone) return a;
  if (a == Shape::kNone) return b;
  auto numeric = [](Shape s) {
    return s == Shape::kInteger || s == Shape::kFloat || s == Shape::kSpecialFloat;
  };
  auto either = [&](Shape x, Shape y) { return (a == x && b == y) || (a == y && b == x); };
  if (numeric(a) && numeric(b)) return Shape::kFloat;
  if (either(Shape::kSpecialFloat, Shape::kString)) return Shape::kString;
  if (either(Shape::kDecimalStruct, Shape::kJson)) return Shape::kJson;
  return Shape::kConflict;
}

ColumnShape Join(ColumnShape a, ColumnShape b) {
  if (a.shape == Shape::kArray && b.shape == Shape::kArray) {
    Shape e = JoinScalar(a.element, b.element);
    return e == Shape::kConflict ? ColumnShape{Shape::kJson} : ColumnShape{Shape::kArray, e};
  }
  auto json_like = [](Shape s) { return s == Shape::kJson || s == Shape::kDecimalStruct; };
  if ((a.shape == Shape::kArray && json_like(b.shape)) ||
      (b.shape == Shape::kArray && json_like(a.shape))) {
    return {Shape::kJson};
  }
  if (a.shape == Shape::kArray) return b.shape == Shape::kNone ? a : ColumnShape{Shape::kConflict};
  if (b.shape == Shape::kArray) return a.shape == Shape::kNone ? b : ColumnShape{Shape::kConflict};
  return {JoinScalar(a.shape, b.shape)};
}

bool IsDecimalStruct(const JsonValue& v) {
  if (v.keys.size() != 2) return false;
  const JsonValue* scale = v.Find("scale");
  const JsonValue* value = v.Find("value");
  return scale != nullptr && value != nullptr && scale->type == JsonValue::Type::kNumber &&
         IsIntegerText(scale->text) && value->type == JsonValue::Type::kString;
}

Shape ScalarShape(const JsonValue& v) {
  int64_t n;
  switch (v.type) {
    case JsonValue::Type::kNull: return Shape::kNone;
    case JsonValue::Type::kBoolean: return Shape::kBoolean;
    case JsonValue::Type::kNumber: return ParseInt64(v.text, &n) ? Shape::kInteger : Shape::kFloat;
    case JsonValue::Type::kString:
      return IsSpecialFloat(v.text) ? Shape::kSpecialFloat : Shape::kString;
    case JsonValue::Type::kObject: return IsDecimalStruct(v) ? Shape::kDecimalStruct : Shape::kJson;
    case JsonValue::Type::kArray: break;
  }
  return Shape::kJson;
}

ColumnShape ShapeOf(const JsonValue& v) {
  if (v.type != JsonValue::Type::kArray) return {ScalarShape(v)};
  ColumnShape s{Shape::kArray};
  for (const JsonValue& item : v.items) {
    Shape e = item.type == JsonValue::Type::kArray ? Shape::kJson : ScalarShape(item);
    if (e == Shape::kJson) return {Shape::kJson};
    s.element = JoinScalar(s.element, e);
    if (s.element == Shape::kConflict) return {Shape::kJson};
  }
  return s;
}

ValueType ScalarTypeOf(Shape s) {
  switch (s) {
    case Shape::kBoolean: return Scalar(ValueKind::kBoolean, kPgBool);
    case Shape::kInteger: return Scalar(ValueKind::kInt64, kPgInt8);
    case Shape::kFloat: return Scalar(ValueKind::kFloat64, kPgFloat8);
    case Shape::kDecimalStruct: return Numeric(-1, -1);
    case Shape::kJson: return Scalar(ValueKind::kJson, kPgJson);
    case Shape::kConflict: return Scalar(ValueKind::kText, kPgText);
    case Shape::kNone:
    case Shape::kSpecialFloat:
    case Shape::kString:
    case Shape::kArray: break;
  }
  return Scalar(ValueKind::kString, kPgText);
}

ValueType TypeOf(ColumnShape s) {
  if (s.shape == Shape::kArray) return ArrayOf(ScalarTypeOf(s.element));
  return ScalarTypeOf(s.shape);
}

// The shape of the values an inferred type reads, for types inference produces.
std::optional<ColumnShape> ShapeOfType(const ValueType& t) {
  switch (t.kind) {
    case ValueKind::kBoolean: return ColumnShape{Shape::kBoolean};
    case ValueKind::kInt64: return ColumnShape{Shape::kInteger};
    case ValueKind::kFloat64: return ColumnShape{Shape::kFloat};
    case ValueKind::kString: return ColumnShape{Shape::kString};
    case ValueKind::kJson: return ColumnShape{Shape::kJson};
    case ValueKind::kDecimal:
      if (t.scale < 0) return ColumnShape{Shape::kDecimalStruct};
      return std::nullopt;
    case ValueKind::kArray: {
      std::optional<ColumnShape> e = ShapeOfType(*t.element);
      if (!e || e->shape == Shape::kArray) return std::nullopt;
      return ColumnShape{Shape::kArray, e->shape};
    }
    default: return std::nullopt;
  }
}

// ---- Values ----------------------------------------------------------------------------

// Whether `v` is the placeholder as the encoder writes it for a column of `type`.
bool IsPlaceholder(const ValueType& type, const JsonValue& v, const std::string& placeholder,
                   const std::string& placeholder_base64) {
  switch (type.kind) {
    case ValueKind::kBytes:
      return v.type == JsonValue::Type::kString && v.text == placeholder_base64;
    case ValueKind::kDecimal:
      return type.scale >= 0 && v.type == JsonValue::Type::kString && v.text == placeholder_base64;
    case ValueKind::kArray:
      return v.type == JsonValue::Type::kArray && v.items.size() == 1 &&
             IsPlaceholder(*type.element, v.items[0], placeholder, placeholder_base64);
    case ValueKind::kString:
    case ValueKind::kText:
    case ValueKind::kUuid:
    case ValueKind::kJson:
    case ValueKind::kXml:
    case ValueKind::kEnum:
    case ValueKind::kZonedTime:
    case ValueKind::kZonedTimestamp:
      return v.type == JsonValue::Type::kString && v.text == placeholder;
    case ValueKind::kBoolean:
    case ValueKind::kInt16:
    case ValueKind::kInt32:
    case ValueKind::kInt64:
    case ValueKind::kFloat32:
    case ValueKind::kFloat64:
    case ValueKind::kDate:
    case ValueKind::kTimeMillis:
    case ValueKind::kTimeMicros:
    case ValueKind::kTimestampMillis:
    case ValueKind::kTimestampMicros:
    case ValueKind::kInterval: return false;  // the encoder writes null
  }
  return false;
}

Status ReadInteger(const JsonValue& v, int64_t* n) {
  if (v.type != JsonValue::Type::kNumber) return Expected("an integer", v);
  if (!ParseInt64(v.text, n)) {
    return InvalidArgument("expected an integer, got " +
                           std::string(IsIntegerText(v.text) ? "out-of-range " : "") + "number " +
                           Shown(v.text));
  }
  return Status::OK();
}

Status OutOfRange(const JsonValue& v, const char* what) {
  return InvalidArgument(v.text.substr(0, 64) + " is out of range for " + what);
}

// Appends the PostgreSQL text form of the non-null JSON value `v` of a column of `type`.
Status AppendText(const ValueType& type, const JsonValue& v, std::string* out) {
  switch (type.kind) {
    case ValueKind::kBoolean:
      if (v.type != JsonValue::Type::kBoolean) return Expected("a boolean", v);
      out->append(v.boolean ? "t" : "f");
      return Status::OK();
    case ValueKind::kInt16:
    case ValueKind::kInt32:
    case ValueKind::kInt64: {
      int64_t n;
      WF_RETURN_IF_ERROR(ReadInteger(v, &n));
      const int64_t limit = type.kind == ValueKind::kInt16   ? std::numeric_limits<int16_t>::max()
                            : type.kind == ValueKind::kInt32 ? std::numeric_limits<int32_t>::max()
                                                             : std::numeric_limits<int64_t>::max();
      if (n > limit || n < -limit - 1) return OutOfRange(v, type.type_name.c_str());
      out->append(v.text);
      return Status::OK();
    }
    case ValueKind::kFloat32:
    case ValueKind::kFloat64:
      if (v.type == JsonValue::Type::kNumber ||
          (v.type == JsonValue::Type::kString && IsSpecialFloat(v.text))) {
        out->append(v.text);
        return Status::OK();
      }
      return Expected("a number", v);
    case ValueKind::kDecimal: {
      if (type.scale >= 0) return AppendBase64Decimal(v, type.scale, out);
      if (v.type != JsonValue::Type::kObject) return Expected("a {scale, value} object", v);
      const JsonValue* scale = v.Find("scale");
      const JsonValue* value = v.Find("value");
      if (scale == nullptr || value == nullptr) {
        return InvalidArgument("VariableScaleDecimal without \"scale\" and \"value\"");
      }
      int64_t s;
      WF_RETURN_IF_ERROR(ReadInteger(*scale, &s).WithContext("scale"));
      if (s < -kMaxDecimalScale || s > kMaxDecimalScale) return OutOfRange(*scale, "a scale");
      return AppendBase64Decimal(*value, static_cast<int32_t>(s), out);
    }
    case ValueKind::kString:
    case ValueKind::kUuid:
    case ValueKind::kXml:
    case ValueKind::kEnum:
      if (v.type != JsonValue::Type::kString) return Expected("a string", v);
      out->append(v.text);
      return Status::OK();
    case ValueKind::kJson:
      // A string with a schema; without one, an object or array.
      if (v.type == JsonValue::Type::kString) {
        out->append(v.text);
      } else if (v.type == JsonValue::Type::kObject || v.type == JsonValue::Type::kArray) {
        AppendJson(v, out);
      } else {
        return Expected("a string", v);
      }
      return Status::OK();
    case ValueKind::kText:
      // Structs and maps of types the encoder does not write (geometry), and schemaless
      // columns whose values disagree in type: strings as themselves, the rest as JSON text.
      if (v.type == JsonValue::Type::kString) {
        out->append(v.text);
      } else {
        AppendJson(v, out);
      }
      return Status::OK();
    case ValueKind::kBytes: {
      if (v.type != JsonValue::Type::kString) return Expected("a base64 string", v);
      std::string bytes;
      if (!DecodeBase64(v.text, &bytes)) return InvalidArgument("bad base64 " + Shown(v.text));
      AppendByteaHex(bytes, out);
      return Status::OK();
    }
    case ValueKind::kDate: {
      int64_t days;
      WF_RETURN_IF_ERROR(ReadInteger(v, &days));
      if (days == std::numeric_limits<int32_t>::max()) {
        out->append("infinity");
      } else if (days == std::numeric_limits<int32_t>::min()) {
        out->append("-infinity");
      } else if (days > std::numeric_limits<int32_t>::max() ||
                 days < std::numeric_limits<int32_t>::min()) {
        return OutOfRange(v, "a date");
      } else {
        bool bc;
        AppendDate(days, out, &bc);
        if (bc) out->append(" BC");
      }
      return Status::OK();
    }
    case ValueKind::kTimeMillis:
    case ValueKind::kTimeMicros: {
      int64_t n;
      WF_RETURN_IF_ERROR(ReadInteger(v, &n));
      const int64_t unit = type.kind == ValueKind::kTimeMillis ? 1000 : 1;
      if (n < 0 || n > kMicrosPerDay / unit) return OutOfRange(v, "a time of day");
      pg::AppendClock(n * unit, out);
      return Status::OK();
    }
    case ValueKind::kZonedTime: {
      int64_t micros;
      if (v.type != JsonValue::Type::kString) return Expected("a string", v);
      if (!ParseIsoTime(v.text, &micros)) {
        return InvalidArgument(Shown(v.text) + " is not an ISO-8601 time with offset");
      }
      pg::AppendClock(micros, out);
      out->append("+00");
      return Status::OK();
    }
    case ValueKind::kTimestampMillis:
    case ValueKind::kTimestampMicros: {
      int64_t n;
      WF_RETURN_IF_ERROR(ReadInteger(v, &n));
      // The encoder writes PostgreSQL's infinities as the int64 extremes.
      if (n == std::numeric_limits<int64_t>::max()) {
        out->append("infinity");
        return Status::OK();
      }
      if (n == std::numeric_limits<int64_t>::min()) {
        out->append("-infinity");
        return Status::OK();
      }
      int64_t micros = n;
      if (type.kind == ValueKind::kTimestampMillis &&
          __builtin_mul_overflow(n, int64_t{1000}, &micros)) {
        return OutOfRange(v, "a timestamp");
      }
      AppendTimestamp(micros, out);
      return Status::OK();
    }
    case ValueKind::kZonedTimestamp: {
      if (v.type != JsonValue::Type::kString) return Expected("a string", v);
      if (v.text == "infinity" || v.text == "-infinity") {
        out->append(v.text);
        return Status::OK();
      }
      int64_t days, micros_of_day;
      if (!ParseIsoTimestamp(v.text, &days, &micros_of_day)) {
        return InvalidArgument(Shown(v.text) + " is not an ISO-8601 timestamp with offset");
      }
      AppendTimestampParts(days, micros_of_day, true, out);
      return Status::OK();
    }
    case ValueKind::kInterval: {
      int64_t micros;
      WF_RETURN_IF_ERROR(ReadInteger(v, &micros));
      AppendInterval(micros, out);
      return Status::OK();
    }
    case ValueKind::kArray: {
      // The encoder writes a multi-dimensional array as its PostgreSQL text.
      if (v.type == JsonValue::Type::kString) {
        out->append(v.text);
        return Status::OK();
      }
      if (v.type != JsonValue::Type::kArray) return Expected("an array", v);
      const char delimiter = pg::ArrayDelimiter(type.element->type_oid.value);
      std::string element;
      out->push_back('{');
      for (size_t i = 0; i < v.items.size(); ++i) {
        if (i) out->push_back(delimiter);
        if (v.items[i].is_null()) {
          out->append("NULL");
          continue;
        }
        element.clear();
        WF_RETURN_IF_ERROR(AppendText(*type.element, v.items[i], &element)
                               .WithContext("array element " + std::to_string(i + 1)));
        AppendArrayElement(element, delimiter, out);
      }
      out->push_back('}');
      return Status::OK();
    }
  }
  return Internal("unknown value kind");
}

// ---- Layouts ---------------------------------------------------------------------------

bool SameType(const ValueType& a, const ValueType& b) {
  if (a.kind != b.kind || a.type_oid != b.type_oid || a.typmod != b.typmod ||
      a.type_name != b.type_name || a.precision != b.precision || a.scale != b.scale ||
      a.enum_labels != b.enum_labels || (a.element == nullptr) != (b.element == nullptr)) {
    return false;
  }
  return a.element == nullptr || SameType(*a.element, *b.element);
}

bool SameLayout(const TableSchema& a, const TableSchema& b) {
  if (a.replica_identity != b.replica_identity || a.key_columns != b.key_columns ||
      a.columns.size() != b.columns.size()) {
    return false;
  }
  for (size_t i = 0; i < a.columns.size(); ++i) {
    const ColumnSchema& x = a.columns[i];
    const ColumnSchema& y = b.columns[i];
    if (x.name != y.name || x.optional != y.optional || x.replica_key != y.replica_key ||
        x.primary_key_position != y.primary_key_position || !SameType(x.type, y.type)) {
      return false;
    }
  }
  return true;
}

std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

// Columns of the row struct (the "after" or "before" field) of an envelope schema.
Status ColumnsFromSchema(const JsonValue& envelope_schema, std::vector<ColumnSchema>* columns) {
  const JsonValue* fields = envelope_schema.Find("fields");
  const JsonValue* row = nullptr;
  if (fields != nullptr) {
    for (const char* image : {"after", "before"}) {
      for (const JsonValue& f : fields->items) {
        const JsonValue* name = f.Find("field");
        const JsonValue* row_fields = f.Find("fields");
        if (row == nullptr && name != nullptr && name->text == image && row_fields != nullptr &&
            row_fields->type == JsonValue::Type::kArray) {
          row = row_fields;
        }
      }
    }
  }
  if (row == nullptr) return InvalidArgument("the value schema has no \"before\"/\"after\" struct");
  std::unordered_map<std::string_view, size_t> seen;
  for (const JsonValue& f : row->items) {
    const JsonValue* name = f.Find("field");
    if (name == nullptr || name->type != JsonValue::Type::kString) {
      return InvalidArgument("value schema: a row field has no name");
    }
    if (!seen.emplace(name->text, columns->size()).second) {
      return InvalidArgument("value schema: column " + Quoted(name->text) + " appears twice");
    }
    ColumnSchema c;
    c.name = name->text;
    Result<ValueType> type = TypeFromConnect(f);
    if (!type.ok()) {
      return type.status().WithContext("value schema: column " + Quoted(c.name));
    }
    c.type = std::move(type).value();
    const JsonValue* optional = f.Find("optional");
    c.optional =
        optional != nullptr && optional->type == JsonValue::Type::kBoolean && optional->boolean;
    columns->push_back(std::move(c));
  }
  return Status::OK();
}

// Columns of a record without a schema: the members of after, then those only in before,
// typed from their values (see the header).
Status InferColumns(const JsonValue* before, const JsonValue* after, const TableSchema* cached,
                    std::vector<ColumnSchema>* columns) {
  std::unordered_map<std::string_view, size_t> index;
  std::vector<ColumnShape> shapes;
  for (const auto& [image, row] : {std::pair{"after", after}, std::pair{"before", before}}) {
    if (row == nullptr) continue;
    std::vector<bool> seen(shapes.size(), false);
    for (size_t i = 0; i < row->keys.size(); ++i) {
      auto [it, added] = index.emplace(row->keys[i], shapes.size());
      if (added) {
        ColumnSchema c;
        c.name = row->keys[i];
        columns->push_back(std::move(c));
        shapes.emplace_back();
        seen.push_back(false);
      }
      if (seen[it->second]) {
        return InvalidArgument("field " + Quoted(row->keys[i]) + " appears twice in \"" + image +
                               "\"");
      }
      seen[it->second] = true;
      shapes[it->second] = Join(shapes[it->second], ShapeOf(row->items[i]));
    }
  }
  for (size_t i = 0; i < columns->size(); ++i) {
    ColumnSchema& c = (*columns)[i];
    // Keep the type of the previous layout where it reads every value of this record.
    const ColumnSchema* old = nullptr;
    if (cached != nullptr) {
      if (i < cached->columns.size() && cached->columns[i].name == c.name) {
        old = &cached->columns[i];
      } else {
        for (const ColumnSchema& o : cached->columns) {
          if (o.name == c.name) old = &o;
        }
      }
    }
    std::optional<ColumnShape> old_shape;
    if (old != nullptr) old_shape = ShapeOfType(old->type);
    c.type = old_shape && Join(*old_shape, shapes[i]) == *old_shape ? old->type : TypeOf(shapes[i]);
  }
  return Status::OK();
}

// The table an event belongs to: source.schema and source.table, else the topic.
Status TableName(const JsonValue* source, std::string_view topic, std::string* schema,
                 std::string* table) {
  const JsonValue* s = source != nullptr ? source->Find("schema") : nullptr;
  const JsonValue* t = source != nullptr ? source->Find("table") : nullptr;
  if (s != nullptr && t != nullptr && s->type == JsonValue::Type::kString &&
      t->type == JsonValue::Type::kString) {
    *schema = s->text;
    *table = t->text;
    return Status::OK();
  }
  if (topic.empty()) {
    return InvalidArgument("no source.schema/source.table and no topic to name the table");
  }
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    size_t dot = topic.find('.', start);
    parts.push_back(topic.substr(start, dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  *table = parts.back();
  *schema = parts.size() >= 3 ? std::string(parts[parts.size() - 2]) : "public";
  return Status::OK();
}

Status ReadSnapshotMark(const JsonValue* v, SnapshotMark* mark) {
  *mark = SnapshotMark::kNone;
  if (v == nullptr || v->is_null()) return Status::OK();
  if (v->type == JsonValue::Type::kBoolean) {  // Debezium before 1.6
    *mark = v->boolean ? SnapshotMark::kTrue : SnapshotMark::kNone;
    return Status::OK();
  }
  if (v->type != JsonValue::Type::kString) {
    return Expected("a string", *v).WithContext("source.snapshot");
  }
  const std::string& t = v->text;
  if (t == "true" || t == "first_in_data_collection" || t == "last_in_data_collection") {
    *mark = SnapshotMark::kTrue;
  } else if (t == "first") {
    *mark = SnapshotMark::kFirst;
  } else if (t == "last") {
    *mark = SnapshotMark::kLast;
  } else if (t == "incremental") {
    *mark = SnapshotMark::kIncremental;
  } else if (t != "false") {
    return InvalidArgument("unknown source.snapshot " + Quoted(t));
  }
  return Status::OK();
}

// The first element of source.sequence ("[\"<last commit lsn>\",\"<lsn>\"]"), if a number.
std::optional<uint64_t> SequenceCommitLsn(const JsonValue* sequence) {
  if (sequence == nullptr || sequence->type != JsonValue::Type::kString) return std::nullopt;
  Result<JsonValue> parsed = ParseJson(sequence->text, "source.sequence");
  if (!parsed.ok() || parsed->type != JsonValue::Type::kArray || parsed->items.empty()) {
    return std::nullopt;
  }
  const JsonValue& first = parsed->items[0];
  uint64_t lsn;
  if ((first.type == JsonValue::Type::kString || first.type == JsonValue::Type::kNumber) &&
      ParseUint64(first.text, &lsn)) {
    return lsn;
  }
  return std::nullopt;
}

// Debezium's other record kinds on change topics: heartbeats ({"ts_ms":...}), transaction
// metadata ({"status":"BEGIN","id":...}) and schema changes ({"ddl":...,"tableChanges":...}).
bool IsNotARowChange(const JsonValue& envelope, const JsonValue* schema) {
  const JsonValue* name = schema != nullptr ? schema->Find("name") : nullptr;
  if (name != nullptr && name->type == JsonValue::Type::kString) {
    const std::string& n = name->text;
    if (n.ends_with(".Heartbeat") || n.ends_with("TransactionMetadataValue") ||
        n.ends_with("SchemaChangeValue")) {
      return true;
    }
  }
  if (envelope.keys.size() == 1 && envelope.keys[0] == "ts_ms") return true;
  if (envelope.Find("status") != nullptr && envelope.Find("id") != nullptr) return true;
  return envelope.Find("ddl") != nullptr || envelope.Find("tableChanges") != nullptr;
}

// The "before" or "after" row object, or nullptr when absent or null.
Status RowImage(const JsonValue& envelope, const char* name, const JsonValue** row) {
  const JsonValue* v = envelope.Find(name);
  *row = v != nullptr && !v->is_null() ? v : nullptr;
  if (*row != nullptr && v->type != JsonValue::Type::kObject) {
    return InvalidArgument(std::string("field \"") + name + "\" is a JSON " + JsonTypeName(*v) +
                           ", not an object");
  }
  return Status::OK();
}

// The field names of the record key's payload, in order; none for a null key.
Status KeyFieldNames(std::string_view key, std::vector<std::string>* names) {
  if (key.empty()) return Status::OK();
  WF_ASSIGN_OR_RETURN(JsonValue root, ParseJson(key, "key"));
  const JsonValue* payload = &root;
  if (root.Find("schema") != nullptr && root.Find("payload") != nullptr) {
    payload = root.Find("payload");
  }
  if (payload->is_null()) return Status::OK();
  if (payload->type != JsonValue::Type::kObject) {
    return InvalidArgument(std::string("key is a JSON ") + JsonTypeName(*payload) +
                           ", not an object");
  }
  *names = payload->keys;
  return Status::OK();
}

}  // namespace

DebeziumReader::DebeziumReader(DebeziumReaderOptions options) : options_(std::move(options)) {
  pg::AppendBase64(options_.unavailable_value_placeholder, &placeholder_base64_);
}

TableSchemaPtr DebeziumReader::Intern(TableState* state, TableSchema layout) {
  if (state->schema != nullptr && SameLayout(*state->schema, layout)) return state->schema;
  layout.relid = state->relid;
  layout.version = ++last_version_;
  state->schema = std::make_shared<const TableSchema>(std::move(layout));
  return state->schema;
}

namespace {

// Reads one row image into datums whose text is appended to `text`.
Status ReadRow(const JsonValue& row, const char* image, const TableSchema& layout,
               const std::string& placeholder, const std::string& placeholder_base64,
               std::string* text, std::vector<Datum>* datums) {
  const std::vector<ColumnSchema>& columns = layout.columns;
  datums->assign(columns.size(), Datum());
  std::vector<bool> seen(columns.size(), false);
  std::unordered_map<std::string_view, size_t> index;  // built on the first out-of-place field
  for (size_t i = 0; i < row.keys.size(); ++i) {
    const std::string& name = row.keys[i];
    size_t c = i;
    if (c >= columns.size() || columns[c].name != name) {
      if (index.empty()) {
        for (size_t k = 0; k < columns.size(); ++k) index.emplace(columns[k].name, k);
      }
      auto it = index.find(name);
      if (it == index.end()) {
        return InvalidArgument("field " + Quoted(name) + " of \"" + image +
                               "\" is not in the value schema");
      }
      c = it->second;
    }
    if (seen[c]) {
      return InvalidArgument("field " + Quoted(name) + " appears twice in \"" + image + "\"");
    }
    seen[c] = true;
    const JsonValue& v = row.items[i];
    Datum& d = (*datums)[c];
    if (v.is_null()) continue;
    if (IsPlaceholder(columns[c].type, v, placeholder, placeholder_base64)) {
      d.kind = Datum::Kind::kUnchangedToast;
      continue;
    }
    const size_t offset = text->size();
    Status s = AppendText(columns[c].type, v, text);
    if (!s.ok()) {
      return s.WithContext("table " + layout.QualifiedName() + ", " + image + " image, column " +
                           Quoted(name));
    }
    d.kind = Datum::Kind::kText;
    d.offset = static_cast<uint32_t>(offset);
    d.length = static_cast<uint32_t>(text->size() - offset);
  }
  return Status::OK();
}

}  // namespace

Status DebeziumReader::Append(std::string_view topic, std::string_view key, std::string_view value,
                              ChangeBatch* batch, bool* added) {
  *added = false;
  if (value.empty()) return Status::OK();  // tombstone
  WF_ASSIGN_OR_RETURN(JsonValue root, ParseJson(value, "value"));
  if (root.is_null()) return Status::OK();
  if (root.type != JsonValue::Type::kObject) {
    return InvalidArgument(std::string("value is a JSON ") + JsonTypeName(root) +
                           ", not an object");
  }

  // Kafka Connect's JsonConverter wraps the event as {"schema":...,"payload":...}.
  const JsonValue* envelope = &root;
  const JsonValue* schema = nullptr;
  if (root.Find("schema") != nullptr && root.Find("payload") != nullptr) {
    envelope = root.Find("payload");
    schema = root.Find("schema");
    if (schema->is_null()) {
      schema = nullptr;
    } else if (schema->type != JsonValue::Type::kObject) {
      return InvalidArgument(std::string("\"schema\" is a JSON ") + JsonTypeName(*schema) +
                             ", not an object");
    }
    if (envelope->is_null()) return Status::OK();
    if (envelope->type != JsonValue::Type::kObject) {
      return InvalidArgument(std::string("\"payload\" is a JSON ") + JsonTypeName(*envelope) +
                             ", not an object");
    }
  }

  const JsonValue* op_value = envelope->Find("op");
  if (op_value == nullptr) {
    if (IsNotARowChange(*envelope, schema)) return Status::OK();
    return InvalidArgument("no \"op\" field: not a Debezium change event");
  }
  if (op_value->type != JsonValue::Type::kString) {
    return Expected("a string", *op_value).WithContext("field \"op\"");
  }
  ChangeOp op;
  const std::string& op_text = op_value->text;
  if (op_text == "c") {
    op = ChangeOp::kCreate;
  } else if (op_text == "u") {
    op = ChangeOp::kUpdate;
  } else if (op_text == "d") {
    op = ChangeOp::kDelete;
  } else if (op_text == "r") {
    op = ChangeOp::kRead;
  } else if (op_text == "t") {
    op = ChangeOp::kTruncate;
  } else if (op_text == "m") {
    return Status::OK();  // a logical decoding message (pg_logical_emit_message), not a row
  } else {
    return InvalidArgument("unknown op " + Quoted(op_text));
  }

  // Source block.
  const JsonValue* source = envelope->Find("source");
  if (source != nullptr && source->is_null()) source = nullptr;
  if (source != nullptr && source->type != JsonValue::Type::kObject) {
    return InvalidArgument(std::string("field \"source\" is a JSON ") + JsonTypeName(*source) +
                           ", not an object");
  }
  TableSchema layout;
  WF_RETURN_IF_ERROR(TableName(source, topic, &layout.schema, &layout.name));
  int64_t lsn = 0, txid = 0, ts_us = 0, ts_ms = 0;
  SnapshotMark snapshot = SnapshotMark::kNone;
  std::optional<uint64_t> commit_lsn;
  if (source != nullptr) {
    WF_RETURN_IF_ERROR(ReadIntegerField(*source, "source", "lsn", &lsn));
    WF_RETURN_IF_ERROR(ReadIntegerField(*source, "source", "txId", &txid));
    WF_RETURN_IF_ERROR(ReadIntegerField(*source, "source", "ts_ms", &ts_ms));
    WF_RETURN_IF_ERROR(ReadIntegerField(*source, "source", "ts_us", &ts_us));
    WF_RETURN_IF_ERROR(ReadSnapshotMark(source->Find("snapshot"), &snapshot));
    commit_lsn = SequenceCommitLsn(source->Find("sequence"));
    if (lsn < 0) return InvalidArgument("source.lsn " + std::to_string(lsn) + " is negative");
  }
  const JsonValue* ts_us_value = source != nullptr ? source->Find("ts_us") : nullptr;
  const bool has_ts_us = ts_us_value != nullptr && !ts_us_value->is_null();
  // Events carry ts_ns = ts_us * 1000 too: keep that representable (years ±292).
  constexpr int64_t kMaxMicros = std::numeric_limits<int64_t>::max() / 1000;
  if ((has_ts_us && (ts_us > kMaxMicros || ts_us < -kMaxMicros)) ||
      (!has_ts_us && (ts_ms > kMaxMicros / 1000 || ts_ms < -kMaxMicros / 1000))) {
    return InvalidArgument(std::string("source.") + (has_ts_us ? "ts_us " : "ts_ms ") +
                           std::to_string(has_ts_us ? ts_us : ts_ms) +
                           " is out of range for a timestamp");
  }
  const int64_t commit_time_us = has_ts_us ? ts_us : ts_ms * 1000;
  int64_t total_order = 0;
  const JsonValue* transaction = envelope->Find("transaction");
  if (transaction != nullptr && transaction->type == JsonValue::Type::kObject) {
    WF_RETURN_IF_ERROR(ReadIntegerField(*transaction, "transaction", "total_order", &total_order));
  }

  // Row images.
  const JsonValue* before;
  const JsonValue* after;
  WF_RETURN_IF_ERROR(RowImage(*envelope, "before", &before));
  WF_RETURN_IF_ERROR(RowImage(*envelope, "after", &after));
  if (op == ChangeOp::kTruncate) before = after = nullptr;
  if (after == nullptr &&
      (op == ChangeOp::kCreate || op == ChangeOp::kRead || op == ChangeOp::kUpdate)) {
    return InvalidArgument("field \"after\" missing for op " + op_text);
  }
  if (before == nullptr && op == ChangeOp::kDelete) {
    return InvalidArgument("field \"before\" missing for op d");
  }

  // Layout: from the schema, inferred, or (a truncate without one) the table's last.
  auto state = tables_.find({layout.schema, layout.name});
  const TableSchema* cached = state != tables_.end() ? state->second.schema.get() : nullptr;
  const bool reuse_cached = before == nullptr && after == nullptr && cached != nullptr;
  if (!reuse_cached) {
    if (schema != nullptr) {
      WF_RETURN_IF_ERROR(ColumnsFromSchema(*schema, &layout.columns));
    } else {
      Status s = InferColumns(before, after, cached, &layout.columns);
      if (!s.ok()) return s.WithContext("table " + layout.QualifiedName());
    }
    std::vector<std::string> key_names;
    WF_RETURN_IF_ERROR(KeyFieldNames(key, &key_names));
    for (size_t k = 0; k < key_names.size(); ++k) {
      auto col = std::find_if(layout.columns.begin(), layout.columns.end(),
                              [&](const ColumnSchema& c) { return c.name == key_names[k]; });
      if (col == layout.columns.end()) {
        return InvalidArgument("key field " + Quoted(key_names[k]) + " is not a column of " +
                               layout.QualifiedName());
      }
      if (col->primary_key_position >= 0) {
        return InvalidArgument("key field " + Quoted(key_names[k]) + " appears twice");
      }
      col->primary_key_position = static_cast<int>(k);
      col->replica_key = true;
      layout.key_columns.push_back(static_cast<int>(col - layout.columns.begin()));
    }
  }

  // Values, all read before anything is appended.
  const TableSchema& read_layout = reuse_cached ? *cached : layout;
  text_.clear();
  const std::string& placeholder = options_.unavailable_value_placeholder;
  if (before != nullptr) {
    WF_RETURN_IF_ERROR(ReadRow(*before, "before", read_layout, placeholder, placeholder_base64_,
                               &text_, &before_));
  }
  if (after != nullptr) {
    WF_RETURN_IF_ERROR(
        ReadRow(*after, "after", read_layout, placeholder, placeholder_base64_, &text_, &after_));
  }

  // Commit: schema, change, rows.
  if (state == tables_.end()) {
    state = tables_.emplace(std::pair{layout.schema, layout.name}, TableState{}).first;
    state->second.relid = Oid(++last_relid_);
  }
  TableSchemaPtr table = reuse_cached ? state->second.schema : Intern(&state->second, layout);
  batch->Retain(table);
  auto append_row = [&](const std::vector<Datum>& datums) {
    int32_t first = batch->AddRow(datums.size());
    for (size_t i = 0; i < datums.size(); ++i) {
      const Datum& d = datums[i];
      const int32_t index = first + static_cast<int32_t>(i);
      if (d.kind == Datum::Kind::kText) {
        batch->SetText(index, std::string_view(text_).substr(d.offset, d.length));
      } else {
        batch->DatumAt(index).kind = d.kind;
      }
    }
    return first;
  };
  const int32_t before_row = before != nullptr ? append_row(before_) : -1;
  const int32_t after_row = after != nullptr ? append_row(after_) : -1;
  Change& change = batch->AddChange();
  change.op = op;
  change.snapshot = snapshot;
  change.table = table.get();
  change.before = before_row;
  change.after = after_row;
  change.lsn = Lsn(static_cast<uint64_t>(lsn));
  change.commit_lsn = Lsn(commit_lsn.value_or(static_cast<uint64_t>(lsn)));
  change.seq = total_order > 0 && total_order <= std::numeric_limits<uint32_t>::max()
                   ? static_cast<uint32_t>(total_order)
                   : 0;
  change.xid = Xid(static_cast<uint32_t>(static_cast<uint64_t>(txid) & 0xffffffffu));
  change.commit_time_us = commit_time_us;
  *added = true;
  return Status::OK();
}

}  // namespace walflow::format
