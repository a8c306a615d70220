#include "sql/datetime.h"

#include <algorithm>
#include <limits>
#include <span>
#include <string>

#include "pg/text_codec.h"
#include "pg/text_format.h"

namespace walflow::sql {
namespace {

using pg::kMicrosPerDay;
using pg::kMicrosPerSecond;
constexpr int64_t kMicrosPerMinute = 60 * kMicrosPerSecond;
constexpr int64_t kMicrosPerHour = 60 * kMicrosPerMinute;
constexpr int64_t kSecondsPerDay = 86400;
// Julian day number of 2000-01-01 (POSTGRES_EPOCH_JDATE).
constexpr int64_t kPgEpochJulianDay = 2451545;
// 1970-01-01 00:00 as a timestamp (SetEpochTimestamp).
constexpr int64_t kUnixEpochTimestamp = -kUnixToPgEpochDays * kMicrosPerDay;
// The valid timestamps, [4714-11-24 BC, 294277-01-01) (MIN_TIMESTAMP, END_TIMESTAMP).
constexpr int64_t kMinTimestamp = -211813488000000000;
constexpr int64_t kEndTimestamp = 9223371331200000000;

// The units of PostgreSQL's datetime token tables (DTK_*) that date_trunc and extract use.
enum class Unit {
  kMicrosecond,
  kMillisecond,
  kSecond,
  kMinute,
  kHour,
  kDay,
  kWeek,
  kMonth,
  kQuarter,
  kYear,
  kDecade,
  kCentury,
  kMillennium,
  kJulian,
  kDow,
  kIsoDow,
  kDoy,
  kIsoYear,
  kTimezone,
  kTimezoneHour,
  kTimezoneMinute,
  // Reserved words (RESERV): of these only epoch is a field.
  kEpoch,
  kOtherReserved,
  kNone,
};

// A token's class in the tables: UNITS, RESERV, or anything else (month names, "ago", not
// found), which every caller reports as "not recognized".
enum class TokenType { kUnits, kReserved, kUnknown };

struct Token {
  const char* text;
  TokenType type;
  Unit unit;
};

constexpr TokenType U = TokenType::kUnits;
constexpr TokenType R = TokenType::kReserved;

// deltatktbl's units (PostgreSQL's interval-unit table): DecodeUnits, all date_trunc reads.
constexpr Token kDeltaTokens[] = {
    {"c", U, Unit::kCentury},
    {"cent", U, Unit::kCentury},
    {"centuries", U, Unit::kCentury},
    {"century", U, Unit::kCentury},
    {"d", U, Unit::kDay},
    {"day", U, Unit::kDay},
    {"days", U, Unit::kDay},
    {"dec", U, Unit::kDecade},
    {"decade", U, Unit::kDecade},
    {"decades", U, Unit::kDecade},
    {"decs", U, Unit::kDecade},
    {"h", U, Unit::kHour},
    {"hour", U, Unit::kHour},
    {"hours", U, Unit::kHour},
    {"hr", U, Unit::kHour},
    {"hrs", U, Unit::kHour},
    {"m", U, Unit::kMinute},
    {"microsecon", U, Unit::kMicrosecond},
    {"mil", U, Unit::kMillennium},
    {"millennia", U, Unit::kMillennium},
    {"millennium", U, Unit::kMillennium},
    {"millisecon", U, Unit::kMillisecond},
    {"mils", U, Unit::kMillennium},
    {"min", U, Unit::kMinute},
    {"mins", U, Unit::kMinute},
    {"minute", U, Unit::kMinute},
    {"minutes", U, Unit::kMinute},
    {"mon", U, Unit::kMonth},
    {"mons", U, Unit::kMonth},
    {"month", U, Unit::kMonth},
    {"months", U, Unit::kMonth},
    {"ms", U, Unit::kMillisecond},
    {"msec", U, Unit::kMillisecond},
    {"msecond", U, Unit::kMillisecond},
    {"mseconds", U, Unit::kMillisecond},
    {"msecs", U, Unit::kMillisecond},
    {"qtr", U, Unit::kQuarter},
    {"quarter", U, Unit::kQuarter},
    {"s", U, Unit::kSecond},
    {"sec", U, Unit::kSecond},
    {"second", U, Unit::kSecond},
    {"seconds", U, Unit::kSecond},
    {"secs", U, Unit::kSecond},
    {"timezone", U, Unit::kTimezone},
    {"timezone_h", U, Unit::kTimezoneHour},
    {"timezone_m", U, Unit::kTimezoneMinute},
    {"us", U, Unit::kMicrosecond},
    {"usec", U, Unit::kMicrosecond},
    {"usecond", U, Unit::kMicrosecond},
    {"useconds", U, Unit::kMicrosecond},
    {"usecs", U, Unit::kMicrosecond},
    {"w", U, Unit::kWeek},
    {"week", U, Unit::kWeek},
    {"weeks", U, Unit::kWeek},
    {"y", U, Unit::kYear},
    {"year", U, Unit::kYear},
    {"years", U, Unit::kYear},
    {"yr", U, Unit::kYear},
    {"yrs", U, Unit::kYear},
};

// datetktbl's units and reserved words (PostgreSQL's date-input table): DecodeSpecial,
// which extract and date_part read when DecodeUnits found nothing.
constexpr Token kDateTokens[] = {
    {"-infinity", R, Unit::kOtherReserved},
    {"allballs", R, Unit::kOtherReserved},
    {"d", U, Unit::kDay},
    {"dow", U, Unit::kDow},
    {"doy", U, Unit::kDoy},
    {"epoch", R, Unit::kEpoch},
    {"h", U, Unit::kHour},
    {"infinity", R, Unit::kOtherReserved},
    {"isodow", U, Unit::kIsoDow},
    {"isoyear", U, Unit::kIsoYear},
    {"j", U, Unit::kJulian},
    {"jd", U, Unit::kJulian},
    {"julian", U, Unit::kJulian},
    {"m", U, Unit::kMonth},
    {"mm", U, Unit::kMinute},
    {"now", R, Unit::kOtherReserved},
    {"s", U, Unit::kSecond},
    {"today", R, Unit::kOtherReserved},
    {"tomorrow", R, Unit::kOtherReserved},
    {"y", U, Unit::kYear},
    {"yesterday", R, Unit::kOtherReserved},
};

struct Units {
  std::string name;  // folded, as PostgreSQL's messages print it
  TokenType type = TokenType::kUnknown;
  Unit unit = Unit::kNone;
};

// datebsearch: a token matches on its first TOKMAXLEN (10) characters.
const Token* FindToken(std::span<const Token> table, std::string_view key) {
  std::string_view prefix = key.substr(0, 10);
  for (const Token& t : table) {
    if (prefix == t.text) return &t;
  }
  return nullptr;
}

// downcase_truncate_identifier (ASCII letters folded; at most NAMEDATALEN - 1 bytes, not
// splitting a UTF-8 character), then DecodeUnits and, for extract, DecodeSpecial.
Units DecodeUnits(std::string_view text, bool special) {
  Units u;
  u.name.assign(text);
  for (char& c : u.name) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + ('a' - 'A'));
  }
  constexpr size_t kMaxIdentifierBytes = 63;
  if (u.name.size() > kMaxIdentifierBytes) {
    size_t n = kMaxIdentifierBytes;
    while (n > 0 && (static_cast<unsigned char>(u.name[n]) & 0xC0) == 0x80) --n;
    u.name.resize(n);
  }
  const Token* t = FindToken(kDeltaTokens, u.name);
  if (t == nullptr && special) t = FindToken(kDateTokens, u.name);
  if (t != nullptr) {
    u.type = t->type;
    u.unit = t->unit;
  }
  return u;
}

