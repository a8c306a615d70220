// sql::Decimal: PostgreSQL's `numeric`, exact. A finite value is an unsigned coefficient
// (base 10^9 limbs) times 10^-scale with a sign; `scale` is the display scale PostgreSQL
// keeps and prints ("1.50" stays "1.50"). NaN and ±Infinity (PostgreSQL 14+) order as
// PostgreSQL orders them: -Infinity < finite < +Infinity < NaN, and NaN equals NaN.
// Results follow numeric.c's scale rules: + and - take the larger scale, * the sum of the
// scales (rounded to kMaxDisplayScale), / select_div_scale, round(x, n) max(n, 0).
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace walflow::sql {

class Decimal {
 public:
  enum class Kind : uint8_t { kFinite, kNaN, kPositiveInfinity, kNegativeInfinity };

  // PostgreSQL's limits: NUMERIC_DSCALE_MAX, digits before the point, and the largest
  // scale a division or round() produces (NUMERIC_MAX_DISPLAY_SCALE / MAX_RESULT_SCALE).
  static constexpr int32_t kMaxDisplayScale = 16383;
  static constexpr int32_t kMaxIntegerDigits = 131072;
  static constexpr int32_t kMaxDivisionScale = 1000;
  static constexpr int32_t kMaxRoundScale = 2000;

  Decimal() = default;  // 0, scale 0
  explicit Decimal(int64_t v);
  static Decimal NaN() { return Decimal(Kind::kNaN); }
  static Decimal Infinity(bool negative = false) {
    return Decimal(negative ? Kind::kNegativeInfinity : Kind::kPositiveInfinity);
  }

  // numeric_in: "-12.340", "1.5e3", "NaN", "Infinity", "-inf", surrounding spaces.
  static Result<Decimal> Parse(std::string_view text);
  // float8_numeric / float4_numeric: the double's text with 15 (float4: 6) significant
  // digits ("%.15g"), read back; NaN and infinities map to theirs.
  static Decimal FromDouble(double v);
  static Decimal FromFloat(float v);

  // numeric_out: the digits with exactly `scale` digits after the point.
  std::string ToString() const;
  void AppendTo(std::string* out) const;
  // numeric_float8: the text read by strtod (so correctly rounded).
  double ToDouble() const;
  // numeric_int8: rounds half away from zero; NaN, infinities and out-of-range values fail
  // ("bigint out of range", "cannot convert NaN to bigint").
  Result<int64_t> ToInt64() const;

  Kind kind() const { return kind_; }
  bool is_finite() const { return kind_ == Kind::kFinite; }
  bool is_nan() const { return kind_ == Kind::kNaN; }
  bool is_zero() const { return kind_ == Kind::kFinite && limbs_.empty(); }
  // True for finite negatives and -Infinity; zero is never negative.
  bool is_negative() const;
  int32_t scale() const { return scale_; }

  // Arithmetic with PostgreSQL's result scales and special-value rules (Inf - Inf = NaN,
  // Inf * 0 = NaN, x / Inf = 0). Fails with "value overflows numeric format" past
  // kMaxIntegerDigits and "division by zero".
  static Result<Decimal> Add(const Decimal& a, const Decimal& b);
  static Result<Decimal> Sub(const Decimal& a, const Decimal& b);
  static Result<Decimal> Mul(const Decimal& a, const Decimal& b);
  static Result<Decimal> Div(const Decimal& a, const Decimal& b);
  // numeric_mod: truncated quotient, remainder with the dividend's sign, scale max.
  static Result<Decimal> Mod(const Decimal& a, const Decimal& b);
  // numeric_avg's final step: sum / count with select_div_scale (count as a scale-0
  // numeric). `count` must be > 0.
  static Result<Decimal> Avg(const Decimal& sum, int64_t count);
  // The scale Div(a, b) gives a finite a and b (select_div_scale).
  static int32_t DivisionScale(const Decimal& a, const Decimal& b);

  // round(x, n): half away from zero at n digits after the point (n < 0 rounds to the left
  // of the point); the result's scale is max(n, 0). n is clamped to ±kMaxRoundScale.
  Decimal Round(int32_t n) const;
  // trunc(x, n), with the same scale rule.
  Decimal Trunc(int32_t n) const;
  Decimal Negate() const;
  Decimal Abs() const;

  // Numeric order (scale ignored: 1.5 == 1.50).
  static int Compare(const Decimal& a, const Decimal& b);
  friend bool operator==(const Decimal& a, const Decimal& b) { return Compare(a, b) == 0; }
  friend std::strong_ordering operator<=>(const Decimal& a, const Decimal& b) {
    return Compare(a, b) <=> 0;
  }
  // Same value and same scale (what the text form shows).
  bool IdenticalTo(const Decimal& o) const;

  // The significant decimal digits of a finite non-zero value without leading or
  // trailing zeros, and the exponent E with |x| = 0.DIGITS × 10^E. For the key encoding.
  void SignificantDigits(std::string* digits, int32_t* exponent) const;
  // The inverse: 0.DIGITS × 10^E with the given sign and the smallest scale that holds it.
  static Result<Decimal> FromSignificantDigits(bool negative, std::string_view digits,
                                               int32_t exponent);

 private:
  explicit Decimal(Kind k) : kind_(k) {}
  static Result<Decimal> Checked(Decimal d);
  void Normalize();  // drops high zero limbs; zero is never negative
  Decimal WithScale(int32_t new_scale, bool round) const;
  int32_t IntegerDigits() const;  // digits before the point of |x| (0 for |x| < 1)

  Kind kind_ = Kind::kFinite;
  bool negative_ = false;
  int32_t scale_ = 0;
  std::vector<uint32_t> limbs_;  // coefficient, base 10^9, least significant first
};

}  // namespace walflow::sql
