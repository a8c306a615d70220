#include "sql/jsonb.h"

#include <algorithm>
#include <cstdio>
#include <utility>
#include <vector>

#include "core/utf8.h"
#include "sql/decimal.h"

namespace walflow::sql {
namespace {

// A parsed jsonb document. Objects hold their members in jsonb's order (by key length,
// then bytes), each key once.
struct JsonNode {
  enum class Type : uint8_t { kNull, kFalse, kTrue, kNumber, kString, kArray, kObject };
  Type type = Type::kNull;
  Decimal number;
  std::string string;
  std::vector<JsonNode> elements;
  std::vector<std::pair<std::string, JsonNode>> members;
};

// lengthCompareJsonbStringValue: shorter keys first, then by bytes.
bool KeyLess(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return a.size() < b.size();
  return a < b;
}

// Nesting deeper than this is refused (PostgreSQL stops at its stack depth limit).
constexpr int kMaxDepth = 6000;

// PostgreSQL's JSON lexer and recursive-descent parser (src/common/jsonapi.c) as jsonb_in
// drives it, with its error messages. The first error in reading order wins, as there.
class JsonParser {
 public:
  explicit JsonParser(std::string_view text) : text_(text) {}

  Result<JsonNode> ParseDocument() {
    WF_RETURN_IF_ERROR(Lex());
    JsonNode root;
    WF_RETURN_IF_ERROR(ParseValue(&root, 0));
    if (token_ != Token::kEnd) return ParseError("Expected end of input, but found \"%\".");
    return root;
  }

 private:
  enum class Token {
    kObjectStart,
    kObjectEnd,
    kArrayStart,
    kArrayEnd,
    kComma,
    kColon,
    kString,
    kNumber,
    kTrue,
    kFalse,
    kNull,
    kEnd
  };

  static bool IsAlphanumeric(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           (static_cast<unsigned char>(c) & 0x80) != 0;
  }

  Status SyntaxError(const std::string& detail) const {
    return InvalidArgument("invalid input syntax for type json\nDETAIL:  " + detail);
  }
  // A parse error names the token found (report_parse_error); at the end of the input it
  // is "ended unexpectedly" whatever was expected.
  Status ParseError(std::string detail) const {
    if (token_ == Token::kEnd) return SyntaxError("The input string ended unexpectedly.");
    std::string_view found = text_.substr(token_start_, pos_ - token_start_);
    detail.replace(detail.find('%'), 1, found);
    return SyntaxError(detail);
  }
  Status InvalidToken(size_t end) const {
    return SyntaxError("Token \"" + std::string(text_.substr(token_start_, end - token_start_)) +
                       "\" is invalid.");
  }

  Status Lex() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
    token_start_ = pos_;
    if (pos_ >= text_.size()) {
      token_ = Token::kEnd;
      return Status::OK();
    }
    char c = text_[pos_];
    switch (c) {
      case '{':
        token_ = Token::kObjectStart;
        ++pos_;
        return Status::OK();
      case '}':
        token_ = Token::kObjectEnd;
        ++pos_;
        return Status::OK();
      case '[':
        token_ = Token::kArrayStart;
        ++pos_;
        return Status::OK();
      case ']':
        token_ = Token::kArrayEnd;
        ++pos_;
        return Status::OK();
      case ',':
        token_ = Token::kComma;
        ++pos_;
        return Status::OK();
      case ':':
        token_ = Token::kColon;
        ++pos_;
        return Status::OK();
      case '"': token_ = Token::kString; return LexString();
      default: break;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      token_ = Token::kNumber;
      return LexNumber();
    }
    size_t end = pos_;
    while (end < text_.size() && IsAlphanumeric(text_[end])) ++end;
    if (end == pos_) return InvalidToken(pos_ + 1);
    std::string_view word = text_.substr(pos_, end - pos_);
    if (word == "true") {
      token_ = Token::kTrue;
    } else if (word == "false") {
      token_ = Token::kFalse;
    } else if (word == "null") {
      token_ = Token::kNull;
    } else {
      return InvalidToken(end);
    }
    pos_ = end;
    return Status::OK();
  }

  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, then no letters or digits.
  Status LexNumber() {
    size_t p = pos_;
    auto digit = [&](size_t i) { return i < text_.size() && text_[i] >= '0' && text_[i] <= '9'; };
    bool error = false;
    if (text_[p] == '-') ++p;
    if (p < text_.size() && text_[p] == '0') {
      ++p;
    } else if (digit(p)) {
      while (digit(p)) ++p;
    } else {
      error = true;
    }
    if (p < text_.size() && text_[p] == '.') {
      ++p;
      if (!digit(p)) error = true;
      while (digit(p)) ++p;
    }
    if (p < text_.size() && (text_[p] == 'e' || text_[p] == 'E')) {
      ++p;
      if (p < text_.size() && (text_[p] == '+' || text_[p] == '-')) ++p;
      if (!digit(p)) error = true;
      while (digit(p)) ++p;
    }
    while (p < text_.size() && IsAlphanumeric(text_[p])) {
      ++p;
      error = true;
    }
    if (error) return InvalidToken(p);
    Result<Decimal> d = Decimal::Parse(text_.substr(pos_, p - pos_));
    if (!d.ok()) return d.status();
    number_ = std::move(d).value();
    pos_ = p;
    return Status::OK();
  }

