// sql date/time functions of the view engine with PostgreSQL 15's semantics under
// TimeZone UTC (walflow's connections set it, so timestamptz computes as UTC): date_trunc,
// extract / date_part and date_bin. A unit is read as PostgreSQL reads it (case folded,
// abbreviations and 10-character prefixes: 'hours', 'h', 'microseconds'); errors carry
// PostgreSQL's messages ("unit \"foo\" not recognized for type timestamp without time
// zone", "stride must be greater than zero").
#pragma once

#include <string_view>

#include "core/status.h"
#include "sql/value.h"

namespace walflow::sql {

// date_trunc(units, v) for a non-NULL timestamp, timestamptz or interval (the binder casts
// a date to timestamptz, as PostgreSQL resolves the call). ±infinity is returned as it is.
Result<Value> DateTrunc(std::string_view units, const Value& v);

// extract(units FROM v): numeric, for a non-NULL timestamp, timestamptz, date or interval.
// Fields that cycle (hour, day, dow, ...) of ±infinity are NULL; growing ones ±Infinity.
Result<Value> Extract(std::string_view units, const Value& v);

// date_part(units, v): double precision, for a non-NULL timestamp, timestamptz or interval
// (the binder casts a date to timestamp, as PostgreSQL's SQL-language date_part(text, date)
// does, so its errors name timestamp without time zone).
Result<Value> DatePart(std::string_view units, const Value& v);

// date_bin(stride, source, origin): the start of the bin of `source` among bins of `stride`
// laid from `origin`, for two non-NULL values of one type (timestamp or timestamptz). A
// source before the origin rounds down too.
Result<Value> DateBin(const Interval& stride, const Value& source, const Value& origin);

}  // namespace walflow::sql
