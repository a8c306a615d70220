// sql jsonb: PostgreSQL 15's jsonb over its text form (a jsonb Value holds text). Input is
// normalized as jsonb_in stores it and jsonb_out prints it: keys sorted by length, then
// bytes, the last of duplicate keys kept, numbers as numeric prints them (1.50 stays 1.50,
// 1e2 is 100), strings with JSON's escapes, ": " and ", " between items.
//
// walflow reads json columns as jsonb (SqlTypeFromOid), so these functions also serve json
// text: -> and ->> over json answer as over jsonb (the last duplicate key wins; a value
// taken out with -> prints normalized, where PostgreSQL's json -> keeps the text as written).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace walflow::sql {

// jsonb_in: `text` in jsonb's output form. Errors carry PostgreSQL's message, then its
// DETAIL on the next line: "invalid input syntax for type json\nDETAIL:  Token \"nul\" is
// invalid.", "unsupported Unicode escape sequence" (\u0000).
Result<std::string> NormalizeJsonb(std::string_view text);

// `jsonb -> key` (as_text: ->>) over a jsonb text: the member's value, nullopt (NULL) when
// the key is missing or the document is no object; ->> of a JSON null is NULL too.
Result<std::optional<std::string>> JsonbObjectField(std::string_view jsonb, std::string_view key,
                                                    bool as_text);
// `jsonb -> index` (as_text: ->>): the array element, a negative index counting from the
// end; nullopt when out of bounds or the document is no array. A scalar document is an
// array of one, as in PostgreSQL ('5'::jsonb -> 0 is 5).
Result<std::optional<std::string>> JsonbArrayElement(std::string_view jsonb, int32_t index,
                                                     bool as_text);

// jsonb = jsonb: the same structure with numbers equal as numerics ('1.0' = '1'). Invalid
// text is compared by bytes.
bool JsonbEqual(std::string_view a, std::string_view b);

}  // namespace walflow::sql
