// Writers of PostgreSQL's text output forms (DateStyle ISO, IntervalStyle postgres,
// TimeZone UTC, as walflow sets them on its connections): the text PostgreSQL itself
// would send for a value, which the parsers of pg/text_codec.h read back to the same
// value. Code that makes a datum's text without a server (the Debezium reader) and the
// event format's ISO-8601 writers build on these.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace walflow::pg {

inline constexpr int64_t kMicrosPerSecond = 1000000;
inline constexpr int64_t kMicrosPerDay = 86400 * kMicrosPerSecond;
// Debezium's MicroDuration: a month is 365.25 / 12 = 30.4375 days, in ParseInterval and in
// AppendInterval alike.
inline constexpr int64_t kMicrosPerMonth = 2629800 * kMicrosPerSecond;

// Days since 1970-01-01 and µs into that day (in [0, 24h)) of µs since the epoch.
void SplitTimestamp(int64_t micros, int64_t* days, int64_t* micros_of_day);

// `v` in decimal, left-padded with zeros to `width` digits.
void AppendPadded(int64_t v, int width, std::string* out);

// "t" or "f".
void AppendBool(bool v, std::string* out);

// "YYYY-MM-DD" with the year zero-padded to at least four digits; `year` must not be
// negative (callers print eras and signs themselves).
void AppendCalendarDate(int64_t year, unsigned month, unsigned day, std::string* out);

// A date of days since 1970-01-01: "2024-03-01", years before 1 as "0044-03-15 BC" (year 0
// of the proleptic calendar is 1 BC).
void AppendDate(int64_t days, std::string* out);

// "HH:MM:SS[.ffffff]" of µs since midnight, the fraction without trailing zeros, as
// PostgreSQL prints a time (24:00:00 included).
void AppendClock(int64_t micros_of_day, std::string* out);
// A timetz in UTC: the clock followed by "+00".
void AppendTimeTz(int64_t micros_of_day_utc, std::string* out);

// A timestamp "2024-03-01 12:34:56.5" ("... BC" before year 1), of µs since the epoch or of
// days since the epoch and µs into that day.
void AppendTimestamp(int64_t micros, std::string* out);
void AppendTimestamp(int64_t days, int64_t micros_of_day, std::string* out);
// A timestamptz in UTC: "2024-03-01 12:34:56.5+00" ("...+00 BC" before year 1).
void AppendTimestampTz(int64_t days, int64_t micros_of_day, std::string* out);

// An interval of µs in IntervalStyle postgres, "1 year 2 mons 3 days 04:05:06.789", each
// part carrying the sign of a negative interval. Months and days are recovered with
// MicroDuration's fixed month, so ParseInterval reads the text back to exactly `micros`.
void AppendInterval(int64_t micros, std::string* out);

// bytea in hex format: "\x" and two lower-case digits per byte.
void AppendByteaHex(std::string_view bytes, std::string* out);

// A numeric's text of unscaled × 10^-scale, where `unscaled` is a non-empty big-endian
// two's-complement integer (DecimalToUnscaled's output, Java's BigInteger.toByteArray):
// "-123.45", "0.001"; a negative scale appends that many zeros to a non-zero value.
void AppendNumeric(std::string_view unscaled, int32_t scale, std::string* out);

// One element's text inside an array literal, double-quoted (with '"' and '\' escaped)
// where array_out quotes it: empty, "NULL" in any case, or holding a brace, a quote, a
// backslash, the delimiter or white space. An array literal is '{', the elements separated
// by the element type's delimiter (ArrayDelimiter), and '}'; a null element is NULL.
void AppendArrayElement(std::string_view text, char delimiter, std::string* out);

}  // namespace walflow::pg
