#include "sql/collation.h"

#include <locale.h>
#include <string.h>
#include <wctype.h>

#include <cstdint>

namespace walflow::sql {
namespace {

locale_t Locale(void* p) { return static_cast<locale_t>(p); }

// One code point from UTF-8 at `*i` (advancing it); invalid bytes come back as themselves
// (-1 plus the byte, so they are copied unchanged).
int32_t NextCodePoint(std::string_view s, size_t* i) {
  const auto b = static_cast<unsigned char>(s[*i]);
  int len = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xe ? 3 : (b >> 3) == 0x1e ? 4 : 0;
  if (len == 0 || *i + len > s.size()) {
    ++*i;
    return -1 - b;
  }
  int32_t cp = len == 1 ? b : b & (0x7f >> len);
  for (int k = 1; k < len; ++k) {
    const auto c = static_cast<unsigned char>(s[*i + k]);
    if ((c >> 6) != 0x2) {
      ++*i;
      return -1 - b;
    }
    cp = (cp << 6) | (c & 0x3f);
  }
  *i += len;
  return cp;
}

void AppendUtf8(int32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

}  // namespace

bool Collation::IsBytewise(std::string_view name) {
  return name.empty() || name == "C" || name == "POSIX" || name == "ucs_basic";
}

Result<std::shared_ptr<const Collation>> Collation::Open(const std::string& name) {
  locale_t loc = newlocale(LC_COLLATE_MASK | LC_CTYPE_MASK, name.c_str(), nullptr);
  if (loc == nullptr) {
    return FailedPrecondition(
        "collation \"" + name + "\" is not a locale of this machine's C library (locale -a " +
        "lists those it has; generate it, e.g. localedef -i " + name.substr(0, name.find('.')) +
        " -f UTF-8 " + name + ", or declare the column COLLATE \"C\")");
  }
  std::shared_ptr<Collation> c(new Collation());
  c->name_ = name;
  c->locale_ = loc;
  return std::shared_ptr<const Collation>(std::move(c));
}

Collation::~Collation() {
  if (locale_ != nullptr) freelocale(Locale(locale_));
}

int Collation::Compare(std::string_view a, std::string_view b) const {
  // strcoll needs terminated strings; PostgreSQL's text holds no NUL.
  const std::string x(a), y(b);
  const int c = strcoll_l(x.c_str(), y.c_str(), Locale(locale_));
  if (c != 0) return c < 0 ? -1 : 1;
  return a.compare(b) < 0 ? -1 : a == b ? 0 : 1;
}

std::string Collation::SortKey(std::string_view s) const {
  const std::string in(s);
  std::string out(in.size() * 4 + 16, '\0');
  size_t n = strxfrm_l(out.data(), in.c_str(), out.size(), Locale(locale_));
  if (n >= out.size()) {
    out.resize(n + 1);
    n = strxfrm_l(out.data(), in.c_str(), out.size(), Locale(locale_));
  }
  out.resize(n);
  return out;
}

std::string Collation::CaseMap(std::string_view s, bool upper) const {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const int32_t cp = NextCodePoint(s, &i);
    if (cp < 0) {
      out.push_back(static_cast<char>(-1 - cp));
      continue;
    }
    const wint_t mapped = upper ? towupper_l(static_cast<wint_t>(cp), Locale(locale_))
                                : towlower_l(static_cast<wint_t>(cp), Locale(locale_));
    AppendUtf8(static_cast<int32_t>(mapped), &out);
  }
  return out;
}

std::string Collation::Upper(std::string_view s) const { return CaseMap(s, true); }
std::string Collation::Lower(std::string_view s) const { return CaseMap(s, false); }

}  // namespace walflow::sql
