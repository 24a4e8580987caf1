#include "text/utf8.h"

#include <cstdint>
#include <cstring>

#include "core/error.h"

namespace kiln::utf8 {

namespace {

bool is_continuation(unsigned char c) {
  return (c & 0xC0) == 0x80;
}

// Length of the well-formed sequence at text[pos], or 0 when it is ill-formed. The ranges of the
// second byte are those of the Unicode standard's table 3-7 (well-formed byte sequences).
size_t sequence_length(std::string_view text, size_t pos) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[pos + i]); };
  const size_t left = text.size() - pos;
  const unsigned char c = byte(0);
  if (c < 0x80) return 1;
  if (c < 0xC2) return 0;
  if (c < 0xE0) return left >= 2 && is_continuation(byte(1)) ? 2 : 0;
  if (c < 0xF0) {
    if (left < 3 || !is_continuation(byte(2))) return 0;
    const unsigned char lo = c == 0xE0 ? 0xA0 : 0x80;
    const unsigned char hi = c == 0xED ? 0x9F : 0xBF;
    return byte(1) >= lo && byte(1) <= hi ? 3 : 0;
  }
  if (c < 0xF5) {
    if (left < 4 || !is_continuation(byte(2)) || !is_continuation(byte(3))) return 0;
    const unsigned char lo = c == 0xF0 ? 0x90 : 0x80;
    const unsigned char hi = c == 0xF4 ? 0x8F : 0xBF;
    return byte(1) >= lo && byte(1) <= hi ? 4 : 0;
  }
  return 0;
}

}  // namespace

std::optional<size_t> find_invalid(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    // Most text is ASCII: skip it eight bytes at a time.
    if (pos + 8 <= text.size()) {
      uint64_t chunk;
      std::memcpy(&chunk, text.data() + pos, 8);
      if ((chunk & 0x8080808080808080ull) == 0) {
        pos += 8;
        continue;
      }
    }
    const size_t length = sequence_length(text, pos);
    if (length == 0) return pos;
    pos += length;
  }
  return std::nullopt;
}

void check_valid(std::string_view text, std::string_view op, std::string_view what) {
  const std::optional<size_t> bad = find_invalid(text);
  if (!bad) return;
  std::string bytes;
  for (size_t i = *bad; i < text.size() && i < *bad + 4; ++i) {
    bytes +=
        fmt::format("{}0x{:02X}", bytes.empty() ? "" : " ", static_cast<unsigned char>(text[i]));
  }
  fail(op, "invalid UTF-8 at byte offset {} (bytes {}): {}", *bad, bytes, what);
}

char32_t next(std::string_view text, size_t& pos) {
  const auto byte = [&](size_t i) {
    return static_cast<char32_t>(static_cast<unsigned char>(text[pos + i]));
  };
  const char32_t c = byte(0);
  char32_t code_point;
  if (c < 0x80) {
    code_point = c;
    pos += 1;
  } else if (c < 0xE0) {
    code_point = ((c & 0x1F) << 6) | (byte(1) & 0x3F);
    pos += 2;
  } else if (c < 0xF0) {
    code_point = ((c & 0x0F) << 12) | ((byte(1) & 0x3F) << 6) | (byte(2) & 0x3F);
    pos += 3;
  } else {
    code_point =
        ((c & 0x07) << 18) | ((byte(1) & 0x3F) << 12) | ((byte(2) & 0x3F) << 6) | (byte(3) & 0x3F);
    pos += 4;
  }
  return code_point;
}

void append(std::string& out, char32_t code_point) {
  if (code_point < 0x80) {
    out += static_cast<char>(code_point);
  } else if (code_point < 0x800) {
    out += static_cast<char>(0xC0 | (code_point >> 6));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else if (code_point < 0x10000) {
    out += static_cast<char>(0xE0 | (code_point >> 12));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code_point >> 18));
    out += static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  }
}

std::string describe(char32_t code_point) {
  const auto hex = fmt::format("U+{:04X}", static_cast<uint32_t>(code_point));
  // Controls, spaces and combining marks print badly between quotes: name them by number only.
  const bool visible = code_point > 0x20 && code_point != 0x7F &&
                       !(code_point >= 0x80 && code_point < 0xA1) &&
                       !(code_point >= 0x300 && code_point < 0x370);
  if (!visible) return hex;
  std::string quoted = "'";
  append(quoted, code_point);
  return quoted + "' (" + hex + ")";
}

}  // namespace kiln::utf8
