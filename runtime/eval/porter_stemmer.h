// The Porter stemmer as nltk's PorterStemmer() (mode NLTK_EXTENSIONS, unchanged from nltk 3.8
// through 3.10) stems, which rouge_score's use_stemmer=True calls. Snowball's "porter" (Debian's
// libstemmer) is the published algorithm and stems 1.6% of English words differently, so this is
// written out here (README, "Evaluation").
#ifndef DYSCO_PORTER_STEMMER_H
#define DYSCO_PORTER_STEMMER_H

#include <stddef.h>

// Stems the lowercase ASCII word w[0..n) in place and returns the stem's length (never longer).
size_t dy_porter_stem(char *w, size_t n);

#endif
