// The slides' BPE algorithm step by step: every word starts as its bytes; the most frequent
// adjacent pair is merged into a new token, again and again. The table lists the merges in the
// order they were learned; the words are then cut with them. With --tokenizer (a GPT-2
// tokenizer directory) the same words are also cut by GPT-2's 50 000 merges, with their ids.
// Tokens are written in GPT-2's byte alphabet: 'Ġ' is a space before the word.
#include <fmt/core.h>

#include "core/file_io.h"
#include "course/experiments.h"
#include "text/bpe_trainer.h"
#include "text/tokenizer.h"

namespace kiln::course {
namespace {

std::vector<std::string> split_words(const std::string& list) {
  std::vector<std::string> words;
  size_t start = 0;
  while (true) {
    const size_t comma = list.find(',', start);
    if (comma > start) words.push_back(list.substr(start, comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return words;
}

void add_pieces(Table& table, const std::string& tokenizer_name, const Tokenizer& tokenizer,
                const std::string& word) {
  const std::vector<int64_t> ids = tokenizer.encode(word);
  std::string pieces, numbers;
  for (const int64_t id : ids) {
    pieces += (pieces.empty() ? "" : " ") + tokenizer.id_to_token(id);
    numbers += (numbers.empty() ? "" : " ") + std::to_string(id);
  }
  table.add({tokenizer_name, word, std::to_string(ids.size()), pieces, numbers});
}

void run(const Args& args, Output& out) {
  const int64_t merges = args.integer("merges", 1, 100000);
  const std::string corpus_path =
      args.text("corpus").empty() ? course_data("mini_corpus.txt").string() : args.text("corpus");
  const std::string corpus = read_text_file(corpus_path, args.op());
  BpeTrainerOptions options;
  options.vocab_size = 256 + merges + 1;
  const ByteLevelBpe bpe = train_byte_level_bpe(corpus, options);

  fmt::print(
      "BPE on {}: {} merges learned (asked {}; training stops when no pair occurs "
      "twice)\n",
      corpus_path, bpe.merges().size(), merges);
  Table merge_table{{"step", "left", "right", "new_token", "id"}, {}};
  int64_t step = 0;
  for (const auto& [left, right] : bpe.merges()) {
    ++step;
    const auto id = bpe.token_to_id(left + right);
    merge_table.add(
        {std::to_string(step), left, right, left + right, id ? std::to_string(*id) : "?"});
  }
  merge_table.print();
  out.write_csv("merges.csv", merge_table);

  Table pieces{{"tokenizer", "word", "tokens", "pieces", "ids"}, {}};
  const std::vector<std::string> words = split_words(args.text("words"));
  for (const std::string& w : words) add_pieces(pieces, "trained here", bpe, w);
  if (!args.text("tokenizer").empty()) {
    const std::unique_ptr<Tokenizer> gpt2 = load_tokenizer(args.text("tokenizer"));
    for (const std::string& w : words) add_pieces(pieces, args.text("tokenizer"), *gpt2, w);
  } else {
    fmt::print(
        "(give --tokenizer DIR, a GPT-2 tokenizer directory, to compare with GPT-2's cuts)\n");
  }
  fmt::print("\n");
  pieces.print();
  out.write_csv("pieces.csv", pieces);
  out.plot("bpe", "bpe.png");
}

}  // namespace

Experiment bpe_experiment() {
  return {
      "bpe",
      "Tokens: l'algorithme BPE pas à pas",
      "BPE merges learned step by step, then words cut into pieces (and by GPT-2's tokenizer)",
      {{"merges", "Merges to learn", "60", "20"},
       {"words", "Words to tokenise, comma-separated",
        "internationalisation,unbelievable,Les modèles de langage internationaux", ""},
       {"tokenizer", "A GPT-2 tokenizer directory (vocab.json + merges.txt) to compare", "", ""},
       {"corpus", "Training text (default: course/data/mini_corpus.txt)", "", ""}},
      run};
}

}  // namespace kiln::course
