#!/usr/bin/env python3
"""Zip a staged layer directory reproducibly: sorted entries, fixed times, explicit modes.

usage: package.py STAGE_DIR OUT.zip   (times from SOURCE_DATE_EPOCH, default 1980-01-01)
"""
import os
import sys
import time
import zipfile


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    stage, out = sys.argv[1], sys.argv[2]
    epoch = max(int(os.environ.get("SOURCE_DATE_EPOCH", "315532800")), 315532800)
    stamp = time.gmtime(epoch)[:6]  # zip stores local-less DOS times; UTC keeps it stable
    files = []
    for dirpath, _, names in os.walk(stage):
        for name in names:
            path = os.path.join(dirpath, name)
            files.append((os.path.relpath(path, stage), path))
    files.sort()
    tmp = out + ".tmp"
    with zipfile.ZipFile(tmp, "w") as zf:
        for arcname, path in files:
            info = zipfile.ZipInfo(arcname, date_time=stamp)
            info.create_system = 3  # unix: Lambda honours the mode bits below
            mode = 0o755 if os.access(path, os.X_OK) else 0o644
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(path, "rb") as f:
                zf.writestr(info, f.read(), compresslevel=9)
    os.replace(tmp, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
