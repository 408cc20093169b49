"""Draw the brand images of knx_evse into custom_components/knx_evse/brand/ (Pillow).

icon.png 256×256 and icon@2x.png 512×512 (square, transparent), logo.png and logo@2x.png 256 and 512 px
high (glyph plus the wordmark "KNX EV Charger", as wide as the text needs), plus the dark-theme
variants dark_icon*.png and dark_logo*.png. The glyph is a neutral wallbox with a lightning bolt and a
plugged cable (no third-party marks). Everything is drawn at 4× and scaled down for smooth edges.

Run: .venv/bin/python scripts/make_brand.py
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

OUT = Path(__file__).resolve().parent.parent / "custom_components" / "knx_evse" / "brand"
SS = 4  # supersampling
FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
)
LIGHT = {"body": (3, 105, 161), "accent": (16, 185, 129), "bolt": (255, 255, 255), "cable": (30, 41, 59), "text": (15, 23, 42)}
DARK = {"body": (56, 189, 248), "accent": (52, 211, 153), "bolt": (15, 23, 42), "cable": (226, 232, 240), "text": (241, 245, 249)}


def glyph(size: int, colors: dict[str, tuple[int, int, int]]) -> Image.Image:
    """The wallbox glyph on a transparent square of ``size`` px."""
    s = size * SS
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    u = s / 32  # grid unit

    # cable from the bottom of the box, curving right and up to the plug
    d.arc((14 * u, 17 * u, 30 * u, 31 * u), start=0, end=180, fill=colors["cable"], width=int(2.2 * u))
    d.line((28.9 * u, 24 * u, 28.9 * u, 12.5 * u), fill=colors["cable"], width=int(2.2 * u))
    # plug head with two pins
    d.rounded_rectangle((26.2 * u, 8.5 * u, 31.6 * u, 13.5 * u), radius=1.2 * u, fill=colors["cable"])
    d.rectangle((27.3 * u, 5.5 * u, 28.3 * u, 8.5 * u), fill=colors["cable"])
    d.rectangle((29.5 * u, 5.5 * u, 30.5 * u, 8.5 * u), fill=colors["cable"])

    # wallbox body and its status strip
    d.rounded_rectangle((2 * u, 2 * u, 21 * u, 30 * u), radius=3.5 * u, fill=colors["body"])
    d.rounded_rectangle((6 * u, 24.5 * u, 17 * u, 26.5 * u), radius=1 * u, fill=colors["accent"])
    # lightning bolt
    bolt = [(13.5, 5.5), (6.5, 15.5), (11.0, 15.5), (9.0, 22.0), (16.5, 11.5), (12.0, 11.5), (14.5, 5.5)]
    d.polygon([(x * u, y * u) for x, y in bolt], fill=colors["bolt"])
    return img.resize((size, size), Image.Resampling.LANCZOS)


def _font(px: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in FONTS:
        if Path(path).is_file():
            return ImageFont.truetype(path, px)
    return ImageFont.load_default(px)


def logo(height: int, colors: dict[str, tuple[int, int, int]]) -> Image.Image:
    """Glyph plus the two-line wordmark on a transparent canvas ``height`` px high, as wide as needed."""
    s = height * SS
    big, small = _font(int(s * 0.30)), _font(int(s * 0.19))
    probe = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    text_width = max(probe.textbbox((0, 0), "KNX EV", font=big)[2], probe.textbbox((0, 0), "Charger", font=small)[2])
    left = int(s * 1.08)
    width = left + text_width + int(s * 0.06)
    width = -(-width // SS) * SS  # a whole number of output pixels
    img = Image.new("RGBA", (width, s), (0, 0, 0, 0))
    img.alpha_composite(glyph(height, colors).resize((s, s), Image.Resampling.LANCZOS), (0, 0))
    d = ImageDraw.Draw(img)
    d.text((left, int(s * 0.14)), "KNX EV", font=big, fill=colors["text"])
    d.text((left + int(s * 0.01), int(s * 0.55)), "Charger", font=small, fill=colors["accent"])
    return img.resize((width // SS, height), Image.Resampling.LANCZOS)


def main() -> None:
    """Write every brand image."""
    OUT.mkdir(parents=True, exist_ok=True)
    for prefix, colors in (("", LIGHT), ("dark_", DARK)):
        glyph(256, colors).save(OUT / f"{prefix}icon.png", optimize=True)
        glyph(512, colors).save(OUT / f"{prefix}icon@2x.png", optimize=True)
        logo(256, colors).save(OUT / f"{prefix}logo.png", optimize=True)
        logo(512, colors).save(OUT / f"{prefix}logo@2x.png", optimize=True)
    for path in sorted(OUT.glob("*.png")):
        with Image.open(path) as image:
            print(f"{path.name}: {image.size[0]}x{image.size[1]}")


if __name__ == "__main__":
    main()
