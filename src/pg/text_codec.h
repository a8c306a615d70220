// Parsers of PostgreSQL's text output forms (DateStyle ISO, IntervalStyle postgres,
// TimeZone UTC, which walflow sets on its connections) and the small encodings the
// event format needs. Every parser returns false on input it does not recognise; none
// of them allocates unless it writes to an output string. The writers of the same text
// forms are in pg/text_format.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pg/text_format.h"

namespace walflow::pg {

// PostgreSQL's 'infinity' and '-infinity' for date, timestamp and timestamptz.
enum class Infinity { kNone, kPositive, kNegative };
Infinity ParseInfinity(std::string_view text);

bool ParseBool(std::string_view text, bool* out);

// Days since 1970-01-01 of a proleptic Gregorian date "YYYY-MM-DD[ BC]".
bool ParseDate(std::string_view text, int32_t* days);

// Microseconds since midnight of "HH:MM:SS[.ffffff]" (24:00:00 allowed).
bool ParseTime(std::string_view text, int64_t* micros);

// A timetz "HH:MM:SS[.ffffff]+HH[:MM[:SS]]" as microseconds since midnight UTC, in [0, 24h).
bool ParseTimeTz(std::string_view text, int64_t* micros_utc);

// Microseconds since the Unix epoch of "YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM[:SS]]][ BC]".
// An offset, when present, is applied (timestamptz); a timestamp without one is read as is.
// Values beyond int64 (PostgreSQL allows years up to 294276) saturate.
bool ParseTimestamp(std::string_view text, int64_t* micros);
// The same instant as days since 1970-01-01 and microseconds into that day (UTC for a
// timestamptz), which never overflows.
bool ParseTimestampParts(std::string_view text, int64_t* days, int64_t* micros_of_day);

// An interval in IntervalStyle postgres ("1 year 2 mons -3 days +04:05:06.5") as
// microseconds, with Debezium's MicroDuration rule: a month is 365.25/12 days.
bool ParseInterval(std::string_view text, int64_t* micros);

// The value of a hexadecimal digit, -1 for any other character.
inline int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes bytea output ("\x" hex, or the legacy escape format).
bool DecodeBytea(std::string_view text, std::string* out);

// A numeric's text as its unscaled value (two's complement, big-endian, minimal length,
// as Java's BigInteger.toByteArray) and its scale (digits after the point).
bool DecimalToUnscaled(std::string_view text, std::string* bytes, int32_t* scale);

// Elements of a one-dimensional array's text form "{a,"b c",NULL}". Returns false for
// multi-dimensional arrays and malformed input. Element views point into `text` or, for
// elements with escapes, into `scratch`.
struct ArrayElement {
  bool is_null = false;
  std::string_view text;
};
// `delimiter` is the element type's typdelim: ',' for every built-in type but box (';').
bool ParseArray(std::string_view text, std::vector<ArrayElement>* out, std::string* scratch,
                char delimiter = ',');

// The typdelim of a built-in element type.
constexpr uint32_t kBoxTypeOid = 603;
inline char ArrayDelimiter(uint32_t element_type_oid) {
  return element_type_oid == kBoxTypeOid ? ';' : ',';
}

void AppendBase64(std::string_view bytes, std::string* out);

// Proleptic Gregorian calendar arithmetic.
int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day);
void CivilFromDays(int64_t days, int64_t* year, unsigned* month, unsigned* day);

// ISO-8601 in UTC as Java's ISO_OFFSET_DATE_TIME prints it: seconds always, the
// fraction only as long as needed, "Z" for UTC: "2024-01-15T13:45:30.12Z".
void AppendIsoTimestampUtc(int64_t micros_since_epoch, std::string* out);
void AppendIsoTimestampUtc(int64_t days, int64_t micros_of_day, std::string* out);
void AppendIsoTimeUtc(int64_t micros_since_midnight, std::string* out);

}  // namespace walflow::pg
