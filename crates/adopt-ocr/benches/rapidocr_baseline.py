"""RapidOCR's own Python pipeline on the pages the `ocr` bench rendered: the baseline it
prints beside adopt. Same models (rapidocr-onnxruntime==1.4.4), RapidOCR's defaults.

Usage: rapidocr_baseline.py PAGE.png...

Prints one JSON object per page on stdout, {"file", "seconds", "text"}, lines joined with
"\n" in RapidOCR's order; the first page is also run once beforehand, untimed, so session
start-up is not counted. Exits 3 when rapidocr_onnxruntime is not importable.
"""

import json
import sys
import time

try:
    import cv2
    from rapidocr_onnxruntime import RapidOCR
except ImportError as err:  # the bench prints a "skipped" line
    print(f"rapidocr_onnxruntime not importable: {err}", file=sys.stderr)
    sys.exit(3)


def main() -> None:
    paths = sys.argv[1:]
    engine = RapidOCR()
    # Decoding the PNGs is not OCR: load them all first, as the bench hands adopt decoded
    # pixels too.
    images = [cv2.imread(p, cv2.IMREAD_COLOR) for p in paths]
    if images:
        engine(images[0])
    for path, image in zip(paths, images):
        start = time.perf_counter()
        result, _ = engine(image)
        seconds = time.perf_counter() - start
        text = "\n".join(line[1] for line in result or [])
        print(json.dumps({"file": path, "seconds": seconds, "text": text}, ensure_ascii=False))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
