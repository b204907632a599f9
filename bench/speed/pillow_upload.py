# The image work of an upload with Pillow (the seed platform's stack), for bench/speed/uploads.ts:
# open, auto-orient (EXIF), bound the longest edge to 2048, JPEG q92, 256 px WebP thumbnail,
# sha256 of the stored bytes. Prints the milliseconds per file as a JSON list.
import hashlib
import io
import json
import sys
import time

from PIL import Image, ImageOps

times = []
for name in sys.argv[1:]:
    with open(name, "rb") as f:
        data = f.read()
    t = time.perf_counter()
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    image = image.convert("RGB")
    image.thumbnail((2048, 2048), Image.LANCZOS)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92)
    stored = out.getvalue()
    thumb = Image.open(io.BytesIO(stored))
    thumb.thumbnail((256, 256), Image.LANCZOS)
    thumb.save(io.BytesIO(), "WEBP", quality=80)
    hashlib.sha256(stored).hexdigest()
    times.append((time.perf_counter() - t) * 1000)
print(json.dumps(times))
