"""The bicubic row of the SR tables: PSNR / SSIM (Y channel, scale-pixel border crop) of bicubic upscaling.

    PYTHONPATH=src python scripts/sr_bicubic_baseline.py [--scale 4] [--hr-size 96]

Offline data only: Fashion-MNIST's test split (28 -> 7 -> 28) and the bundled photographs' test split
(``hr_size`` tiles, and whole images as the SR benchmarks are scored). Prints one JSON line per set.
"""

from __future__ import annotations

import argparse
import json

from ganforge.data import paired_sources as ps
from ganforge.data import sources
from ganforge.metrics.super_resolution import bicubic_upscale, sr_metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--hr-size", type=int, default=96)
    args = parser.parse_args()
    s = args.scale
    sets = {
        "fashion_mnist_test": ps.paired_sr("data", "test", s, 28, source=sources.fashion_mnist),
        f"photos_test_tiles{args.hr_size}": ps.paired_sr("data", "test", s, args.hr_size),
    }
    for name, pairs in sets.items():
        result = sr_metrics(bicubic_upscale(pairs["lr"], s), pairs["hr"], s)
        print(json.dumps({"set": name, "method": "bicubic", "images": len(pairs["hr"]), **result}))
    whole = ps.full_image_pairs("data", "test", s)
    result = sr_metrics([bicubic_upscale(p["lr"][None], s)[0] for p in whole], [p["hr"] for p in whole], s)
    print(json.dumps({"set": "photos_test_whole", "method": "bicubic", "images": len(whole), **result}))


if __name__ == "__main__":
    main()
