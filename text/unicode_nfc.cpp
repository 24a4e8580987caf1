#include "text/unicode_nfc.h"

#include "core/error.h"

#ifdef KILN_HAVE_ICU
#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>
#endif

namespace kiln {

#ifdef KILN_HAVE_ICU

bool nfc_available() {
  return true;
}

std::string to_nfc(std::string text) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(status);
  KILN_CHECK(U_SUCCESS(status), "nfc", "ICU has no NFC data: {}", u_errorName(status));
  const icu::StringPiece piece(text.data(), static_cast<int32_t>(text.size()));
  // Most text is already NFC; checking is cheaper than rebuilding it.
  if (nfc->isNormalizedUTF8(piece, status) && U_SUCCESS(status)) return text;
  status = U_ZERO_ERROR;
  std::string out;
  out.reserve(text.size());
  icu::StringByteSink<std::string> sink(&out);
  nfc->normalizeUTF8(0, piece, sink, nullptr, status);
  KILN_CHECK(U_SUCCESS(status), "nfc", "ICU could not normalize the text: {}", u_errorName(status));
  return out;
}

#else

bool nfc_available() {
  return false;
}

std::string to_nfc(std::string) {
  fail("nfc", "this kiln was built without ICU, which NFC normalization needs");
}

#endif

}  // namespace kiln
