#!/usr/bin/env python3
"""The layer rule of the house (docs/design.md, "The house"), checked from the #include lines.

Every C/C++/HIP source file git knows of belongs to the room of its top-level folder. Each room
has a floor; a file may include a file of its own room or of a room on a LOWER floor, never one
on its own floor in another room (peers do not know each other) and never one above. An include
is resolved as the compilers here resolve it: next to the including file, then in every room's
include/ folder, then (for a room's private src/ headers, which tests and tools reach through
their include paths) the one tracked file whose path ends with it. Includes that resolve to no
tracked file (the standard library, CLI11, HDF5, ...) are outside the house and not judged.

Prints one line per violation, `file:line: <room> (floor N) includes <path> of <room> (floor M)`,
and exits 1 if there is any; a source file in a folder that has no floor is an error too, so a
new room must be placed here before it can hold code. `--count` prints only the number of
violations (the figure docs/design.md quotes) and exits 0.
"""
import os
import re
import subprocess
import sys

# Lowest floor first. golden and device are peers: neither may include the other.
FLOORS = {
    "reference": 0,
    "cases": 1,
    "golden": 2,
    "device": 2,
    "fuzz": 3,
    "cli": 4,
    "python": 4,
    "tests": 5,
}
SOURCE = re.compile(r"\.(c|cc|cpp|cxx|h|hh|hpp|hxx|hip|cu|cuh|inl)$")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^">]+)[">]')


def tracked_files(root):
    out = subprocess.run(["git", "-C", root, "ls-files", "--cached", "--others", "--exclude-standard"],
                         check=True, capture_output=True, text=True).stdout
    return sorted(set(p for p in out.splitlines() if os.path.isfile(os.path.join(root, p))))


def room_of(path):
    return path.split("/", 1)[0] if "/" in path else ""


def resolve(name, includer, files, by_suffix):
    here = os.path.normpath(os.path.join(os.path.dirname(includer), name))
    if here in files:
        return here
    in_include = [f for f in by_suffix.get(os.path.basename(name), ()) if f.endswith("/include/" + name)]
    if len(in_include) == 1:
        return in_include[0]
    ends = [f for f in by_suffix.get(os.path.basename(name), ()) if f.endswith("/" + name)]
    if len(ends) == 1:
        return ends[0]
    same_room = [f for f in ends if room_of(f) == room_of(includer)]
    return same_room[0] if len(same_room) == 1 else None


def violations(root):
    files = tracked_files(root)
    sources = [f for f in files if SOURCE.search(f)]
    fileset = set(files)
    by_suffix = {}
    for f in files:
        by_suffix.setdefault(os.path.basename(f), []).append(f)
    found = []
    for src in sources:
        room = room_of(src)
        if room not in FLOORS:
            found.append(f"{src}:1: a source file in '{room or '.'}', a folder with no floor in the house "
                         f"(scripts/check_layers.py FLOORS)")
            continue
        with open(os.path.join(root, src), encoding="utf-8", errors="replace") as fh:
            for lineno, line in enumerate(fh, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                target = resolve(m.group(2), src, fileset, by_suffix)
                if target is None or room_of(target) == room:
                    continue
                other = room_of(target)
                if other not in FLOORS:
                    found.append(f"{src}:{lineno}: {room} includes {target} of '{other}', a folder with no floor")
                elif FLOORS[other] >= FLOORS[room]:
                    way = "up" if FLOORS[other] > FLOORS[room] else "sideways to a peer"
                    found.append(f"{src}:{lineno}: {room} (floor {FLOORS[room]}) includes {target} of {other} "
                                 f"(floor {FLOORS[other]}): {way}")
    return found


def main():
    args = sys.argv[1:]
    count_only = "--count" in args
    args = [a for a in args if a != "--count"]
    root = args[0] if args else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    found = violations(root)
    if count_only:
        print(len(found))
        return 0
    for v in found:
        print(v)
    if found:
        print(f"check_layers: {len(found)} violation(s) of the layer rule "
              f"(reference < cases < golden, device < fuzz < cli, python < tests)")
        return 1
    print("check_layers: every include runs down the house")
    return 0


if __name__ == "__main__":
    sys.exit(main())
