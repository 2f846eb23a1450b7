"""CycleGAN between MNIST and a transformed MNIST (two disjoint halves, never paired).

Run:  python examples/cyclegan_mnist.py [--steps 1000] [--transform invert] [--threads 1]
Prints, before and after training, on the test set split the same way: the shipped
classifier's agreement with the source digit after translation (A->B images are mapped
back with the known inverse transform to be classified) and the mean pixel error of
translate(x, "A->B") against the true transform of x, in [0, 1] intensity units.
"""
import argparse
import json
import time

import ganlib as gl


def scores(cyc: gl.models.CycleGAN, TA, yA, TB, yB, transform: str) -> dict:
    a2b, b2a = cyc.translate(TA, "A->B"), cyc.translate(TB, "B->A")
    return {"agreement_a2b": gl.metrics.translation_agreement(a2b, yA, transform=transform),
            "agreement_b2a": gl.metrics.translation_agreement(b2a, yB),
            "pixel_error_a2b": gl.metrics.translation_pixel_error(a2b, TA, transform)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--transform", default="invert", choices=gl.datasets.TRANSFORMS)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--limit", type=int, default=None, help="use only this many training / test images")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    gl.set_num_threads(args.threads)
    XA, _, XB, _ = gl.datasets.mnist_domains(args.transform, seed=args.seed, limit=args.limit)
    TA, yA, TB, yB = gl.datasets.mnist_domains(args.transform, seed=args.seed, split="test", limit=args.limit)
    cyc = gl.models.CycleGAN((1, 28, 28), width=8, n_blocks=2, n_down=2, d_width=8, seed=args.seed)
    before = scores(cyc, TA, yA, TB, yB, args.transform)
    t = time.time()
    cyc.fit(XA, XB, steps=args.steps, batch_size=args.batch, log_every=100, progress=False)
    minutes = (time.time() - t) / 60
    after = scores(cyc, TA, yA, TB, yB, args.transform)
    print(json.dumps({"untrained": before, "trained": after, "steps": args.steps, "batch": args.batch,
                      "threads": args.threads, "train_minutes": round(minutes, 2)}, indent=1))


if __name__ == "__main__":
    main()
