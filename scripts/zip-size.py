"""Prints a Lambda zip's size and its bootstrap's size, mode and architecture.

Usage: zip-size.py ZIP [EXPECTED_ARCH]; exits 1 when the bootstrap is not an executable of that arch.
"""
import sys
import zipfile

MACHINES = {62: "x86_64", 183: "aarch64"}

path = sys.argv[1]
with zipfile.ZipFile(path) as archive:
    entry = archive.getinfo("bootstrap")
    head = archive.open(entry).read(20)
machine = MACHINES.get(int.from_bytes(head[18:20], "little"), "unknown")
mode = oct(entry.external_attr >> 16 & 0o777)
size = __import__("os").path.getsize(path)
print(f"{path}: {size / 1048576:.2f} MiB zip; bootstrap {entry.file_size / 1048576:.2f} MiB, {machine}, mode {mode}")
if len(sys.argv) > 2 and (machine != sys.argv[2] or not entry.external_attr >> 16 & 0o111):
    sys.exit(f"{path}: expected an executable {sys.argv[2]} bootstrap")
