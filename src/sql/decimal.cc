#include "sql/decimal.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace walflow::sql {
namespace {

using Limbs = std::vector<uint32_t>;
constexpr uint32_t kBase = 1000000000;
constexpr int kLimbDigits = 9;
constexpr uint32_t kPow10[] = {1,      10,      100,      1000,      10000,
                               100000, 1000000, 10000000, 100000000, 1000000000};

void Trim(Limbs* a) {
  while (!a->empty() && a->back() == 0) a->pop_back();
}

int CompareMagnitude(const Limbs& a, const Limbs& b) {
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  for (size_t i = a.size(); i-- > 0;) {
    if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return 0;
}

Limbs AddMagnitude(const Limbs& a, const Limbs& b) {
  const Limbs& big = a.size() >= b.size() ? a : b;
  const Limbs& small = a.size() >= b.size() ? b : a;
  Limbs r(big.size() + 1);
  uint32_t carry = 0;
  for (size_t i = 0; i < big.size(); ++i) {
    uint32_t s = big[i] + (i < small.size() ? small[i] : 0) + carry;
    carry = s >= kBase;
    r[i] = carry ? s - kBase : s;
  }
  r[big.size()] = carry;
  Trim(&r);
  return r;
}

// a - b for |a| >= |b|.
Limbs SubMagnitude(const Limbs& a, const Limbs& b) {
  Limbs r(a.size());
  int64_t borrow = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    int64_t d = int64_t{a[i]} - (i < b.size() ? b[i] : 0) - borrow;
    borrow = d < 0;
    r[i] = static_cast<uint32_t>(borrow ? d + kBase : d);
  }
  Trim(&r);
  return r;
}

Limbs MulMagnitude(const Limbs& a, const Limbs& b) {
  if (a.empty() || b.empty()) return {};
  std::vector<uint64_t> acc(a.size() + b.size(), 0);
  for (size_t i = 0; i < a.size(); ++i) {
    uint64_t carry = 0;
    for (size_t j = 0; j < b.size(); ++j) {
      uint64_t t = acc[i + j] + uint64_t{a[i]} * b[j] + carry;
      acc[i + j] = t % kBase;
      carry = t / kBase;
    }
    size_t k = i + b.size();
    while (carry != 0) {
      uint64_t t = acc[k] + carry;
      acc[k] = t % kBase;
      carry = t / kBase;
      ++k;
    }
  }
  Limbs r(acc.begin(), acc.end());
  Trim(&r);
  return r;
}

void MulSmall(Limbs* a, uint32_t m) {
  uint64_t carry = 0;
  for (uint32_t& limb : *a) {
    uint64_t t = uint64_t{limb} * m + carry;
    limb = static_cast<uint32_t>(t % kBase);
    carry = t / kBase;
  }
  if (carry != 0) a->push_back(static_cast<uint32_t>(carry));
  Trim(a);
}

void AddSmall(Limbs* a, uint32_t v) {
  for (size_t i = 0; v != 0; ++i) {
    if (i == a->size()) a->push_back(0);
    uint32_t s = (*a)[i] + v;
    v = s >= kBase;
    (*a)[i] = v ? s - kBase : s;
  }
}

// Divides in place; returns the remainder.
uint32_t DivSmall(Limbs* a, uint32_t d) {
  uint64_t rem = 0;
  for (size_t i = a->size(); i-- > 0;) {
    uint64_t cur = rem * kBase + (*a)[i];
    (*a)[i] = static_cast<uint32_t>(cur / d);
    rem = cur % d;
  }
  Trim(a);
  return static_cast<uint32_t>(rem);
}

void MulPow10(Limbs* a, int32_t k) {
  if (a->empty() || k <= 0) return;
  a->insert(a->begin(), static_cast<size_t>(k / kLimbDigits), 0);
  if (k % kLimbDigits != 0) MulSmall(a, kPow10[k % kLimbDigits]);
}

int DigitAt(const Limbs& a, int32_t pos) {
  size_t limb = static_cast<size_t>(pos / kLimbDigits);
  if (limb >= a.size()) return 0;
  return static_cast<int>(a[limb] / kPow10[pos % kLimbDigits] % 10);
}

// a / 10^k, rounded half away from zero when `round` (which needs only the first dropped
// digit), else truncated.
void DropDigits(Limbs* a, int32_t k, bool round) {
  if (k <= 0 || a->empty()) return;
  bool up = round && DigitAt(*a, k - 1) >= 5;
  size_t whole = static_cast<size_t>(k / kLimbDigits);
  if (whole >= a->size()) {
    a->clear();
  } else {
    a->erase(a->begin(), a->begin() + static_cast<std::ptrdiff_t>(whole));
    if (k % kLimbDigits != 0) DivSmall(a, kPow10[k % kLimbDigits]);
  }
  if (up) AddSmall(a, 1);
}

// Knuth's algorithm D: quotient and remainder of magnitudes, v non-empty.
void DivMod(const Limbs& u_in, const Limbs& v_in, Limbs* q, Limbs* r) {
  if (CompareMagnitude(u_in, v_in) < 0) {
    q->clear();
    *r = u_in;
    return;
  }
  if (v_in.size() == 1) {
    *q = u_in;
    uint32_t rem = DivSmall(q, v_in[0]);
    r->clear();
    if (rem != 0) r->push_back(rem);
    return;
  }
  const size_t n = v_in.size();
  const size_t m = u_in.size() - n;
  const uint32_t d = kBase / (v_in.back() + 1);
  Limbs u = u_in;
  Limbs v = v_in;
  u.push_back(0);
  if (d != 1) {
    uint64_t carry = 0;
    for (uint32_t& limb : u) {
      uint64_t t = uint64_t{limb} * d + carry;
      limb = static_cast<uint32_t>(t % kBase);
      carry = t / kBase;
    }
    carry = 0;
    for (uint32_t& limb : v) {
      uint64_t t = uint64_t{limb} * d + carry;
      limb = static_cast<uint32_t>(t % kBase);
      carry = t / kBase;
    }
  }
  q->assign(m + 1, 0);
  const uint64_t vtop = v[n - 1];
  const uint64_t vnext = v[n - 2];
  for (size_t j = m + 1; j-- > 0;) {
    uint64_t num = uint64_t{u[j + n]} * kBase + u[j + n - 1];
    uint64_t qhat = num / vtop;
    uint64_t rhat = num % vtop;
    while (qhat >= kBase || qhat * vnext > rhat * kBase + u[j + n - 2]) {
      --qhat;
      rhat += vtop;
      if (rhat >= kBase) break;
    }
    int64_t borrow = 0;
    uint64_t carry = 0;
    for (size_t i = 0; i < n; ++i) {
      uint64_t p = qhat * v[i] + carry;
      carry = p / kBase;
      int64_t t = int64_t{u[i + j]} - static_cast<int64_t>(p % kBase) - borrow;
      borrow = t < 0;
      u[i + j] = static_cast<uint32_t>(borrow ? t + kBase : t);
    }
    int64_t t = int64_t{u[j + n]} - static_cast<int64_t>(carry) - borrow;
    borrow = t < 0;
    u[j + n] = static_cast<uint32_t>(borrow ? t + kBase : t);
    if (borrow) {
      --qhat;
      uint32_t c = 0;
      for (size_t i = 0; i < n; ++i) {
        uint32_t s = u[i + j] + v[i] + c;
        c = s >= kBase;
        u[i + j] = c ? s - kBase : s;
      }
      u[j + n] = (u[j + n] + c) % kBase;
    }
    (*q)[j] = static_cast<uint32_t>(qhat);
  }
  Trim(q);
  u.resize(n);
  Trim(&u);
  if (d != 1) DivSmall(&u, d);
  *r = std::move(u);
}

void AppendLimbs(const Limbs& a, std::string* out) {
  if (a.empty()) {
    out->push_back('0');
    return;
  }
  char buf[16];
  int len = std::snprintf(buf, sizeof(buf), "%u", a.back());
  out->append(buf, static_cast<size_t>(len));
  for (size_t i = a.size() - 1; i-- > 0;) {
    std::snprintf(buf, sizeof(buf), "%09u", a[i]);
    out->append(buf, kLimbDigits);
  }
}

int32_t DigitCount(const Limbs& a) {
  if (a.empty()) return 0;
  int32_t n = static_cast<int32_t>(a.size() - 1) * kLimbDigits;
  uint32_t top = a.back();
  while (top != 0) {
    ++n;
    top /= 10;
  }
  return n;
}

Limbs LimbsFromDigits(std::string_view digits) {
  Limbs r;
  r.reserve(digits.size() / kLimbDigits + 1);
  size_t end = digits.size();
  while (end > 0) {
    size_t begin = end >= kLimbDigits ? end - kLimbDigits : 0;
    uint32_t limb = 0;
    for (size_t i = begin; i < end; ++i) limb = limb * 10 + static_cast<uint32_t>(digits[i] - '0');
    r.push_back(limb);
    end = begin;
  }
  Trim(&r);
  return r;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != b[i]) return false;
  }
  return true;
}