  static int HexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  // json_lex_string with de-escaping into string_.
  Status LexString() {
    string_.clear();
    size_t p = pos_;
    int32_t high_surrogate = -1;
    Status low_surrogate_missing =
        SyntaxError("Unicode low surrogate must follow a high surrogate.");
    while (true) {
      ++p;
      if (p >= text_.size()) return InvalidToken(p);
      char c = text_[p];
      if (c == '"') break;
      if (static_cast<unsigned char>(c) < 32) {
        char hex[8];
        std::snprintf(hex, sizeof(hex), "0x%02x", static_cast<unsigned>(c));
        return SyntaxError(std::string("Character with value ") + hex + " must be escaped.");
      }
      if (c != '\\') {
        if (high_surrogate != -1) return low_surrogate_missing;
        string_.push_back(c);
        continue;
      }
      ++p;
      if (p >= text_.size()) return InvalidToken(p);
      c = text_[p];
      if (c == 'u') {
        int32_t ch = 0;
        for (int i = 0; i < 4; ++i) {
          ++p;
          if (p >= text_.size()) return InvalidToken(p);
          int h = HexValue(text_[p]);
          if (h < 0) return SyntaxError("\"\\u\" must be followed by four hexadecimal digits.");
          ch = ch * 16 + h;
        }
        if (ch >= 0xD800 && ch <= 0xDBFF) {
          if (high_surrogate != -1) {
            return SyntaxError("Unicode high surrogate must not follow a high surrogate.");
          }
          high_surrogate = ch;
          continue;
        }
        if (ch >= 0xDC00 && ch <= 0xDFFF) {
          if (high_surrogate == -1) return low_surrogate_missing;
          ch = ((high_surrogate & 0x3FF) << 10) + 0x10000 + (ch & 0x3FF);
          high_surrogate = -1;
        }
        if (high_surrogate != -1) return low_surrogate_missing;
        if (ch == 0) {
          return InvalidArgument(
              "unsupported Unicode escape sequence\nDETAIL:  \\u0000 cannot be converted to "
              "text.");
        }
        AppendUtf8(static_cast<uint32_t>(ch), &string_);
        continue;
      }
      if (high_surrogate != -1) return low_surrogate_missing;
      switch (c) {
        case '"':
        case '\\':
        case '/': string_.push_back(c); break;
        case 'b': string_.push_back('\b'); break;
        case 'f': string_.push_back('\f'); break;
        case 'n': string_.push_back('\n'); break;
        case 'r': string_.push_back('\r'); break;
        case 't': string_.push_back('\t'); break;
        default: {
          size_t n = 1;
          while (p + n < text_.size() &&
                 (static_cast<unsigned char>(text_[p + n]) & 0xC0) == 0x80) {
            ++n;
          }
          return SyntaxError("Escape sequence \"\\" + std::string(text_.substr(p, n)) +
                             "\" is invalid.");
        }
      }
    }
    if (high_surrogate != -1) return low_surrogate_missing;
    pos_ = p + 1;
    return Status::OK();
  }