Status NotRecognized(const Units& u, SqlType type) {
  return InvalidArgument("unit \"" + u.name + "\" not recognized for type " + SqlTypeName(type));
}
Status NotSupported(const Units& u, SqlType type) {
  return InvalidArgument("unit \"" + u.name + "\" not supported for type " + SqlTypeName(type));
}
Status TimestampOutOfRange() { return InvalidArgument("timestamp out of range"); }
Status IntervalOutOfRange() { return InvalidArgument("interval out of range"); }

bool IsInfinite(const Value& v) {
  if (v.type() == SqlType::kDate) {
    return v.int_value() == kDatePositiveInfinity || v.int_value() == kDateNegativeInfinity;
  }
  return v.int_value() == kTimestampPositiveInfinity || v.int_value() == kTimestampNegativeInfinity;
}
bool IsNegativeInfinity(const Value& v) {
  return v.type() == SqlType::kDate ? v.int_value() == kDateNegativeInfinity
                                    : v.int_value() == kTimestampNegativeInfinity;
}

// Days since 2000-01-01 of a proleptic Gregorian date (astronomical years: 1 BC is 0).
int64_t DaysFromCivil(int64_t year, int64_t month, int64_t day) {
  return pg::DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) -
         kUnixToPgEpochDays;
}

// Day of the week, 0 = Sunday (j2day).
int64_t DayOfWeek(int64_t days) {
  int64_t d = (days + kPgEpochJulianDay + 1) % 7;
  return d < 0 ? d + 7 : d;
}

