#pragma once
// UTF-8 helpers shared by the tokenizers: validation (PCRE2 in UTF mode and the character
// vocabulary both need valid input), code point decoding, and readable names for error messages.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace kiln::utf8 {

// Byte offset of the first byte that does not start a well-formed UTF-8 sequence (overlong
// forms, surrogates, code points above U+10FFFF and truncated sequences are all ill-formed), or
// nullopt when the whole text is valid.
std::optional<size_t> find_invalid(std::string_view text);

// Throws kiln::Error("[op] invalid UTF-8 at byte offset N (bytes 0xC3 0x28): what") when the
// text is not valid UTF-8.
void check_valid(std::string_view text, std::string_view op, std::string_view what);

// Decodes the code point starting at text[pos] (the text must be valid UTF-8) and advances pos.
char32_t next(std::string_view text, size_t& pos);

// Appends the UTF-8 encoding of a code point (at most U+10FFFF, not a surrogate).
void append(std::string& out, char32_t code_point);

// 'é' (U+00E9), or U+000A for control and other invisible characters: for error messages.
std::string describe(char32_t code_point);

}  // namespace kiln::utf8
