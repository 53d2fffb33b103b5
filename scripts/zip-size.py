"""Prints a Lambda zip's size and its bootstrap's size, mode and architecture."""
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
