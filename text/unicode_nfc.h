#pragma once
// Unicode normalization form C, for tokenizer.json's NFC normalizer (Qwen2's), through ICU when
// kiln is built with it.
#include <string>

namespace kiln {

// Whether this build can normalize (it was built with ICU).
bool nfc_available();

// The NFC form of valid UTF-8 text; without ICU, a kiln::Error.
std::string to_nfc(std::string text);

}  // namespace kiln