// A day as PostgreSQL's broken-down date (j2date).
struct CivilDate {
  int64_t days = 0;  // since 2000-01-01
  int64_t year = 0;  // astronomical
  int64_t month = 0;
  int64_t day = 0;

  explicit CivilDate(int64_t d) : days(d) {
    unsigned m, dd;
    pg::CivilFromDays(d + kUnixToPgEpochDays, &year, &m, &dd);
    month = m;
    day = dd;
  }
  int64_t JulianDay() const { return days + kPgEpochJulianDay; }
  int64_t DayOfYear() const { return days - DaysFromCivil(year, 1, 1) + 1; }
  // The ISO 8601 week-numbering year and week (date2isoyear, date2isoweek): those of the
  // Thursday of the day's Monday-to-Sunday week.
  void IsoWeek(int64_t* iso_year, int64_t* week) const {
    CivilDate thursday(days - (DayOfWeek(days) + 6) % 7 + 3);
    *iso_year = thursday.year;
    *week = (thursday.days - DaysFromCivil(thursday.year, 1, 1)) / 7 + 1;
  }
};

// A finite timestamp as timestamp2tm splits it in UTC.
struct CivilTime {
  CivilDate date;
  int64_t micros_of_day;
  int64_t hour, minute, second, micros;  // micros: within the second

  static CivilTime Of(int64_t t) {
    int64_t days = t / kMicrosPerDay, rem = t % kMicrosPerDay;
    if (rem < 0) {
      rem += kMicrosPerDay;
      --days;
    }
    return CivilTime(CivilDate(days), rem);
  }

 private:
  CivilTime(CivilDate d, int64_t rem)
      : date(d),
        micros_of_day(rem),
        hour(rem / kMicrosPerHour),
        minute(rem / kMicrosPerMinute % 60),
        second(rem / kMicrosPerSecond % 60),
        micros(rem % kMicrosPerSecond) {}
};

// int64_div_fast_to_numeric: value / 10^scale, exactly, with that display scale.
Decimal FixedPoint(__int128 value, int scale) {
  bool negative = value < 0;
  unsigned __int128 magnitude =
      negative ? -static_cast<unsigned __int128>(value) : static_cast<unsigned __int128>(value);
  std::string digits;
  do {
    digits.push_back(static_cast<char>('0' + static_cast<int>(magnitude % 10)));
    magnitude /= 10;
  } while (magnitude != 0);
  while (digits.size() <= static_cast<size_t>(scale)) digits.push_back('0');
  std::reverse(digits.begin(), digits.end());
  if (scale > 0) digits.insert(digits.size() - static_cast<size_t>(scale), 1, '.');
  if (negative) digits.insert(digits.begin(), '-');
  return *Decimal::Parse(digits);
}

// The result forms of extract (numeric) and date_part (double precision).
class PartResult {
 public:
  explicit PartResult(bool numeric) : numeric_(numeric) {}

  Value Integer(int64_t v) const {
    return numeric_ ? Value::Numeric(Decimal(v)) : Value::Float8(static_cast<double>(v));
  }
  // `scaled` / 10^scale, exact for extract; date_part computes `approximate` as
  // PostgreSQL's float8 formula does.
  Value Fixed(__int128 scaled, int scale, double approximate) const {
    return numeric_ ? Value::Numeric(FixedPoint(scaled, scale)) : Value::Float8(approximate);
  }
  Value Infinite(bool negative) const {
    return numeric_ ? Value::Numeric(Decimal::Infinity(negative))
                    : Value::Float8(negative ? -std::numeric_limits<double>::infinity()
                                             : std::numeric_limits<double>::infinity());
  }
  Value Null() const { return Value::Null(numeric_ ? SqlType::kNumeric : SqlType::kFloat8); }
  bool numeric() const { return numeric_; }

