#include "text/byte_alphabet.h"

#include "text/utf8.h"

namespace kiln::byte_alphabet {

namespace {

struct Table {
  std::array<uint8_t, 256> order{};
  std::array<char32_t, 256> code_points{};
  std::array<std::string, 256> symbols;
  std::array<int16_t, 0x144> bytes{};  // every symbol is below U+0144

  Table() {
    bytes.fill(-1);
    int n = 0;
    const auto printable = [](int b) {
      return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    };
    for (int b = 0; b < 256; ++b) {
      if (printable(b)) order[n++] = static_cast<uint8_t>(b);
    }
    int shifted = 0;
    for (int b = 0; b < 256; ++b) {
      if (!printable(b)) {
        order[n++] = static_cast<uint8_t>(b);
        code_points[b] = static_cast<char32_t>(256 + shifted++);
      } else {
        code_points[b] = static_cast<char32_t>(b);
      }
      utf8::append(symbols[b], code_points[b]);
      bytes[code_points[b]] = static_cast<int16_t>(b);
    }
  }
};

const Table& table() {
  static const Table instance;
  return instance;
}

}  // namespace

const std::array<uint8_t, 256>& byte_order() {
  return table().order;
}

const std::string& symbol(uint8_t byte) {
  return table().symbols[byte];
}

int byte_of(char32_t code_point) {
  const Table& t = table();
  return code_point < t.bytes.size() ? t.bytes[code_point] : -1;
}

std::string encode(std::string_view bytes) {
  const Table& t = table();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) out += t.symbols[static_cast<uint8_t>(c)];
  return out;
}

std::optional<std::string> decode(std::string_view symbols) {
  std::string out;
  size_t pos = 0;
  while (pos < symbols.size()) {
    const int byte = byte_of(utf8::next(symbols, pos));
    if (byte < 0) return std::nullopt;
    out += static_cast<char>(byte);
  }
  return out;
}

}  // namespace kiln::byte_alphabet
