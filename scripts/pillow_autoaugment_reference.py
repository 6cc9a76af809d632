"""Writes the Pillow outputs that dalif's AutoAugment operations are tested against.

Run with Pillow installed:  python scripts/pillow_autoaugment_reference.py
It rewrites crates/dalif-data/tests/data/pillow_autoaugment.json. The operations and their
arguments are those of DeepVoltaire/AutoAugment's CIFAR10Policy, with the signs fixed.
"""

import json
import math
from pathlib import Path

import PIL
from PIL import Image, ImageEnhance, ImageOps

W, H = 11, 9
FILL = (128, 128, 128)


def pixel(c, y, x):
    return 40 + (x * 37 + y * 91 + c * 53 + x * y * 13) % 161


def planar(img):
    return [img.getpixel((x, y))[c] for c in range(3) for y in range(H) for x in range(W)]


def rotate_with_fill(img, degrees):
    rot = img.convert("RGBA").rotate(degrees)
    return Image.composite(rot, Image.new("RGBA", rot.size, (128,) * 4), rot).convert(img.mode)


def affine(img, m, resample=Image.NEAREST):
    return img.transform(img.size, Image.AFFINE, m, resample, fillcolor=FILL)


OPS = [
    ("Invert", None, ImageOps.invert),
    ("Posterize", 5, lambda i: ImageOps.posterize(i, 5)),
    ("Posterize", 4, lambda i: ImageOps.posterize(i, 4)),
    ("Solarize", 256 - 256 * 2 / 9, lambda i: ImageOps.solarize(i, 256 - 256 * 2 / 9)),
    ("Solarize", 256 - 256 * 5 / 9, lambda i: ImageOps.solarize(i, 256 - 256 * 5 / 9)),
    ("AutoContrast", None, ImageOps.autocontrast),
    ("Equalize", None, ImageOps.equalize),
    ("Brightness", 1.6, lambda i: ImageEnhance.Brightness(i).enhance(1.6)),
    ("Brightness", 0.3, lambda i: ImageEnhance.Brightness(i).enhance(0.3)),
    ("Color", 1.7, lambda i: ImageEnhance.Color(i).enhance(1.7)),
    ("Color", 0.2, lambda i: ImageEnhance.Color(i).enhance(0.2)),
    ("Contrast", 1.6, lambda i: ImageEnhance.Contrast(i).enhance(1.6)),
    ("Contrast", 0.4, lambda i: ImageEnhance.Contrast(i).enhance(0.4)),
    ("Sharpness", 1.9, lambda i: ImageEnhance.Sharpness(i).enhance(1.9)),
    ("Sharpness", 0.1, lambda i: ImageEnhance.Sharpness(i).enhance(0.1)),
    ("TranslateX", 150 / 331 * 8 / 9 * W, lambda i: affine(i, (1, 0, 150 / 331 * 8 / 9 * W, 0, 1, 0))),
    ("TranslateX", -150 / 331 * W, lambda i: affine(i, (1, 0, -150 / 331 * W, 0, 1, 0))),
    ("TranslateY", -150 / 331 * 3 / 9 * H, lambda i: affine(i, (1, 0, 0, 0, 1, -150 / 331 * 3 / 9 * H))),
    ("ShearX", 0.3 * 7 / 9, lambda i: affine(i, (1, 0.3 * 7 / 9, 0, 0, 1, 0), Image.BICUBIC)),
    ("ShearY", -0.3 * 8 / 9, lambda i: affine(i, (1, 0, 0, -0.3 * 8 / 9, 1, 0), Image.BICUBIC)),
    ("Rotate", 30 * 2 / 9, lambda i: rotate_with_fill(i, 30 * 2 / 9)),
]


def main():
    img = Image.new("RGB", (W, H))
    for y in range(H):
        for x in range(W):
            img.putpixel((x, y), tuple(pixel(c, y, x) for c in range(3)))
    out = {
        "pillow": PIL.__version__,
        "width": W,
        "height": H,
        "input": planar(img),
        "ops": [{"op": name, "arg": arg, "output": planar(f(img.copy()))} for name, arg, f in OPS],
    }
    path = Path(__file__).resolve().parent.parent / "crates/dalif-data/tests/data/pillow_autoaugment.json"
    path.write_text(json.dumps(out) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