 private:
  bool numeric_;
};

// Units whose value repeats as time goes on: NULL for ±infinity. The growing ones (year,
// epoch, ...) are ±Infinity there.
bool IsCyclicUnit(Unit u) {
  switch (u) {
    case Unit::kMicrosecond:
    case Unit::kMillisecond:
    case Unit::kSecond:
    case Unit::kMinute:
    case Unit::kHour:
    case Unit::kDay:
    case Unit::kMonth:
    case Unit::kQuarter:
    case Unit::kWeek:
    case Unit::kDow:
    case Unit::kIsoDow:
    case Unit::kDoy:
    case Unit::kTimezone:
    case Unit::kTimezoneHour:
    case Unit::kTimezoneMinute: return true;
    default: return false;
  }
}
bool IsGrowingUnit(Unit u) {
  switch (u) {
    case Unit::kYear:
    case Unit::kDecade:
    case Unit::kCentury:
    case Unit::kMillennium:
    case Unit::kJulian:
    case Unit::kIsoYear:
    case Unit::kEpoch: return true;
    default: return false;
  }
}

// The year fields of an (astronomical) year as extract numbers them: there is no year 0,
// 1 BC is -1, and the first century is years 1 to 100.
int64_t YearField(Unit unit, int64_t year) {
  switch (unit) {
    case Unit::kYear: return year > 0 ? year : year - 1;
    case Unit::kDecade: return year >= 0 ? year / 10 : -((8 - (year - 1)) / 10);
    case Unit::kCentury: return year > 0 ? (year + 99) / 100 : -((99 - (year - 1)) / 100);
    case Unit::kMillennium: return year > 0 ? (year + 999) / 1000 : -((999 - (year - 1)) / 1000);
    default: return 0;
  }
}

// The fields a date and a timestamp share (timestamp_part_common, extract_date); false for
// the others.
bool DateField(Unit unit, const CivilDate& d, int64_t* out) {
  switch (unit) {
    case Unit::kDay: *out = d.day; return true;
    case Unit::kMonth: *out = d.month; return true;
    case Unit::kQuarter: *out = (d.month - 1) / 3 + 1; return true;
    case Unit::kWeek: {
      int64_t iso_year;
      d.IsoWeek(&iso_year, out);
      return true;
    }
    case Unit::kYear:
    case Unit::kDecade:
    case Unit::kCentury:
    case Unit::kMillennium: *out = YearField(unit, d.year); return true;
    case Unit::kIsoYear: {
      int64_t week;
      d.IsoWeek(out, &week);
      if (*out <= 0) *out -= 1;
      return true;
    }
    case Unit::kDow: *out = DayOfWeek(d.days); return true;
    case Unit::kIsoDow: *out = DayOfWeek(d.days) == 0 ? 7 : DayOfWeek(d.days); return true;
    case Unit::kDoy: *out = d.DayOfYear(); return true;
    default: return false;
  }
}