Status SyntaxError(std::string_view text) {
  return InvalidArgument("invalid input syntax for type numeric: \"" + std::string(text) + "\"");
}

Status Overflow() { return InvalidArgument("value overflows numeric format"); }

}  // namespace

Decimal::Decimal(int64_t v) {
  negative_ = v < 0;
  uint64_t mag = negative_ ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  while (mag != 0) {
    limbs_.push_back(static_cast<uint32_t>(mag % kBase));
    mag /= kBase;
  }
}

void Decimal::Normalize() {
  Trim(&limbs_);
  if (limbs_.empty()) negative_ = false;
}

bool Decimal::is_negative() const {
  return kind_ == Kind::kNegativeInfinity || (kind_ == Kind::kFinite && negative_);
}

int32_t Decimal::IntegerDigits() const { return std::max(0, DigitCount(limbs_) - scale_); }

Result<Decimal> Decimal::Checked(Decimal d) {
  d.Normalize();
  if (d.kind_ == Kind::kFinite && d.IntegerDigits() > kMaxIntegerDigits) return Overflow();
  if (d.scale_ > kMaxDisplayScale) return Overflow();
  return d;
}

Result<Decimal> Decimal::Parse(std::string_view text) {
  std::string_view s = text;
  auto is_space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  if (EqualsIgnoreCase(s, "nan")) return NaN();
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (EqualsIgnoreCase(s, "infinity") || EqualsIgnoreCase(s, "inf")) return Infinity(negative);
  std::string digits;
  digits.reserve(s.size());
  int64_t fraction_digits = 0;
  bool seen_point = false;
  bool any_digit = false;
  size_t i = 0;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (c >= '0' && c <= '9') {
      any_digit = true;
      if (!digits.empty() || c != '0') digits.push_back(c);
      if (seen_point) ++fraction_digits;
    } else if (c == '.' && !seen_point) {
      seen_point = true;
    } else {
      break;
    }
  }
  if (!any_digit) return SyntaxError(text);
  int64_t exponent = 0;
  if (i < s.size()) {
    if (s[i] != 'e' && s[i] != 'E') return SyntaxError(text);
    ++i;
    bool exp_negative = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) exp_negative = s[i++] == '-';
    if (i == s.size()) return SyntaxError(text);
    for (; i < s.size(); ++i) {
      if (s[i] < '0' || s[i] > '9') return SyntaxError(text);
      exponent = exponent * 10 + (s[i] - '0');
      if (exponent > 1000000) return Overflow();
    }
    if (exp_negative) exponent = -exponent;
  }
  Decimal d;
  d.limbs_ = LimbsFromDigits(digits);
  d.negative_ = negative;
  int64_t scale = fraction_digits - exponent;
  if (scale < 0) {
    if (static_cast<int64_t>(digits.size()) - scale > kMaxIntegerDigits + 1) return Overflow();
    MulPow10(&d.limbs_, static_cast<int32_t>(-scale));
    scale = 0;
  }
  if (scale > kMaxDisplayScale) return Overflow();
  d.scale_ = static_cast<int32_t>(scale);
  return Checked(std::move(d));
}