  Status ParseValue(JsonNode* out, int depth) {
    switch (token_) {
      case Token::kObjectStart: return ParseObject(out, depth + 1);
      case Token::kArrayStart: return ParseArray(out, depth + 1);
      case Token::kString:
        out->type = JsonNode::Type::kString;
        out->string = std::move(string_);
        break;
      case Token::kNumber:
        out->type = JsonNode::Type::kNumber;
        out->number = std::move(number_);
        break;
      case Token::kTrue: out->type = JsonNode::Type::kTrue; break;
      case Token::kFalse: out->type = JsonNode::Type::kFalse; break;
      case Token::kNull: out->type = JsonNode::Type::kNull; break;
      default: return ParseError("Expected JSON value, but found \"%\".");
    }
    return Lex();
  }

  Status ParseArray(JsonNode* out, int depth) {
    if (depth > kMaxDepth) return InvalidArgument("stack depth limit exceeded");
    out->type = JsonNode::Type::kArray;
    WF_RETURN_IF_ERROR(Lex());
    if (token_ != Token::kArrayEnd) {
      while (true) {
        out->elements.emplace_back();
        WF_RETURN_IF_ERROR(ParseValue(&out->elements.back(), depth));
        if (token_ != Token::kComma) break;
        WF_RETURN_IF_ERROR(Lex());
      }
    }
    if (token_ != Token::kArrayEnd) return ParseError("Expected \",\" or \"]\", but found \"%\".");
    return Lex();
  }

  Status ParseObject(JsonNode* out, int depth) {
    if (depth > kMaxDepth) return InvalidArgument("stack depth limit exceeded");
    out->type = JsonNode::Type::kObject;
    WF_RETURN_IF_ERROR(Lex());
    if (token_ == Token::kString) {
      while (true) {
        if (token_ != Token::kString) return ParseError("Expected string, but found \"%\".");
        std::string key = std::move(string_);
        WF_RETURN_IF_ERROR(Lex());
        if (token_ != Token::kColon) return ParseError("Expected \":\", but found \"%\".");
        WF_RETURN_IF_ERROR(Lex());
        out->members.emplace_back(std::move(key), JsonNode());
        WF_RETURN_IF_ERROR(ParseValue(&out->members.back().second, depth));
        if (token_ != Token::kComma) break;
        WF_RETURN_IF_ERROR(Lex());
      }
    } else if (token_ != Token::kObjectEnd) {
      return ParseError("Expected string or \"}\", but found \"%\".");
    }
    if (token_ != Token::kObjectEnd) return ParseError("Expected \",\" or \"}\", but found \"%\".");
    Uniqueify(&out->members);
    return Lex();
  }

  // uniqueifyJsonbObject: sorted by key, the last of equal keys kept.
  static void Uniqueify(std::vector<std::pair<std::string, JsonNode>>* members) {
    std::stable_sort(members->begin(), members->end(),
                     [](const auto& a, const auto& b) { return KeyLess(a.first, b.first); });
    size_t kept = 0;
    for (size_t i = 0; i < members->size(); ++i) {
      if (i + 1 < members->size() && (*members)[i + 1].first == (*members)[i].first) continue;
      if (kept != i) (*members)[kept] = std::move((*members)[i]);
      ++kept;
    }
    members->resize(kept);
  }

