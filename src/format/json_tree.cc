#include "format/json_tree.h"

#include <charconv>
#include <iterator>
#include <nlohmann/json.hpp>

#include "format/json_writer.h"

namespace walflow::format {
namespace {

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

}  // namespace

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

bool IsSpecialFloat(std::string_view t) {
  return t == "NaN" || t == "Infinity" || t == "-Infinity";
}

}  // namespace walflow::format