Decimal Decimal::FromDouble(double v) {
  if (std::isnan(v)) return NaN();
  if (std::isinf(v)) return Infinity(v < 0);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.15g", v);
  Result<Decimal> r = Parse(buf);
  return r.ok() ? std::move(r).value() : NaN();
}

Decimal Decimal::FromFloat(float v) {
  if (std::isnan(v)) return NaN();
  if (std::isinf(v)) return Infinity(v < 0);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.6g", static_cast<double>(v));
  Result<Decimal> r = Parse(buf);
  return r.ok() ? std::move(r).value() : NaN();
}

void Decimal::AppendTo(std::string* out) const {
  switch (kind_) {
    case Kind::kNaN: out->append("NaN"); return;
    case Kind::kPositiveInfinity: out->append("Infinity"); return;
    case Kind::kNegativeInfinity: out->append("-Infinity"); return;
    case Kind::kFinite: break;
  }
  if (negative_) out->push_back('-');
  std::string digits;
  AppendLimbs(limbs_, &digits);
  if (scale_ == 0) {
    out->append(digits);
    return;
  }
  if (static_cast<int32_t>(digits.size()) <= scale_) {
    digits.insert(0, static_cast<size_t>(scale_) + 1 - digits.size(), '0');
  }
  size_t point = digits.size() - static_cast<size_t>(scale_);
  out->append(digits, 0, point);
  out->push_back('.');
  out->append(digits, point, std::string::npos);
}