// timestamp_part_common / timestamptz_part_common with TimeZone UTC.
Result<Value> TimestampPart(const Units& u, const Value& v, const PartResult& result) {
  SqlType type = v.type();
  if (IsInfinite(v)) {  // NonFiniteTimestampTzPart
    if (u.type == TokenType::kUnknown) return NotRecognized(u, type);
    if (IsCyclicUnit(u.unit)) return result.Null();
    if (IsGrowingUnit(u.unit)) return result.Infinite(IsNegativeInfinity(v));
    return NotSupported(u, type);
  }
  int64_t t = v.int_value();
  if (u.type == TokenType::kReserved) {
    if (u.unit != Unit::kEpoch) return NotSupported(u, type);
    if (t < INT64_MAX + kUnixEpochTimestamp) {
      return result.Fixed(t - kUnixEpochTimestamp, 6,
                          static_cast<double>(t - kUnixEpochTimestamp) / 1000000.0);
    }
    // Past year 294246 the difference overflows int64, and PostgreSQL divides in numeric
    // (at the division's own scale) and rounds to 6 places, or subtracts in float8.
    if (!result.numeric()) {
      return Value::Float8((static_cast<double>(t) - kUnixEpochTimestamp) / 1000000.0);
    }
    WF_ASSIGN_OR_RETURN(Decimal since_1970, Decimal::Sub(Decimal(t), Decimal(kUnixEpochTimestamp)));
    WF_ASSIGN_OR_RETURN(Decimal seconds, Decimal::Div(since_1970, Decimal(kMicrosPerSecond)));
    return Value::Numeric(seconds.Round(6));
  }
  if (u.type != TokenType::kUnits) return NotRecognized(u, type);
  CivilTime c = CivilTime::Of(t);
  int64_t micros_of_minute = c.second * kMicrosPerSecond + c.micros;
  int64_t field;
  if (DateField(u.unit, c.date, &field)) return result.Integer(field);
  switch (u.unit) {
    case Unit::kMicrosecond: return result.Integer(micros_of_minute);
    case Unit::kMillisecond:
      return result.Fixed(
          micros_of_minute, 3,
          static_cast<double>(c.second) * 1000.0 + static_cast<double>(c.micros) / 1000.0);
    case Unit::kSecond:
      return result.Fixed(
          micros_of_minute, 6,
          static_cast<double>(c.second) + static_cast<double>(c.micros) / 1000000.0);
    case Unit::kMinute: return result.Integer(c.minute);
    case Unit::kHour: return result.Integer(c.hour);
    case Unit::kJulian: {
      if (result.numeric()) {
        WF_ASSIGN_OR_RETURN(Decimal fraction,
                            Decimal::Div(Decimal(c.micros_of_day), Decimal(kMicrosPerDay)));
        WF_ASSIGN_OR_RETURN(Decimal julian, Decimal::Add(Decimal(c.date.JulianDay()), fraction));
        return Value::Numeric(std::move(julian));
      }
      int64_t seconds = (c.hour * 60 + c.minute) * 60 + c.second;
      double day_fraction =
          (static_cast<double>(seconds) + static_cast<double>(c.micros) / 1000000.0) /
          static_cast<double>(kSecondsPerDay);
      return Value::Float8(static_cast<double>(c.date.JulianDay()) + day_fraction);
    }
    case Unit::kTimezone:
    case Unit::kTimezoneHour:
    case Unit::kTimezoneMinute:
      if (type == SqlType::kTimestampTz) return result.Integer(0);  // UTC's offset
      return NotSupported(u, type);
    default: return NotSupported(u, type);
  }
}

// extract_date: numeric, without the time-of-day units.
Result<Value> DatePartOfDate(const Units& u, const Value& v) {
  PartResult result(true);
  bool known = u.type == TokenType::kUnits || u.type == TokenType::kReserved;
  if (IsInfinite(v) && known) {
    switch (u.unit) {
      case Unit::kDay:
      case Unit::kMonth:
      case Unit::kQuarter:
      case Unit::kWeek:
      case Unit::kDow:
      case Unit::kIsoDow:
      case Unit::kDoy: return result.Null();
      default:
        if (IsGrowingUnit(u.unit)) return result.Infinite(IsNegativeInfinity(v));
        return NotSupported(u, SqlType::kDate);
    }
  }
  int64_t days = v.int_value();
  if (u.type == TokenType::kUnits) {
    CivilDate d(days);
    int64_t field;
    if (DateField(u.unit, d, &field)) return result.Integer(field);
    if (u.unit == Unit::kJulian) return result.Integer(d.JulianDay());
    return NotSupported(u, SqlType::kDate);
  }
  if (u.type == TokenType::kReserved) {
    if (u.unit != Unit::kEpoch) return NotSupported(u, SqlType::kDate);
    return result.Integer((days + kUnixToPgEpochDays) * kSecondsPerDay);
  }
  return NotRecognized(u, SqlType::kDate);
}

