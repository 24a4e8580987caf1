#pragma once
// One factory per demonstration or experiment; each is defined in the file of its name.
#include "core/error.h"
#include "course/course.h"

namespace kiln::course {

Experiment mlp_experiment();                      // mlp.cpp
Experiment lstm_experiment();                     // lstm.cpp
Experiment ngram_experiment();                    // ngram.cpp
Experiment bpe_experiment();                      // bpe.cpp
Experiment embeddings_experiment();               // embeddings.cpp
Experiment attention_by_hand_experiment();        // attention_by_hand.cpp
Experiment decoding_experiment();                 // decoding.cpp
Experiment learning_curves_experiment();          // learning_curves.cpp
Experiment regularisation_experiment();           // regularisation.cpp
Experiment vanishing_gradient_experiment();       // vanishing_gradient.cpp
Experiment ngram_vs_gpt_experiment();             // ngram_vs_gpt.cpp
Experiment token_lengths_experiment();            // token_lengths.cpp
Experiment attention_heads_experiment();          // attention_heads.cpp
Experiment attention_cost_experiment();           // attention_cost.cpp
Experiment zero_shot_vs_supervised_experiment();  // zero_shot_vs_supervised.cpp
Experiment temperature_entropy_experiment();      // temperature_entropy.cpp
Experiment prompt_benchmark_experiment();         // prompt_benchmark.cpp

}  // namespace kiln::course
