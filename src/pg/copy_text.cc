#include "pg/copy_text.h"

#include <cstring>

namespace walflow::pg {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Undoes COPY's escapes (PostgreSQL docs, "COPY: Text Format").
void Unescape(std::string_view field, std::string* out) {
  out->clear();
  for (size_t i = 0; i < field.size(); ++i) {
    char c = field[i];
    if (c != '\\' || i + 1 == field.size()) {
      out->push_back(c);
      continue;
    }
    char e = field[++i];
    switch (e) {
      case 'b': out->push_back('\b'); break;
      case 'f': out->push_back('\f'); break;
      case 'n': out->push_back('\n'); break;
      case 'r': out->push_back('\r'); break;
      case 't': out->push_back('\t'); break;
      case 'v': out->push_back('\v'); break;
      case 'x': {
        int v = 0, digits = 0;
        while (digits < 2 && i + 1 < field.size() && HexValue(field[i + 1]) >= 0) {
          v = v * 16 + HexValue(field[++i]);
          ++digits;
        }
        if (digits == 0) {
          out->push_back('x');
        } else {
          out->push_back(static_cast<char>(v));
        }
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          int v = e - '0', digits = 1;
          while (digits < 3 && i + 1 < field.size() && field[i + 1] >= '0' && field[i + 1] <= '7') {
            v = v * 8 + (field[++i] - '0');
            ++digits;
          }
          out->push_back(static_cast<char>(v));
        } else {
          out->push_back(e);  // \\ and any other escaped character stand for themselves
        }
    }
  }
}

}  // namespace

Result<int32_t> CopyTextDecoder::DecodeRow(std::string_view line, size_t ncols,
                                           ChangeBatch* batch) {
  // COPY writes an empty line for a row of a table without columns.
  size_t fields = line.empty() && ncols == 0 ? 0 : 1;
  for (const char *p = line.data(), *end = p + line.size();
       (p = static_cast<const char*>(std::memchr(p, '\t', end - p))) != nullptr; ++p) {
    ++fields;
  }
  if (fields != ncols) {
    return DataLoss("COPY row has " + std::to_string(fields) + " fields, expected " +
                    std::to_string(ncols));
  }
  int32_t first = batch->AddRow(ncols);
  size_t start = 0;
  for (size_t col = 0; col < ncols; ++col) {
    size_t tab = line.find('\t', start);
    if (tab == std::string_view::npos) tab = line.size();
    std::string_view field = line.substr(start, tab - start);
    start = tab + 1;
    int32_t index = first + static_cast<int32_t>(col);
    if (field == "\\N") {
      batch->DatumAt(index).kind = Datum::Kind::kNull;
    } else if (field.find('\\') == std::string_view::npos) {
      batch->SetText(index, field);
    } else {
      Unescape(field, &scratch_);
      batch->SetText(index, scratch_);
    }
  }
  return first;
}

}  // namespace walflow::pg
