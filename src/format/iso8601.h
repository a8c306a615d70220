// Readers of ISO-8601 times and timestamps with an offset, as Debezium writes ZonedTime and
// ZonedTimestamp (Java's ISO_OFFSET_TIME / ISO_OFFSET_DATE_TIME): "10:15:30.5+01:00",
// "2024-03-01T12:34:56Z", "+10000-01-01T00:00:00Z". Both return false for anything else.
//
// Clock: "HH:MM[:SS[.f]]", hours 00-24 (24 only as 24:00:00 exactly), seconds 00-59, one to
// nine fraction digits of which the seventh and later are dropped (not rounded). Offset: "Z"
// or "+HH[:MM[:SS]]" / "-HH..." up to 18 hours, ending the text.
#pragma once

#include <cstdint>
#include <string_view>

namespace walflow::format {

// A time with offset as µs since midnight UTC, in [0, 24h): the offset is subtracted and the
// result wraps around midnight ("00:30+01:00" is 23:30 UTC; "24:00Z" is 0).
bool ParseIsoTime(std::string_view text, int64_t* micros_utc);

// "[+-]YYYY-MM-DDTclock offset", the year of four to nine digits (a sign for years past
// 9999 or before 0; year 0 is 1 BC), the day valid for its month (no February 30). The
// instant as days since 1970-01-01 UTC and µs into that day.
bool ParseIsoTimestamp(std::string_view text, int64_t* days, int64_t* micros_of_day);

}  // namespace walflow::format
