// Kafka Connect decimals: base64 decoding as Jackson encodes (exact bytes, strict padding),
// and base64 unscaled integers read back to the numeric text they were made from by
// pg::DecimalToUnscaled and pg::AppendBase64 (the encoder's path).
#include "format/connect_decimal.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <random>
#include <string>

#include "pg/text_codec.h"

namespace walflow::format {
namespace {

std::optional<std::string> Decoded(std::string_view base64) {
  std::string out = "leftover";
  if (!DecodeBase64(base64, &out)) return std::nullopt;
  return out;
}

TEST(ConnectDecimalTest, DecodesStandardBase64) {
  EXPECT_EQ(Decoded(""), "");
  EXPECT_EQ(Decoded("AA=="), std::string(1, '\0'));
  EXPECT_EQ(Decoded("AAE="), std::string("\0\1", 2));
  EXPECT_EQ(Decoded("AQID"), "\1\2\3");
  EXPECT_EQ(Decoded("QQ=="), "A");
  EXPECT_EQ(Decoded("/w=="), "\xff");
  EXPECT_EQ(Decoded("+/8="), "\xfb\xff");
  EXPECT_EQ(Decoded("aGVsbG8gd29ybGQ="), "hello world");
}

TEST(ConnectDecimalTest, RefusesOtherBase64Dialects) {
  for (const char* t : {"A", "AA", "AAA", "AA=", "A===", "====", "AA==AA==", "AQ=D",
                        "-_8=", "AQID\n", "AQ ID", "AQI\xc3\xa9"}) {
    EXPECT_EQ(Decoded(t), std::nullopt) << t;
  }
}

TEST(ConnectDecimalTest, DecodesWhatAppendBase64Encodes) {
  std::mt19937 rng(5);
  for (size_t n = 0; n < 64; ++n) {
    std::string bytes;
    for (size_t i = 0; i < n; ++i) bytes.push_back(static_cast<char>(rng()));
    std::string base64;
    pg::AppendBase64(bytes, &base64);
    ASSERT_EQ(Decoded(base64), bytes) << base64;
  }
}

Result<std::string> Decimal(std::string_view base64, int32_t scale) {
  std::string out = "x=";
  WF_RETURN_IF_ERROR(AppendBase64Decimal(base64, scale, &out));
  EXPECT_EQ(out.substr(0, 2), "x=");
  return out.substr(2);
}

TEST(ConnectDecimalTest, Base64UnscaledValuesAsNumericText) {
  EXPECT_EQ(Decimal("MDk=", 2).value(), "123.45");   // 0x3039 = 12345
  EXPECT_EQ(Decimal("z8c=", 2).value(), "-123.45");  // 0xcfc7 = -12345
  EXPECT_EQ(Decimal("AA==", 0).value(), "0");
  EXPECT_EQ(Decimal("AA==", 3).value(), "0.000");
  EXPECT_EQ(Decimal("AQ==", -3).value(), "1000");
  EXPECT_EQ(Decimal("/w==", 1).value(), "-0.1");
  EXPECT_EQ(Decimal("AIA=", 0).value(), "128");  // a leading zero byte keeps it positive
  EXPECT_EQ(Decimal("gA==", 0).value(), "-128");
}

TEST(ConnectDecimalTest, RefusesBadAndOversizedValues) {
  Result<std::string> bad = Decimal("!!!!", 0);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "bad base64 \"!!!!\"");

  Result<std::string> empty = Decimal("", 2);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().message(), "empty decimal value");

  std::string base64;
  pg::AppendBase64(std::string(kMaxDecimalBytes, '\x11'), &base64);
  EXPECT_TRUE(Decimal(base64, 0).ok());
  base64.clear();
  pg::AppendBase64(std::string(kMaxDecimalBytes + 1, '\x11'), &base64);
  Result<std::string> big = Decimal(base64, 0);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().message(),
            "decimal of 65537 bytes is longer than a PostgreSQL numeric can be");

  std::string long_text(100, 'A');
  long_text += "!";
  Result<std::string> shown = Decimal(long_text, 0);
  ASSERT_FALSE(shown.ok());
  EXPECT_EQ(shown.status().message(), "bad base64 \"" + std::string(64, 'A') + "...\"");
}

TEST(ConnectDecimalTest, NumericTextRoundTripsThroughTheEncodersBase64) {
  std::mt19937_64 rng(23);
  for (int i = 0; i < 3000; ++i) {
    std::string text = rng() % 2 ? "-" : "";
    text += static_cast<char>('1' + rng() % 9);
    for (size_t n = rng() % 80; n > 0; --n) text += static_cast<char>('0' + rng() % 10);
    int32_t want_scale = static_cast<int32_t>(rng() % 30);
    if (want_scale > 0) {
      text += '.';
      for (int32_t n = 0; n < want_scale; ++n) text += static_cast<char>('0' + rng() % 10);
    }
    std::string unscaled, base64;
    int32_t scale = -1;
    ASSERT_TRUE(pg::DecimalToUnscaled(text, &unscaled, &scale)) << text;
    ASSERT_EQ(scale, want_scale) << text;
    pg::AppendBase64(unscaled, &base64);
    Result<std::string> back = Decimal(base64, scale);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    ASSERT_EQ(back.value(), text) << base64;
  }
}

}  // namespace
}  // namespace walflow::format