// interval_part_common: fields of the interval as it reads (interval2itm), not of a span.
Result<Value> IntervalPart(const Units& u, const Interval& iv, const PartResult& result) {
  if (u.type == TokenType::kReserved && u.unit == Unit::kEpoch) {
    // A year is 365.25 days and a month 30 (DAYS_PER_YEAR, DAYS_PER_MONTH).
    int64_t seconds =
        (int64_t{1461} * (iv.months / 12) + 120 * (iv.months % 12) + int64_t{4} * iv.days) *
        (kSecondsPerDay / 4);
    double approximate = static_cast<double>(iv.micros) / 1000000.0;
    approximate += (365.25 * kSecondsPerDay) * (iv.months / 12);
    approximate += (30.0 * kSecondsPerDay) * (iv.months % 12);
    approximate += static_cast<double>(kSecondsPerDay) * iv.days;
    return result.Fixed(static_cast<__int128>(seconds) * kMicrosPerSecond + iv.micros, 6,
                        approximate);
  }
  if (u.type != TokenType::kUnits) return NotRecognized(u, SqlType::kInterval);
  int64_t year = iv.months / 12, month = iv.months % 12;
  int64_t hour = iv.micros / kMicrosPerHour;
  int64_t minute = iv.micros % kMicrosPerHour / kMicrosPerMinute;
  int64_t micros_of_minute = iv.micros % kMicrosPerMinute;
  int64_t second = micros_of_minute / kMicrosPerSecond,
          micros = micros_of_minute % kMicrosPerSecond;
  switch (u.unit) {
    case Unit::kMicrosecond: return result.Integer(micros_of_minute);
    case Unit::kMillisecond:
      return result.Fixed(
          micros_of_minute, 3,
          static_cast<double>(second) * 1000.0 + static_cast<double>(micros) / 1000.0);
    case Unit::kSecond:
      return result.Fixed(micros_of_minute, 6,
                          static_cast<double>(second) + static_cast<double>(micros) / 1000000.0);
    case Unit::kMinute: return result.Integer(minute);
    case Unit::kHour: return result.Integer(hour);
    case Unit::kDay: return result.Integer(iv.days);
    case Unit::kMonth: return result.Integer(month);
    case Unit::kQuarter: return result.Integer(month / 3 + 1);
    case Unit::kYear: return result.Integer(year);
    case Unit::kDecade: return result.Integer(year / 10);
    case Unit::kCentury: return result.Integer(year / 100);
    case Unit::kMillennium: return result.Integer(year / 1000);
    default: return NotSupported(u, SqlType::kInterval);
  }
}

Result<Value> Part(std::string_view units, const Value& v, bool numeric) {
  Units u = DecodeUnits(units, /*special=*/true);
  PartResult result(numeric);
  switch (v.type()) {
    case SqlType::kTimestamp:
    case SqlType::kTimestampTz: return TimestampPart(u, v, result);
    case SqlType::kDate:
      if (numeric) return DatePartOfDate(u, v);
      break;
    case SqlType::kInterval: return IntervalPart(u, v.interval_value(), result);
    default: break;
  }
  return Internal(std::string("date_part of type ") + SqlTypeName(v.type()));
}

// interval_trunc: each field of the interval as it reads, truncated toward zero.
Result<Value> IntervalTrunc(std::string_view units, const Interval& iv) {
  Units u = DecodeUnits(units, /*special=*/false);
  if (u.type != TokenType::kUnits) return NotRecognized(u, SqlType::kInterval);
  int64_t year = iv.months / 12, month = iv.months % 12, day = iv.days;
  int64_t hour = iv.micros / kMicrosPerHour;
  int64_t minute = iv.micros % kMicrosPerHour / kMicrosPerMinute;
  int64_t second = iv.micros % kMicrosPerMinute / kMicrosPerSecond;
  int64_t micros = iv.micros % kMicrosPerSecond;
  switch (u.unit) {
    case Unit::kMillennium: year = year / 1000 * 1000; [[fallthrough]];
    case Unit::kCentury: year = year / 100 * 100; [[fallthrough]];
    case Unit::kDecade: year = year / 10 * 10; [[fallthrough]];
    case Unit::kYear: month = 0; [[fallthrough]];
    case Unit::kQuarter: month = month / 3 * 3; [[fallthrough]];
    case Unit::kMonth: day = 0; [[fallthrough]];
    case Unit::kDay: hour = 0; [[fallthrough]];
    case Unit::kHour: minute = 0; [[fallthrough]];
    case Unit::kMinute: second = 0; [[fallthrough]];
    case Unit::kSecond: micros = 0; break;
    case Unit::kMillisecond: micros = micros / 1000 * 1000; break;
    case Unit::kMicrosecond: break;
    default: return NotSupported(u, SqlType::kInterval);
  }
  // Each field only shrank toward zero, so the sums fit.
  Interval out;
  out.months = static_cast<int32_t>(year * 12 + month);
  out.days = static_cast<int32_t>(day);
  out.micros =
      hour * kMicrosPerHour + minute * kMicrosPerMinute + second * kMicrosPerSecond + micros;
  return Value::MakeInterval(out);
}

}  // namespace

