// CopyTextDecoder: one line of COPY's text format (PostgreSQL docs, "COPY: Text Format")
// into a ChangeBatch row. Expected values follow the server's own COPY FROM reading of the
// same bytes (src/backend/commands/copyfromparse.c, CopyReadAttributesText).
#include "pg/copy_text.h"

#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <string>
#include <vector>

namespace walflow::pg {
namespace {

using Row = std::vector<std::optional<std::string>>;  // nullopt: NULL

Row RowAt(const ChangeBatch& batch, int32_t first, size_t ncols) {
  Row out;
  const Datum* d = batch.Row(first);
  for (size_t i = 0; i < ncols; ++i) {
    EXPECT_NE(d[i].kind, Datum::Kind::kUnchangedToast) << "column " << i;
    if (d[i].kind == Datum::Kind::kNull) {
      out.emplace_back(std::nullopt);
    } else {
      out.emplace_back(std::string(batch.Text(d[i])));
    }
  }
  return out;
}

// Decodes `line` into a fresh batch and returns its fields.
Row Decode(std::string_view line, size_t ncols) {
  ChangeBatch batch;
  CopyTextDecoder decoder;
  auto first = decoder.DecodeRow(line, ncols, &batch);
  EXPECT_TRUE(first.ok()) << first.status().ToString();
  if (!first.ok()) return {};
  EXPECT_EQ(*first, 0);
  return RowAt(batch, *first, ncols);
}

// The single field of a one-column line.
std::string One(std::string_view line) {
  Row r = Decode(line, 1);
  if (r.size() != 1 || !r[0]) {
    ADD_FAILURE() << "not one text field: " << line;
    return "<none>";
  }
  return *r[0];
}

// What PostgreSQL's COPY TO writes for one text value (CopyAttributeOutText with the
// default delimiter): \b \f \n \r \t \v and backslash escaped, other bytes as they are.
std::string CopyOutEscape(std::string_view value) {
  std::string out;
  for (char c : value) {
    switch (c) {
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\v': out += "\\v"; break;
      case '\\': out += "\\\\"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

TEST(CopyTextDecoderTest, PlainFields) {
  EXPECT_EQ(Decode("1\thello world\t2024-01-02 03:04:05+00", 3),
            (Row{"1", "hello world", "2024-01-02 03:04:05+00"}));
  EXPECT_EQ(Decode("{1,2,3}", 1), (Row{"{1,2,3}"}));
  // Quotes, commas and other punctuation mean nothing in the text format.
  EXPECT_EQ(Decode("\"a\",'b'\t(1,2)", 2), (Row{"\"a\",'b'", "(1,2)"}));
}

TEST(CopyTextDecoderTest, NullIsOnlyTheWholeUnescapedField) {
  // \N is NULL; the string \N itself is written \\N.
  EXPECT_EQ(Decode("\\N\t\\\\N\tx", 3), (Row{std::nullopt, "\\N", "x"}));
  EXPECT_EQ(Decode("\\N", 1), (Row{std::nullopt}));
  EXPECT_EQ(Decode("\\N\t\\N", 2), (Row{std::nullopt, std::nullopt}));
  // Inside a longer field \N is an escaped N, not a NULL.
  EXPECT_EQ(Decode("\\Nx\tx\\N\tN", 3), (Row{"Nx", "xN", "N"}));
  // Neither the text NULL nor \n is a NULL.
  EXPECT_EQ(Decode("NULL\t\\n", 2), (Row{"NULL", "\n"}));
}

TEST(CopyTextDecoderTest, EmptyStringIsNotNull) {
  EXPECT_EQ(Decode("", 1), (Row{""}));
  EXPECT_EQ(Decode("\t", 2), (Row{"", ""}));
  EXPECT_EQ(Decode("\t\t", 3), (Row{"", "", ""}));
  EXPECT_EQ(Decode("\t\\N\t", 3), (Row{"", std::nullopt, ""}));
  EXPECT_EQ(Decode("a\t\tb", 3), (Row{"a", "", "b"}));
}

TEST(CopyTextDecoderTest, SingleCharacterEscapes) {
  EXPECT_EQ(One("\\b"), "\b");
  EXPECT_EQ(One("\\f"), "\f");
  EXPECT_EQ(One("\\n"), "\n");
  EXPECT_EQ(One("\\r"), "\r");
  EXPECT_EQ(One("\\t"), "\t");
  EXPECT_EQ(One("\\v"), "\v");
  EXPECT_EQ(One("\\\\"), "\\");
  EXPECT_EQ(One("a\\bb\\fc\\nd\\re\\tf\\vg\\\\h"), "a\bb\fc\nd\re\tf\vg\\h");
  // An escaped tab is data, not a field separator.
  EXPECT_EQ(Decode("a\\tb\tc", 2), (Row{"a\tb", "c"}));
  // Escaped backslashes do not start an escape of their own.
  EXPECT_EQ(One("\\\\n"), "\\n");
  EXPECT_EQ(One("\\\\\\\\"), "\\\\");
  EXPECT_EQ(One("\\\\\\n"), "\\\n");
}

TEST(CopyTextDecoderTest, OtherEscapedCharactersStandForThemselves) {
  EXPECT_EQ(One("\\a"), "a");
  EXPECT_EQ(One("\\q\\z"), "qz");
  EXPECT_EQ(One("\\'\\\"\\."), "'\".");
  EXPECT_EQ(One("\\8\\9"), "89");  // not octal digits
  EXPECT_EQ(One("\\ "), " ");
  EXPECT_EQ(One("\\\xc3\xa9"), "\xc3\xa9");  // backslash before a multi-byte character
}

TEST(CopyTextDecoderTest, OctalEscapes) {
  EXPECT_EQ(One("\\101"), "A");
  EXPECT_EQ(One("\\7"), "\x07");
  EXPECT_EQ(One("\\12"), "\n");
  EXPECT_EQ(One("\\0"), std::string(1, '\0'));
  EXPECT_EQ(One("x\\0y"), std::string("x\0y", 3));
  EXPECT_EQ(One("\\377"), "\xff");
  // At most three digits; the next one is data.
  EXPECT_EQ(One("\\1014"), "A4");
  EXPECT_EQ(One("\\0000"), std::string({'\0', '0'}));
  // Digits 8 and 9 end the number.
  EXPECT_EQ(One("\\18"), std::string({'\x01', '8'}));
  // A UTF-8 character written byte by byte.
  EXPECT_EQ(One("\\303\\251t\\303\\251"), "\xc3\xa9t\xc3\xa9");
  EXPECT_EQ(Decode("\\101\t\\102", 2), (Row{"A", "B"}));
}

TEST(CopyTextDecoderTest, HexEscapes) {
  EXPECT_EQ(One("\\x41"), "A");
  EXPECT_EQ(One("\\x4"), "\x04");
  EXPECT_EQ(One("\\x4g"), "\x04g");
  EXPECT_EQ(One("\\xff\\xFF\\xaB"), "\xff\xff\xab");
  // At most two digits; the next one is data.
  EXPECT_EQ(One("\\x414"), "A4");
  EXPECT_EQ(One("\\x00"), std::string(1, '\0'));
  // \x without a hex digit is an escaped x.
  EXPECT_EQ(One("\\xg"), "xg");
  EXPECT_EQ(One("\\x"), "x");
  EXPECT_EQ(Decode("\\x\tb", 2), (Row{"x", "b"}));
  EXPECT_EQ(One("\\xc3\\xa9"), "\xc3\xa9");
  // bytea's own text form is \x followed by hex; COPY writes its backslash doubled.
  EXPECT_EQ(One("\\\\x00ff10"), "\\x00ff10");
}

TEST(CopyTextDecoderTest, UnicodePassesThrough) {
  const std::string e = "h\xc3\xa9llo";                // héllo
  const std::string cjk = "\xe6\x97\xa5\xe6\x9c\xac";  // 日本
  const std::string emoji = "\xf0\x9f\x98\x80";        // 😀
  EXPECT_EQ(Decode(e + "\t" + cjk + "\t" + emoji, 3), (Row{e, cjk, emoji}));
  EXPECT_EQ(Decode(e + "\\n" + emoji + "\t" + cjk, 2), (Row{e + "\n" + emoji, cjk}));
}

TEST(CopyTextDecoderTest, ZeroColumnRowIsAnEmptyLine) {
  ChangeBatch batch;
  CopyTextDecoder decoder;
  auto first = decoder.DecodeRow("", 0, &batch);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(*first, 0);
  // It added no datum: the next row starts at 0 as well.
  auto next = decoder.DecodeRow("a\tb", 2, &batch);
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(*next, 0);
  auto again = decoder.DecodeRow("", 0, &batch);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 2);
  EXPECT_EQ(RowAt(batch, 0, 2), (Row{"a", "b"}));

  // Any text, even a lone tab, is at least one field.
  for (std::string_view line : {"x", "\t", "\\N"}) {
    auto r = decoder.DecodeRow(line, 0, &batch);
    ASSERT_FALSE(r.ok()) << "'" << line << "'";
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
    EXPECT_NE(r.status().message().find("expected 0"), std::string::npos) << r.status().message();
  }
}

// A wrong field count names what was found and what was expected, and leaves the batch
// as it was.
void ExpectFieldCountError(std::string_view line, size_t ncols, size_t found) {
  SCOPED_TRACE("line '" + std::string(line) + "', ncols " + std::to_string(ncols));
  ChangeBatch batch;
  CopyTextDecoder decoder;
  auto r = decoder.DecodeRow(line, ncols, &batch);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  const std::string& m = r.status().message();
  EXPECT_NE(m.find(std::to_string(found) + " fields"), std::string::npos) << m;
  EXPECT_NE(m.find("expected " + std::to_string(ncols)), std::string::npos) << m;
  auto ok = decoder.DecodeRow("z", 1, &batch);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 0) << "the failed row left datums behind";
  EXPECT_EQ(RowAt(batch, 0, 1), (Row{"z"}));
}

TEST(CopyTextDecoderTest, TooManyFields) {
  ExpectFieldCountError("a\tb\tc", 2, 3);
  ExpectFieldCountError("a\t", 1, 2);
  ExpectFieldCountError("\t\t\t", 3, 4);
  ExpectFieldCountError("\\N\t\\N", 1, 2);
}

TEST(CopyTextDecoderTest, TooFewFields) {
  ExpectFieldCountError("a", 2, 1);
  ExpectFieldCountError("", 2, 1);
  ExpectFieldCountError("a\tb", 3, 2);
  // Escaped tabs do not count as separators.
  ExpectFieldCountError("a\\tb", 2, 1);
}

TEST(CopyTextDecoderTest, RowsAccumulateInOneBatch) {
  ChangeBatch batch;
  CopyTextDecoder decoder;
  std::vector<int32_t> firsts;
  std::vector<Row> expected;
  for (int i = 0; i < 50; ++i) {
    const std::string n = std::to_string(i);
    // Alternate plain and escaped fields, so the decoder's scratch buffer is reused.
    std::string line = n + "\tv\\t" + n + "\\\\\t" + (i % 3 == 0 ? "\\N" : "p" + n);
    auto first = decoder.DecodeRow(line, 3, &batch);
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    firsts.push_back(*first);
    expected.push_back(
        Row{n, "v\t" + n + "\\", i % 3 == 0 ? std::nullopt : std::optional<std::string>("p" + n)});
  }
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(firsts[i], 3 * i);
    EXPECT_EQ(RowAt(batch, firsts[i], 3), expected[i]) << "row " << i;
  }
}

// Whatever COPY TO writes for a value reads back as that value.
TEST(CopyTextDecoderTest, ReadsBackWhatCopyToWrites) {
  std::mt19937 rng(20240115);
  const std::string alphabet =
      std::string("ab\\\t\n\r\b\f\v N'\"x0127") + "\x01\x1f\x7f" + "\xc3\xa9";
  ChangeBatch batch;
  CopyTextDecoder decoder;
  for (int iter = 0; iter < 2000; ++iter) {
    const size_t ncols = rng() % 5;
    Row values;
    std::string line;
    for (size_t c = 0; c < ncols; ++c) {
      if (c) line.push_back('\t');
      if (rng() % 6 == 0) {
        values.emplace_back(std::nullopt);
        line += "\\N";
        continue;
      }
      std::string v;
      for (size_t len = rng() % 8; len > 0; --len) v.push_back(alphabet[rng() % alphabet.size()]);
      line += CopyOutEscape(v);
      values.emplace_back(std::move(v));
    }
    auto first = decoder.DecodeRow(line, ncols, &batch);
    ASSERT_TRUE(first.ok()) << first.status().ToString() << " for line '" << line << "'";
    ASSERT_EQ(RowAt(batch, *first, ncols), values) << "line '" << line << "'";
  }
}

}  // namespace
}  // namespace walflow::pg