std::string Decimal::ToString() const {
  std::string s;
  AppendTo(&s);
  return s;
}

double Decimal::ToDouble() const {
  switch (kind_) {
    case Kind::kNaN: return std::nan("");
    case Kind::kPositiveInfinity: return HUGE_VAL;
    case Kind::kNegativeInfinity: return -HUGE_VAL;
    case Kind::kFinite: break;
  }
  return std::strtod(ToString().c_str(), nullptr);
}

Result<int64_t> Decimal::ToInt64() const {
  if (kind_ == Kind::kNaN) return InvalidArgument("cannot convert NaN to bigint");
  if (kind_ != Kind::kFinite) return InvalidArgument("cannot convert infinity to bigint");
  Limbs mag = limbs_;
  DropDigits(&mag, scale_, /*round=*/true);
  if (mag.size() > 3) return InvalidArgument("bigint out of range");
  unsigned __int128 v = 0;
  for (size_t i = mag.size(); i-- > 0;) v = v * kBase + mag[i];
  const unsigned __int128 limit = static_cast<unsigned __int128>(INT64_MAX) + (negative_ ? 1 : 0);
  if (v > limit) return InvalidArgument("bigint out of range");
  return negative_ ? static_cast<int64_t>(0 - static_cast<uint64_t>(v)) : static_cast<int64_t>(v);
}

Decimal Decimal::WithScale(int32_t new_scale, bool round) const {
  Decimal d = *this;
  if (kind_ != Kind::kFinite) return d;
  if (new_scale >= scale_) {
    MulPow10(&d.limbs_, new_scale - scale_);
  } else {
    DropDigits(&d.limbs_, scale_ - new_scale, round);
  }
  d.scale_ = new_scale;
  d.Normalize();
  return d;
}

Decimal Decimal::Round(int32_t n) const {
  if (kind_ != Kind::kFinite) return *this;
  n = std::clamp(n, -kMaxRoundScale, kMaxRoundScale);
  if (n >= 0) return WithScale(n, /*round=*/true);
  Decimal d = WithScale(n, /*round=*/true);  // drops scale - n digits, scale_ = n
  MulPow10(&d.limbs_, -n);
  d.scale_ = 0;
  d.Normalize();
  return d;
}

Decimal Decimal::Trunc(int32_t n) const {
  if (kind_ != Kind::kFinite) return *this;
  n = std::clamp(n, -kMaxRoundScale, kMaxRoundScale);
  if (n >= 0) return WithScale(n, /*round=*/false);
  Decimal d = WithScale(n, /*round=*/false);
  MulPow10(&d.limbs_, -n);
  d.scale_ = 0;
  d.Normalize();
  return d;
}

Decimal Decimal::Negate() const {
  switch (kind_) {
    case Kind::kNaN: return *this;
    case Kind::kPositiveInfinity: return Infinity(true);
    case Kind::kNegativeInfinity: return Infinity(false);
    case Kind::kFinite: break;
  }
  Decimal d = *this;
  d.negative_ = !negative_;
  d.Normalize();
  return d;
}

