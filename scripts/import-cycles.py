#!/usr/bin/env python3
"""Fails on an import cycle between the modules (files) of any crate under crates/.

Each .rs file under src/ is a module. A file depends on another when its code names an
item of it: `crate::a::b::Item`, `super::…`, `self::…` paths and `use` trees, in code and in
`use` lines (tests included; comments and strings are ignored). A path ends at the deepest
module it names; an item re-exported with `pub use` (at the crate root or in a module) is
followed to the module that defines it, so `crate::Config` is the `config` module when
lib.rs says `pub use config::Config`. `mod x;` declarations are not dependencies, and a module may use
what its ancestors define (a folder's mod.rs or the crate's lib.rs is its front door). Any
other circle, between sibling files or across folders, is reported, and the script exits 1.

Usage: scripts/import-cycles.py [CRATES_DIR]   (default: crates)
"""
import os
import re
import sys


def modules(src):
    """{module path tuple: file} for every .rs file under src."""
    out = {}
    for d, _, files in os.walk(src):
        for f in files:
            if f.endswith(".rs"):
                rel = os.path.relpath(os.path.join(d, f), src)[:-3].split(os.sep)
                if rel[-1] in ("lib", "main", "mod"):
                    rel = rel[:-1]
                out[tuple(rel)] = os.path.join(d, f)
    return out


def code(text):
    """The text without comments, string and char literals."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r'r#*"(?:.|\n)*?"#*', '""', text)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    text = re.sub(r"'(?:\\.|[^'\\])'", "' '", text)
    return re.sub(r"//[^\n]*", " ", text)


def use_trees(text):
    """Every path of every `use` tree: `use a::{b, c::{d as e}}` -> [a,b], [a,c,d]."""
    paths = []
    for m in re.finditer(r"\buse\s+([^;]+);", text):
        paths += [path for path, _ in expand([], m.group(1))]
    return paths


def expand(prefix, tree):
    """(path, name it is known by) for each leaf of a use tree (`a::b as c` -> ([a, b], c))."""
    tree = tree.strip()
    if "{" in tree and tree.endswith("}"):
        head, body = tree.split("{", 1)
        head = [p for p in head.strip().rstrip(":").split("::") if p]
        items, depth, cur = [], 0, ""
        for ch in body[:-1]:
            depth += ch == "{"
            depth -= ch == "}"
            if ch == "," and depth == 0:
                items.append(cur)
                cur = ""
            else:
                cur += ch
        items.append(cur)
        out = []
        for item in items:
            if item.strip():
                out += expand(prefix + head, item)
        return out
    path, _, alias = tree.partition(" as ")
    path = prefix + [p for p in path.strip().split("::") if p]
    return [(path, alias.strip() or (path[-1] if path else ""))]


def main(root):
    failed = False
    for crate in sorted(os.listdir(root)):
        src = os.path.join(root, crate, "src")
        if not os.path.isdir(src):
            continue
        mods = modules(src)
        texts = {m: code(open(f, encoding="utf-8").read()) for m, f in mods.items()}
        # Re-exports: (module, name) -> the absolute path it stands for.
        reexports = {}
        for m, t in texts.items():
            for decl in re.finditer(r"\bpub(?:\([^)]*\))?\s+use\s+([^;]+);", t):
                for p, name in expand([], decl.group(1)):
                    reexports[(m, name)] = absolute(m, p, mods)

        def resolve(path, seen=0):
            """The module that defines what `path` (absolute, from the crate root) names."""
            best = ()
            for i in range(1, len(path) + 1):
                if tuple(path[:i]) in mods:
                    best = tuple(path[:i])
                else:
                    break
            rest = path[len(best):]
            if rest and (best, rest[0]) in reexports and seen < 8:
                target = reexports[(best, rest[0])]
                if target is not None:
                    return resolve(target + rest[1:], seen + 1)
            return best

        edges = {m: set() for m in mods}
        for m, t in texts.items():
            paths = use_trees(t)
            paths += [re.split(r"::", x) for x in re.findall(r"\b((?:crate|super|self)(?:::\w+)+)", t)]
            for p in paths:
                a = absolute(m, p, mods)
                if a is None:
                    continue
                target = resolve(a)
                # A module may use what its ancestors define: a folder's front door
                # (mod.rs, lib.rs) declares its rooms and holds what they share. Every
                # other dependency counts.
                if target != m[: len(target)]:
                    edges[m].add(target)
        for cycle in strongly_connected(edges):
            failed = True
            names = " -> ".join(file_of(mods, m, src) for m in cycle)
            print(f"{crate}: import cycle: {names}")
    if failed:
        return 1
    print("no import cycle between modules")
    return 0


def absolute(here, path, mods):
    """`path` (as written in module `here`) from the crate root, or None when external."""
    if not path:
        return None
    head = path[0]
    if head == "crate":
        return path[1:]
    if head == "self":
        return list(here) + path[1:]
    if head == "super":
        base, p = list(here), path
        while p and p[0] == "super":
            base, p = base[:-1], p[1:]
        return base + p
    if tuple(list(here) + [head]) in mods:  # a child module named directly
        return list(here) + path
    return None


def file_of(mods, m, src):
    return os.path.relpath(mods[m], os.path.dirname(src))


def strongly_connected(edges):
    """Tarjan: the strongly connected sets of more than one module."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in edges:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in edges:
        if v not in index:
            visit(v)
    return out


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "crates"))
