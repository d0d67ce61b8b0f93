"""Peer measurement for bench-encoder: sentence-transformers on PyTorch CPU.

Run by `bench-encoder` with the same texts and model folder it uses itself, so both sides
encode identical inputs:

    python bench_encoder_peer.py --model DIR --texts FILE --threads N [--batch-size 32] [--repeat 1]

FILE holds one text per line. Prints one JSON object on stdout:
{"ok": true, "threads": N, "sentences": K, "seconds": S, "sentences_per_second": R, "versions": {...}}
or {"ok": false, "error": "..."} when torch / sentence-transformers cannot be imported.
"""
import argparse
import json
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--texts", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    try:
        import torch
        import sentence_transformers
        from sentence_transformers import SentenceTransformer
    except Exception as e:  # the peer is optional: report, do not fail the benchmark
        print(json.dumps({"ok": False, "error": f"peer not installed: {e}"}))
        return 0
    torch.set_num_threads(args.threads)
    with open(args.texts, encoding="utf-8") as f:
        texts = [line.rstrip("\n") for line in f]
    model = SentenceTransformer(args.model, device="cpu")
    # Warm-up: first calls allocate and pick kernels.
    model.encode(texts[: min(len(texts), 64)], batch_size=args.batch_size)
    best = float("inf")
    with torch.inference_mode():
        for _ in range(max(1, args.repeat)):
            t0 = time.perf_counter()
            model.encode(texts, batch_size=args.batch_size, convert_to_numpy=True)
            best = min(best, time.perf_counter() - t0)
    print(json.dumps({
        "ok": True,
        "threads": args.threads,
        "sentences": len(texts),
        "seconds": best,
        "sentences_per_second": len(texts) / best,
        "versions": {"torch": torch.__version__, "sentence_transformers": sentence_transformers.__version__},
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