Decimal Decimal::Abs() const {
  if (kind_ == Kind::kNegativeInfinity) return Infinity(false);
  Decimal d = *this;
  d.negative_ = false;
  return d;
}

namespace {
// -Infinity < finite < +Infinity < NaN.
int KindRank(Decimal::Kind k) {
  switch (k) {
    case Decimal::Kind::kNegativeInfinity: return 0;
    case Decimal::Kind::kFinite: return 1;
    case Decimal::Kind::kPositiveInfinity: return 2;
    case Decimal::Kind::kNaN: return 3;
  }
  return 3;
}
}  // namespace

int Decimal::Compare(const Decimal& a, const Decimal& b) {
  int ra = KindRank(a.kind_), rb = KindRank(b.kind_);
  if (ra != rb) return ra < rb ? -1 : 1;
  if (a.kind_ != Kind::kFinite) return 0;
  if (a.negative_ != b.negative_) return a.negative_ ? -1 : 1;
  const int sign = a.negative_ ? -1 : 1;
  if (a.limbs_.empty() || b.limbs_.empty()) {
    return a.limbs_.empty() == b.limbs_.empty() ? 0 : (a.limbs_.empty() ? -1 : 1);
  }
  int32_t ia = DigitCount(a.limbs_) - a.scale_, ib = DigitCount(b.limbs_) - b.scale_;
  if (ia != ib) return ia < ib ? -sign : sign;
  int c;
  if (a.scale_ == b.scale_) {
    c = CompareMagnitude(a.limbs_, b.limbs_);
  } else if (a.scale_ < b.scale_) {
    Limbs x = a.limbs_;
    MulPow10(&x, b.scale_ - a.scale_);
    c = CompareMagnitude(x, b.limbs_);
  } else {
    Limbs y = b.limbs_;
    MulPow10(&y, a.scale_ - b.scale_);
    c = CompareMagnitude(a.limbs_, y);
  }
  return c * sign;
}

bool Decimal::IdenticalTo(const Decimal& o) const {
  return kind_ == o.kind_ && negative_ == o.negative_ && scale_ == o.scale_ && limbs_ == o.limbs_;
}

Result<Decimal> Decimal::Add(const Decimal& a, const Decimal& b) {
  if (a.is_nan() || b.is_nan()) return NaN();
  if (!a.is_finite() || !b.is_finite()) {
    if (!a.is_finite() && !b.is_finite()) return a.kind_ == b.kind_ ? a : NaN();
    return a.is_finite() ? b : a;
  }
  int32_t s = std::max(a.scale_, b.scale_);
  Decimal x = a.WithScale(s, false), y = b.WithScale(s, false);
  Decimal r;
  r.scale_ = s;
  if (x.negative_ == y.negative_) {
    r.limbs_ = AddMagnitude(x.limbs_, y.limbs_);
    r.negative_ = x.negative_;
  } else if (CompareMagnitude(x.limbs_, y.limbs_) >= 0) {
    r.limbs_ = SubMagnitude(x.limbs_, y.limbs_);
    r.negative_ = x.negative_;
  } else {
    r.limbs_ = SubMagnitude(y.limbs_, x.limbs_);
    r.negative_ = y.negative_;
  }
  return Checked(std::move(r));
}

Result<Decimal> Decimal::Sub(const Decimal& a, const Decimal& b) { return Add(a, b.Negate()); }

Result<Decimal> Decimal::Mul(const Decimal& a, const Decimal& b) {
  if (a.is_nan() || b.is_nan()) return NaN();
  if (!a.is_finite() || !b.is_finite()) {
    if (a.is_zero() || b.is_zero()) return NaN();
    return Infinity(a.is_negative() != b.is_negative());
  }
  Decimal r;
  r.limbs_ = MulMagnitude(a.limbs_, b.limbs_);
  r.negative_ = a.negative_ != b.negative_;
  r.scale_ = a.scale_ + b.scale_;
  if (r.scale_ > kMaxDisplayScale) r = r.WithScale(kMaxDisplayScale, /*round=*/true);
  return Checked(std::move(r));
}

