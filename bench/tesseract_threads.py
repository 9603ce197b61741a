"""Tesseract's OpenMP threads: seconds per page with OMP_THREAD_LIMIT=1 and with OpenMP's default.

    python bench/tesseract_threads.py [--pages N]

OpenMP reads OMP_THREAD_LIMIT once, when Tesseract's library loads, so each setting runs in a fresh
process. Small pages: SROIE receipts as scanned (about 0.5 MP); large: the same receipts enlarged
4 times (about 7.5 MP, an A4 page at 300 dpi). Wall and CPU seconds per page, median of the pages.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

WORKER = """
import json, sys, time
import cv2
from bench import datasets
from ocrwatch.config import EngineSettings, TesseractSettings
from ocrwatch.engines import create_engine
engine = create_engine("tesseract", EngineSettings(tesseract=TesseractSettings(threads=0)))
pages = [datasets.load_rgb(s.image) for s in datasets.sroie(int(sys.argv[1]))]
result = {}
for label, factor in (("small", 1), ("large", 4)):
    images = [cv2.resize(p, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC) for p in pages]
    engine.read(images[0])
    walls, cpus = [], []
    for image in images:
        wall, cpu = time.perf_counter(), time.process_time()
        engine.read(image)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    result[label] = [walls, cpus, images[0].shape[0] * images[0].shape[1] / 1e6]
print(json.dumps(result))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--pages", type=int, default=6)
    args = parser.parse_args()
    print("| OMP_THREAD_LIMIT | pages | MP | wall s/page | CPU s/page |\n|---|---|---|---|---|")
    for limit in ("1", "default"):
        env = {key: value for key, value in os.environ.items() if key != "OMP_THREAD_LIMIT"}
        if limit != "default":
            env["OMP_THREAD_LIMIT"] = limit
        started = time.perf_counter()
        command = [sys.executable, "-c", WORKER, str(args.pages)]
        output = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
        for label, (walls, cpus, megapixels) in json.loads(output).items():
            wall, cpu = statistics.median(walls), statistics.median(cpus)
            print(f"| {limit} | {label} | {megapixels:.1f} | {wall:.2f} | {cpu:.2f} |", flush=True)
        print(f"(took {time.perf_counter() - started:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
