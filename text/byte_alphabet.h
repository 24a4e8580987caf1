#pragma once
// GPT-2's bytes_to_unicode table. Byte-level BPE works on bytes but writes its vocabulary as
// text: every byte stands for one printable code point (printable Latin-1 bytes for themselves,
// the other 68 for U+0100 onwards, so a space is 'Ġ' U+0120 and a newline 'Ċ' U+010A).
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kiln::byte_alphabet {

// The 256 bytes in the table's order: the 188 printable ones ('!'..'~', '¡'..'¬', '®'..'ÿ'),
// then the rest in increasing order. GPT-2's ids 0..255 follow it, and so does kiln's trainer.
const std::array<uint8_t, 256>& byte_order();

// The symbol of a byte, as UTF-8.
const std::string& symbol(uint8_t byte);

// The byte a code point stands for, or -1 when it is not in the alphabet.
int byte_of(char32_t code_point);

// Bytes -> symbols, and back; decode gives nullopt when the text (valid UTF-8) holds a code point
// outside the alphabet.
std::string encode(std::string_view bytes);
std::optional<std::string> decode(std::string_view symbols);

}  // namespace kiln::byte_alphabet
