#include "sql/collation.h"

#include <locale.h>
#include <string.h>
#include <wctype.h>

#include <cstdint>

#include "core/utf8.h"

namespace walflow::sql {
namespace {

locale_t Locale(void* p) { return static_cast<locale_t>(p); }

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
    const int32_t cp = NextUtf8(s, &i);
    if (cp < 0) {
      out.push_back(static_cast<char>(-1 - cp));
      continue;
    }
    const wint_t mapped = upper ? towupper_l(static_cast<wint_t>(cp), Locale(locale_))
                                : towlower_l(static_cast<wint_t>(cp), Locale(locale_));
    AppendUtf8(static_cast<uint32_t>(mapped), &out);
  }
  return out;
}

std::string Collation::Upper(std::string_view s) const { return CaseMap(s, true); }
std::string Collation::Lower(std::string_view s) const { return CaseMap(s, false); }

}  // namespace walflow::sql