int32_t Decimal::DivisionScale(const Decimal& a, const Decimal& b) {
  // Weight and first digit in PostgreSQL's base-10000 representation (numeric.c's
  // select_div_scale): the quotient gets at least 16 significant digits.
  auto base10000 = [](const Decimal& d, int32_t* weight, int32_t* first) {
    *weight = 0;
    *first = 0;
    if (d.limbs_.empty()) return;
    int32_t place = DigitCount(d.limbs_) - d.scale_ - 1;  // of the leading digit
    int32_t w = place >= 0 ? place / 4 : -((-place + 3) / 4);
    int32_t lead = place - 4 * w + 1;  // digits of the first base-10000 digit, 1..4
    std::string digits;
    AppendLimbs(d.limbs_, &digits);
    int32_t v = 0;
    for (int32_t i = 0; i < lead; ++i) {
      v = v * 10 +
          (i < static_cast<int32_t>(digits.size()) ? digits[static_cast<size_t>(i)] - '0' : 0);
    }
    *weight = w;
    *first = v;
  };
  int32_t w1, f1, w2, f2;
  base10000(a, &w1, &f1);
  base10000(b, &w2, &f2);
  int32_t qweight = w1 - w2;
  if (f1 <= f2) --qweight;
  int32_t rscale = 16 - qweight * 4;
  rscale = std::max({rscale, a.scale_, b.scale_, 0});
  return std::min(rscale, kMaxDivisionScale);
}

Result<Decimal> Decimal::Div(const Decimal& a, const Decimal& b) {
  if (a.is_nan() || b.is_nan()) return NaN();
  if (!a.is_finite()) {
    if (!b.is_finite()) return NaN();
    if (b.is_zero()) return InvalidArgument("division by zero");
    return Infinity(a.is_negative() != b.is_negative());
  }
  if (!b.is_finite()) return Decimal();
  if (b.is_zero()) return InvalidArgument("division by zero");
  const int32_t rscale = DivisionScale(a, b);
  // |a/b| * 10^(rscale+1) = A * 10^(rscale + 1 + sb - sa) / B, then round the last digit.
  int32_t shift = rscale + 1 + b.scale_ - a.scale_;
  Limbs num = a.limbs_, den = b.limbs_;
  if (shift >= 0) {
    MulPow10(&num, shift);
  } else {
    MulPow10(&den, -shift);
  }
  Decimal r;
  Limbs rem;
  DivMod(num, den, &r.limbs_, &rem);
  DropDigits(&r.limbs_, 1, /*round=*/true);
  r.negative_ = a.negative_ != b.negative_;
  r.scale_ = rscale;
  return Checked(std::move(r));
}

Result<Decimal> Decimal::Mod(const Decimal& a, const Decimal& b) {
  if (a.is_nan() || b.is_nan()) return NaN();
  if (b.is_zero()) return InvalidArgument("division by zero");
  if (!a.is_finite()) return NaN();
  if (!b.is_finite()) return a;
  int32_t s = std::max(a.scale_, b.scale_);
  Decimal x = a.WithScale(s, false), y = b.WithScale(s, false);
  Decimal r;
  Limbs q;
  DivMod(x.limbs_, y.limbs_, &q, &r.limbs_);
  r.negative_ = a.negative_;
  r.scale_ = s;
  return Checked(std::move(r));
}

Result<Decimal> Decimal::Avg(const Decimal& sum, int64_t count) { return Div(sum, Decimal(count)); }

void Decimal::SignificantDigits(std::string* digits, int32_t* exponent) const {
  digits->clear();
  AppendLimbs(limbs_, digits);
  *exponent = static_cast<int32_t>(digits->size()) - scale_;
  while (!digits->empty() && digits->back() == '0') digits->pop_back();
}

Result<Decimal> Decimal::FromSignificantDigits(bool negative, std::string_view digits,
                                               int32_t exponent) {
  Decimal d;
  d.limbs_ = LimbsFromDigits(digits);
  d.negative_ = negative;
  int64_t scale = static_cast<int64_t>(digits.size()) - exponent;
  if (scale < 0) {
    if (exponent > kMaxIntegerDigits) return Overflow();
    MulPow10(&d.limbs_, static_cast<int32_t>(-scale));
    scale = 0;
  }
  if (scale > kMaxDisplayScale) return Overflow();
  d.scale_ = static_cast<int32_t>(scale);
  return Checked(std::move(d));
}

}  // namespace walflow::sql