  std::string_view text_;
  size_t pos_ = 0;          // the end of the current token
  size_t token_start_ = 0;  // where the current token starts
  Token token_ = Token::kEnd;
  std::string string_;  // the current string token, de-escaped
  Decimal number_;      // the current number token
};

// escape_json.
void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  for (char c : s) {
    switch (c) {
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      default:
        if (static_cast<unsigned char>(c) < ' ') {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(c));
          out->append(buf);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

// JsonbToCString.
void AppendJsonb(const JsonNode& n, std::string* out) {
  switch (n.type) {
    case JsonNode::Type::kNull: out->append("null"); return;
    case JsonNode::Type::kFalse: out->append("false"); return;
    case JsonNode::Type::kTrue: out->append("true"); return;
    case JsonNode::Type::kNumber: n.number.AppendTo(out); return;
    case JsonNode::Type::kString: AppendJsonString(n.string, out); return;
    case JsonNode::Type::kArray:
      out->push_back('[');
      for (size_t i = 0; i < n.elements.size(); ++i) {
        if (i) out->append(", ");
        AppendJsonb(n.elements[i], out);
      }
      out->push_back(']');
      return;
    case JsonNode::Type::kObject:
      out->push_back('{');
      for (size_t i = 0; i < n.members.size(); ++i) {
        if (i) out->append(", ");
        AppendJsonString(n.members[i].first, out);
        out->append(": ");
        AppendJsonb(n.members[i].second, out);
      }
      out->push_back('}');
      return;
  }
}

// What -> (jsonb) or ->> (text; a string unquoted, a JSON null NULL) returns for `n`.
std::optional<std::string> Extracted(const JsonNode& n, bool as_text) {
  if (as_text) {
    if (n.type == JsonNode::Type::kNull) return std::nullopt;
    if (n.type == JsonNode::Type::kString) return n.string;
  }
  std::string out;
  AppendJsonb(n, &out);
  return out;
}

bool NodesEqual(const JsonNode& a, const JsonNode& b) {
  if (a.type != b.type) return false;
  switch (a.type) {
    case JsonNode::Type::kNumber: return Decimal::Compare(a.number, b.number) == 0;
    case JsonNode::Type::kString: return a.string == b.string;
    case JsonNode::Type::kArray:
      return std::equal(a.elements.begin(), a.elements.end(), b.elements.begin(), b.elements.end(),
                        NodesEqual);
    case JsonNode::Type::kObject:
      return std::equal(a.members.begin(), a.members.end(), b.members.begin(), b.members.end(),
                        [](const auto& x, const auto& y) {
                          return x.first == y.first && NodesEqual(x.second, y.second);
                        });
    default: return true;
  }
}

}  // namespace

Result<std::string> NormalizeJsonb(std::string_view text) {
  WF_ASSIGN_OR_RETURN(JsonNode root, JsonParser(text).ParseDocument());
  std::string out;
  AppendJsonb(root, &out);
  return out;
}

Result<std::optional<std::string>> JsonbObjectField(std::string_view jsonb, std::string_view key,
                                                    bool as_text) {
  WF_ASSIGN_OR_RETURN(JsonNode root, JsonParser(jsonb).ParseDocument());
  if (root.type != JsonNode::Type::kObject) return std::optional<std::string>();
  for (const auto& [k, v] : root.members) {
    if (k == key) return Extracted(v, as_text);
  }
  return std::optional<std::string>();
}

Result<std::optional<std::string>> JsonbArrayElement(std::string_view jsonb, int32_t index,
                                                     bool as_text) {
  WF_ASSIGN_OR_RETURN(JsonNode root, JsonParser(jsonb).ParseDocument());
  if (root.type == JsonNode::Type::kObject) return std::optional<std::string>();
  bool scalar = root.type != JsonNode::Type::kArray;
  int64_t count = scalar ? 1 : static_cast<int64_t>(root.elements.size());
  int64_t i = index < 0 ? count + index : index;
  if (i < 0 || i >= count) return std::optional<std::string>();
  return Extracted(scalar ? root : root.elements[static_cast<size_t>(i)], as_text);
}

bool JsonbEqual(std::string_view a, std::string_view b) {
  if (a == b) return true;
  Result<JsonNode> x = JsonParser(a).ParseDocument();
  Result<JsonNode> y = JsonParser(b).ParseDocument();
  if (!x.ok() || !y.ok()) return false;
  return NodesEqual(*x, *y);
}

}  // namespace walflow::sql
