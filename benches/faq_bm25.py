#!/usr/bin/env python3
"""A plain Python BM25 baseline for `motcua faq match` (standard library only).

Same input and output as the Rust command: one question per stdin line, one
JSON line `{"q", "intent", "score"}` per question. It reads the same
knowledge base (`faq/*.md` examples, `abbreviations.txt`, `synonyms.txt`,
`out-of-scope.txt`), folds text the same way (lowercase, no diacritics,
`đ` → `d`, punctuation as spaces), expands abbreviations, and ranks every
example with Okapi BM25 (k1 = 1.5, b = 0.75) over an inverted index; the
best example's intent wins, and it abstains when the best example is an
out-of-scope phrasing or the score is under a threshold.

It is a speed baseline (what a straightforward Python service would cost),
not a second matcher: no typo repair, no bigrams, no language detection.

    python3 benches/faq_bm25.py < questions.txt > answers.jsonl
"""

import json
import math
import os
import re
import sys
import unicodedata

FAQ = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "faq")
K1, B = 1.5, 0.75
THRESHOLD = 4.0
_SEP = re.compile(r"[^0-9a-z]+")


def fold(text):
    text = text.replace("đ", "d").replace("Đ", "d")
    text = unicodedata.normalize("NFD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return _SEP.sub(" ", text).strip()


def read_dictionary(name):
    pairs = {}
    try:
        lines = open(os.path.join(FAQ, name), encoding="utf-8").read().splitlines()
    except OSError:
        return pairs
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if "=" not in line:
            continue
        k, v = line.split("=", 1)
        k = fold(k)
        if k:
            pairs[k] = fold(v).split()
    return pairs


def read_entries():
    docs = []
    for name in sorted(os.listdir(FAQ)):
        if not name.endswith(".md") or name == "README.md":
            continue
        text = open(os.path.join(FAQ, name), encoding="utf-8").read()
        intent, in_list = None, False
        for line in text.split("---", 2)[1].splitlines():
            s = line.strip()
            if s.startswith("id:"):
                intent = s[3:].strip()
            elif s in ("examples:", "examples_en:"):
                in_list = True
            elif s.startswith("- ") and in_list:
                docs.append((intent, s[2:].strip().strip('"')))
            elif s.endswith(":"):
                in_list = False
    for line in open(os.path.join(FAQ, "out-of-scope.txt"), encoding="utf-8"):
        line = line.split("#", 1)[0].strip()
        if line:
            docs.append((None, line))
    return docs


class Bm25:
    def __init__(self):
        self.words = read_dictionary("abbreviations.txt")
        self.words.update(read_dictionary("synonyms.txt"))
        self.intents, postings, lengths = [], {}, []
        for intent, text in read_entries():
            toks = self.tokens(text)
            if not toks:
                continue
            d = len(self.intents)
            self.intents.append(intent)
            lengths.append(len(toks))
            tf = {}
            for t in toks:
                tf[t] = tf.get(t, 0) + 1
            for t, n in tf.items():
                postings.setdefault(t, []).append((d, n))
        n_docs = len(lengths)
        avg = sum(lengths) / n_docs
        norm = [K1 * (1 - B + B * n / avg) for n in lengths]
        # Precomputed per-posting weights: idf * tf * (k1 + 1) / (tf + norm).
        self.index = {}
        for t, plist in postings.items():
            df = len(plist)
            idf = math.log(1 + (n_docs - df + 0.5) / (df + 0.5))
            self.index[t] = [(d, idf * n * (K1 + 1) / (n + norm[d])) for d, n in plist]

    def tokens(self, text):
        out = []
        for t in fold(text).split():
            out.extend(self.words.get(t, (t,)))
        return out

    def match(self, q):
        scores = {}
        for t in set(self.tokens(q)):
            for d, w in self.index.get(t, ()):
                scores[d] = scores.get(d, 0.0) + w
        if not scores:
            return None, 0.0
        d = max(scores, key=scores.get)
        best = scores[d]
        intent = self.intents[d] if best >= THRESHOLD else None
        return intent, round(best, 4)


def main():
    m = Bm25()
    out = sys.stdout
    for line in sys.stdin:
        q = line.rstrip("\r\n")
        intent, score = m.match(q)
        out.write(json.dumps({"q": q, "intent": intent, "score": score}, ensure_ascii=False))
        out.write("\n")


if __name__ == "__main__":
    main()
