#!/usr/bin/env python3
"""Lists import cycles between the top-level modules of src/ (exit 1 if any).

A module is `src/NAME.rs` or `src/NAME/`; it depends on every other top-level module it names
as `crate::NAME` (in `use` lines or paths), outside comments and the `#[cfg(test)]` block at
the end of a file.
`cli` and `main` are the roots and are left out. Run by scripts/test.sh.
"""
import os
import re
import sys

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
ROOTS = {"cli", "main", "lib"}


def modules():
    out = {}
    for entry in os.listdir(SRC):
        name, path = entry[:-3] if entry.endswith(".rs") else entry, os.path.join(SRC, entry)
        if name in ROOTS:
            continue
        files = [path] if path.endswith(".rs") else [
            os.path.join(d, f) for d, _, fs in os.walk(path) for f in fs if f.endswith(".rs")
        ]
        out[name] = files
    return out


def code(path):
    text = open(path, encoding="utf-8").read()
    # Unit tests may reach anywhere; they are not part of the dependency graph.
    cut = text.find("#[cfg(test)]\nmod tests")
    cut = cut if cut >= 0 else text.find("#[cfg(test)]\n#[allow")
    text = text if cut < 0 else text[:cut]
    # Doc links (`[`crate::pipeline`]`) and comments are not imports.
    return "\n".join(l for l in text.splitlines() if not l.lstrip().startswith("//"))


def graph(mods):
    names = set(mods)
    edges = {m: set() for m in mods}
    for m, files in mods.items():
        for f in files:
            text = code(f)
            for dep in re.findall(r"crate::([a-z_]+)", text):
                if dep in names and dep != m:
                    edges[m].add(dep)
            for block in re.findall(r"use crate::\{([^;]*)\};", text, re.S):
                for dep in re.findall(r"(?:^|[,{\s])([a-z_]+)(?:::|\s*,|\s*\}|\s*$)", block):
                    if dep in names and dep != m:
                        edges[m].add(dep)
    return edges


def cycles(edges):
    found, seen = [], set()

    def walk(node, stack):
        for nxt in sorted(edges[node]):
            if nxt in stack:
                cyc = stack[stack.index(nxt):] + [nxt]
                key = frozenset(cyc)
                if key not in seen:
                    seen.add(key)
                    found.append(cyc)
            elif len(stack) < len(edges):
                walk(nxt, stack + [nxt])

    for start in sorted(edges):
        walk(start, [start])
    return found


def main():
    edges = graph(modules())
    found = cycles(edges)
    if "-v" in sys.argv:
        for m in sorted(edges):
            print(f"{m} -> {', '.join(sorted(edges[m])) or '(leaf)'}")
    for c in found:
        print("import cycle: " + " -> ".join(c))
    print(f"import-cycles: {len(edges)} modules, {len(found)} cycles")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
