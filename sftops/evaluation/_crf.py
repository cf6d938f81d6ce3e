"""The classic sequence-labelling reference point for token classification: a linear-chain CRF on word features.

sklearn-crfsuite (L-BFGS with elastic-net penalties) over the features a textbook CRF tagger uses: the word
lower-cased, its 3-character prefix and suffix, case and digit flags, its shape, the same for the words either
side, and sentence start / end markers. The penalties are fixed and small and the iterations bounded, so the
baseline trains in seconds on a few thousand sentences and needs no tuning of its own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

C1 = 0.1  # L1 penalty
C2 = 0.1  # L2 penalty
MAX_ITERATIONS = 100

_UPPER, _LOWER, _DIGIT = re.compile(r"[A-Z]"), re.compile(r"[a-z]"), re.compile(r"[0-9]")


def word_shape(word: str) -> str:
    """The word's shape with character-class runs collapsed: 'McDonald' -> 'XxXx', 'RT' -> 'X', '2016-01' -> 'd-d'."""
    shape = _DIGIT.sub("d", _LOWER.sub("x", _UPPER.sub("X", word)))
    return re.sub(r"(.)\1+", r"\1", shape)


def _own(word: str, prefix: str) -> dict[str, str | bool]:
    return {
        f"{prefix}lower": word.lower(),
        f"{prefix}istitle": word.istitle(),
        f"{prefix}isupper": word.isupper(),
        f"{prefix}shape": word_shape(word),
    }


def word_features(words: Sequence[str], i: int) -> dict[str, str | bool]:
    """The features of word `i` of a sentence: its own, the prefix/suffix 3 and digit flag, and its neighbours' (±1)."""
    word = words[i]
    features: dict[str, str | bool] = {
        "bias": True,
        **_own(word, ""),
        "prefix3": word[:3],
        "suffix3": word[-3:],
        "isdigit": word.isdigit(),
    }
    if i > 0:
        features.update(_own(words[i - 1], "-1:"))
    else:
        features["BOS"] = True
    if i < len(words) - 1:
        features.update(_own(words[i + 1], "+1:"))
    else:
        features["EOS"] = True
    return features


def sentence_features(words: Sequence[str]) -> list[dict[str, str | bool]]:
    """`word_features` of every word of a sentence."""
    return [word_features(words, i) for i in range(len(words))]


def crf_tags(train_sentences: Sequence[Sequence[str]], train_tags: Sequence[Sequence[str]],
             sentences: Sequence[Sequence[str]]) -> list[list[str]]:
    """IOB2 tags per word of `sentences` from a CRF fitted on the train split's words and tags.

    L-BFGS on a convex objective from a zero start: the same data gives the same model, so no seed."""
    import sklearn_crfsuite

    if len(train_sentences) != len(train_tags):
        raise ValueError(f"{len(train_sentences)} training sentences but {len(train_tags)} tag lists")
    crf = sklearn_crfsuite.CRF(algorithm="lbfgs", c1=C1, c2=C2, max_iterations=MAX_ITERATIONS,
                               all_possible_transitions=True)
    crf.fit([sentence_features(s) for s in train_sentences], [list(t) for t in train_tags])
    if not sentences:
        return []
    return [list(tags) for tags in crf.predict([sentence_features(s) for s in sentences])]
