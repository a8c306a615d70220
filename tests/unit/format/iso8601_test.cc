// ISO-8601 times and timestamps with offsets as Debezium writes ZonedTime/ZonedTimestamp:
// exact instants for valid text (worked out by hand from the offset), false for anything
// malformed or out of range, and outputs untouched on failure.
#include "format/iso8601.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <utility>

#include "pg/text_codec.h"

namespace walflow::format {
namespace {

constexpr int64_t kSec = 1000000;
constexpr int64_t kMin = 60 * kSec;
constexpr int64_t kHour = 60 * kMin;
constexpr int64_t kDay = 24 * kHour;

std::optional<int64_t> Time(std::string_view text) {
  int64_t us = -42;
  if (!ParseIsoTime(text, &us)) {
    EXPECT_EQ(us, -42) << "written on failure: " << text;
    return std::nullopt;
  }
  return us;
}

std::optional<std::pair<int64_t, int64_t>> Timestamp(std::string_view text) {
  int64_t days = -42, us = -42;
  if (!ParseIsoTimestamp(text, &days, &us)) {
    EXPECT_EQ(days, -42) << "written on failure: " << text;
    EXPECT_EQ(us, -42) << "written on failure: " << text;
    return std::nullopt;
  }
  return std::pair{days, us};
}

TEST(Iso8601Test, TimesInUtc) {
  EXPECT_EQ(Time("00:00:00Z"), 0);
  EXPECT_EQ(Time("13:45:30Z"), 13 * kHour + 45 * kMin + 30 * kSec);
  EXPECT_EQ(Time("13:45Z"), 13 * kHour + 45 * kMin);
  EXPECT_EQ(Time("23:59:59.999999Z"), kDay - 1);
  EXPECT_EQ(Time("12:00:00.5Z"), 12 * kHour + 500000);
  EXPECT_EQ(Time("12:00:00.000001Z"), 12 * kHour + 1);
}

TEST(Iso8601Test, FractionsBeyondMicrosecondsAreCutNotRounded) {
  EXPECT_EQ(Time("12:00:00.1234567Z"), 12 * kHour + 123456);
  EXPECT_EQ(Time("12:00:00.999999999Z"), 12 * kHour + 999999);
  EXPECT_EQ(Time("12:00:00.1234567890Z"), std::nullopt);  // ten digits
  EXPECT_EQ(Time("12:00:00.Z"), std::nullopt);
}

TEST(Iso8601Test, OffsetsAreSubtractedAndWrapAroundMidnight) {
  EXPECT_EQ(Time("10:15:30+01:00"), 9 * kHour + 15 * kMin + 30 * kSec);
  EXPECT_EQ(Time("10:15:30-05:30"), 15 * kHour + 45 * kMin + 30 * kSec);
  EXPECT_EQ(Time("00:30:00+01:00"), 23 * kHour + 30 * kMin);
  EXPECT_EQ(Time("23:30:00-01:00"), 30 * kMin);
  EXPECT_EQ(Time("12:00:00+05"), 7 * kHour);
  EXPECT_EQ(Time("12:00:00+05:30:15"), 6 * kHour + 29 * kMin + 45 * kSec);
  EXPECT_EQ(Time("12:00:00+18:00"), 18 * kHour);
  EXPECT_EQ(Time("12:00:00-00:00"), 12 * kHour);
}

TEST(Iso8601Test, TwentyFourIsOnlyMidnightAtTheEndOfTheDay) {
  EXPECT_EQ(Time("24:00:00Z"), 0);
  EXPECT_EQ(Time("24:00Z"), 0);
  EXPECT_EQ(Time("24:00:00+01:00"), 23 * kHour);
  EXPECT_EQ(Time("24:00:01Z"), std::nullopt);
  EXPECT_EQ(Time("24:00:00.000001Z"), std::nullopt);
  EXPECT_EQ(Time("24:01:00Z"), std::nullopt);
}

TEST(Iso8601Test, MalformedTimes) {
  for (const char* t : {"",
                        "Z",
                        "12:00:00",
                        "12:00:00 Z",
                        "12:00:00z",
                        "12:00:00+1",
                        "12:00:00+01:0",
                        "12:00:00+19:00",
                        "12:00:00+01:60",
                        "12:00:00+01:00:60",
                        "12:00:00+01:00Z",
                        "12:00:00ZZ",
                        "1:00:00Z",
                        "12:0:00Z",
                        "12:00:0Z",
                        "12Z",
                        "25:00:00Z",
                        "12:60:00Z",
                        "12:00:60Z",
                        "12-00-00Z",
                        "T12:00:00Z",
                        "12:00:00+01:00 ",
                        "+12:00:00Z",
                        "１2:00:00Z"}) {
    EXPECT_EQ(Time(t), std::nullopt) << t;
  }
}

TEST(Iso8601Test, TimestampsAsUtcDayAndTime) {
  using P = std::pair<int64_t, int64_t>;
  EXPECT_EQ(Timestamp("1970-01-01T00:00:00Z"), (P{0, 0}));
  EXPECT_EQ(Timestamp("2024-03-01T12:34:56.123456Z"),
            (P{19783, 12 * kHour + 34 * kMin + 56 * kSec + 123456}));
  EXPECT_EQ(Timestamp("2024-03-01T12:34Z"), (P{19783, 12 * kHour + 34 * kMin}));
  EXPECT_EQ(Timestamp("1969-12-31T23:59:59.999999Z"), (P{-1, kDay - 1}));
  // The offset moves the instant across days, months and years.
  EXPECT_EQ(Timestamp("2024-03-01T00:30:00+01:00"), (P{19782, 23 * kHour + 30 * kMin}));
  EXPECT_EQ(Timestamp("2023-12-31T23:00:00-02:00"), (P{19723, 1 * kHour}));
  EXPECT_EQ(Timestamp("2024-02-29T24:00:00Z"), (P{19783, 0}));
}

TEST(Iso8601Test, YearsBeyondFourDigitsAndBeforeTheEra) {
  using P = std::pair<int64_t, int64_t>;
  int64_t y10000 = pg::DaysFromCivil(10000, 1, 1);
  EXPECT_EQ(Timestamp("+10000-01-01T00:00:00Z"), (P{y10000, 0}));
  EXPECT_EQ(Timestamp("+2024-03-01T00:00:00Z"), (P{19783, 0}));
  // Year 0 is 1 BC, year -1 is 2 BC (as Java writes them).
  EXPECT_EQ(Timestamp("0000-01-01T00:00:00Z"), (P{-719528, 0}));
  EXPECT_EQ(Timestamp("-0001-12-31T23:59:59Z"), (P{-719529, kDay - kSec}));
  EXPECT_EQ(Timestamp("-0043-03-15T00:00:00Z"), (P{-735160, 0}));
  EXPECT_EQ(Timestamp("294276-12-31T23:59:59.999999Z"),
            (P{pg::DaysFromCivil(294276, 12, 31), kDay - 1}));
  EXPECT_EQ(Timestamp("123456789-01-01T00:00:00Z"), (P{pg::DaysFromCivil(123456789, 1, 1), 0}));
  EXPECT_EQ(Timestamp("1234567890-01-01T00:00:00Z"), std::nullopt);  // ten year digits
  EXPECT_EQ(Timestamp("999-01-01T00:00:00Z"), std::nullopt);
}

TEST(Iso8601Test, DaysMustExistInTheirMonth) {
  EXPECT_TRUE(Timestamp("2024-02-29T00:00:00Z"));
  EXPECT_TRUE(Timestamp("2000-02-29T00:00:00Z"));
  EXPECT_EQ(Timestamp("2023-02-29T00:00:00Z"), std::nullopt);
  EXPECT_EQ(Timestamp("1900-02-29T00:00:00Z"), std::nullopt);
  EXPECT_EQ(Timestamp("2024-02-30T00:00:00Z"), std::nullopt);
  EXPECT_EQ(Timestamp("2024-04-31T00:00:00Z"), std::nullopt);
  EXPECT_EQ(Timestamp("2024-00-10T00:00:00Z"), std::nullopt);
  EXPECT_EQ(Timestamp("2024-13-10T00:00:00Z"), std::nullopt);
  EXPECT_EQ(Timestamp("2024-01-00T00:00:00Z"), std::nullopt);
  EXPECT_EQ(Timestamp("2024-01-32T00:00:00Z"), std::nullopt);
}

TEST(Iso8601Test, MalformedTimestamps) {
  for (const char* t :
       {"", "2024-03-01", "2024-03-01T12:00:00", "2024-03-01 12:00:00Z", "2024-03-01t12:00:00Z",
        "2024-3-01T12:00:00Z", "2024-03-1T12:00:00Z", "2024/03/01T12:00:00Z",
        "2024-03-01T12:00:00+25:00", "2024-03-01T12:00:00Z ", "++2024-03-01T12:00:00Z",
        "-+2024-03-01T12:00:00Z", "infinity", "2024-03-01T25:00:00Z"}) {
    EXPECT_EQ(Timestamp(t), std::nullopt) << t;
  }
}

TEST(Iso8601Test, TimestampsWrittenByTheEventFormatReadBack) {
  // pg::AppendIsoTimestampUtc writes what the encoder puts into ZonedTimestamp.
  std::mt19937_64 rng(3);
  std::uniform_int_distribution<int64_t> days(-2440588, 2932896 * 3);
  std::uniform_int_distribution<int64_t> micros(0, kDay - 1);
  for (int i = 0; i < 20000; ++i) {
    const int64_t d = days(rng), us = micros(rng);
    std::string text;
    pg::AppendIsoTimestampUtc(d, us, &text);
    ASSERT_EQ(Timestamp(text), (std::pair{d, us})) << text;
  }
}

}  // namespace
}  // namespace walflow::format
