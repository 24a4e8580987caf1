#include "models/special_token_ids.h"

#include <utility>

#include "core/error.h"

namespace kiln::models {

void check_special_ids(const SpecialTokenIds& ids, int64_t vocab_size) {
  for (const auto& [name, id] : {std::pair{"bos", ids.bos}, std::pair{"eos", ids.eos}})
    KILN_CHECK(!id || (*id >= 0 && *id < vocab_size), "hf",
               "{} token id {} is outside the model's vocabulary [0, {})", name, *id, vocab_size);
}

}  // namespace kiln::models