Result<Value> DateTrunc(std::string_view units, const Value& v) {
  if (v.type() == SqlType::kInterval) return IntervalTrunc(units, v.interval_value());
  if (v.type() != SqlType::kTimestamp && v.type() != SqlType::kTimestampTz) {
    return Internal(std::string("date_trunc of type ") + SqlTypeName(v.type()));
  }
  if (IsInfinite(v)) return v;  // before the unit is read, as PostgreSQL 15 does
  Units u = DecodeUnits(units, /*special=*/false);
  if (u.type != TokenType::kUnits) return NotRecognized(u, v.type());
  CivilTime c = CivilTime::Of(v.int_value());
  int64_t days = c.date.days;
  int64_t year = c.date.year, month = c.date.month, day = c.date.day;
  int64_t time = c.micros_of_day;
  bool by_date = false;  // the result is the date year-month-day at time `time`
  switch (u.unit) {
    case Unit::kWeek:  // the Monday of the ISO week
      days -= (DayOfWeek(days) + 6) % 7;
      time = 0;
      break;
    case Unit::kMillennium:
      year = year > 0 ? (year + 999) / 1000 * 1000 - 999 : -((999 - (year - 1)) / 1000) * 1000 + 1;
      [[fallthrough]];
    case Unit::kCentury:
      year = year > 0 ? (year + 99) / 100 * 100 - 99 : -((99 - (year - 1)) / 100) * 100 + 1;
      [[fallthrough]];
    case Unit::kDecade:
      if (u.unit == Unit::kDecade) {
        year = year > 0 ? year / 10 * 10 : -((8 - (year - 1)) / 10) * 10;
      }
      [[fallthrough]];
    case Unit::kYear: month = 1; [[fallthrough]];
    case Unit::kQuarter: month = 3 * ((month - 1) / 3) + 1; [[fallthrough]];
    case Unit::kMonth:
      day = 1;
      by_date = true;
      [[fallthrough]];
    case Unit::kDay: time = 0; break;
    case Unit::kHour: time -= time % kMicrosPerHour; break;
    case Unit::kMinute: time -= time % kMicrosPerMinute; break;
    case Unit::kSecond: time -= time % kMicrosPerSecond; break;
    case Unit::kMillisecond: time -= time % 1000; break;
    case Unit::kMicrosecond: break;
    default: return NotSupported(u, v.type());
  }
  if (by_date) days = DaysFromCivil(year, month, day);
  __int128 t = static_cast<__int128>(days) * kMicrosPerDay + time;
  if (t < kMinTimestamp || t >= kEndTimestamp) return TimestampOutOfRange();
  int64_t result = static_cast<int64_t>(t);
  return v.type() == SqlType::kTimestamp ? Value::Timestamp(result) : Value::TimestampTz(result);
}

Result<Value> Extract(std::string_view units, const Value& v) { return Part(units, v, true); }

Result<Value> DatePart(std::string_view units, const Value& v) { return Part(units, v, false); }

Result<Value> DateBin(const Interval& stride, const Value& source, const Value& origin) {
  if (IsInfinite(source)) return source;
  if (IsInfinite(origin)) return InvalidArgument("origin out of range");
  if (stride.months != 0) {
    return InvalidArgument("timestamps cannot be binned into intervals containing months or years");
  }
  int64_t stride_micros;
  if (__builtin_mul_overflow(int64_t{stride.days}, kMicrosPerDay, &stride_micros) ||
      __builtin_add_overflow(stride_micros, stride.micros, &stride_micros)) {
    return IntervalOutOfRange();
  }
  if (stride_micros <= 0) return InvalidArgument("stride must be greater than zero");
  int64_t diff;
  if (__builtin_sub_overflow(source.int_value(), origin.int_value(), &diff)) {
    return IntervalOutOfRange();
  }
  int64_t modulo = diff % stride_micros;
  int64_t result = origin.int_value() + (diff - modulo);
  // Round toward -infinity, not zero, for a source before the origin.
  if (modulo < 0 && (__builtin_sub_overflow(result, stride_micros, &result) ||
                     result < kMinTimestamp || result >= kEndTimestamp)) {
    return TimestampOutOfRange();
  }
  return source.type() == SqlType::kTimestamp ? Value::Timestamp(result)
                                              : Value::TimestampTz(result);
}

}  // namespace walflow::sql
