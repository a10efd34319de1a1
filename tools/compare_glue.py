"""Compare the numbers two builds glued into the book: a rebuild must print the same ones.

Every number in the prose is glued (myst-nb ``glue``) and stored by the build in
``_build/jupyter_execute/**/*.glue.json``. Given two build folders, this lists
every glued value that differs. Measured timings legitimately differ between
builds; pass their glue keys' common fragments with ``--timing`` (by default the
fragments used by the book's timing measurements) to list them separately.

Usage::

    python tools/compare_glue.py /path/to/clone-a /path/to/clone-b

Exits 1 when a value other than a timing differs, or a key is missing on one side.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

# Fragments of the glue keys under which chapters store measured timings.
DEFAULT_TIMING = ("throughput", "speedup", "-ms", "seconds", "-fast-", "-slow-", "im2col-ratio", "loops-slowdown")


def glued_values(root: Path) -> dict[tuple[str, str], str]:
    values = {}
    for path in sorted((root / "_build" / "jupyter_execute").rglob("*.glue.json")):
        page = path.relative_to(root / "_build" / "jupyter_execute").as_posix()
        for key, output in json.loads(path.read_text()).items():
            values[(page, key)] = output.get("data", {}).get("text/plain")
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build_a", type=Path, help="a repository root with a built _build/")
    parser.add_argument("build_b", type=Path, help="another one")
    parser.add_argument("--timing", nargs="*", default=list(DEFAULT_TIMING), help="key fragments that mark timings")
    args = parser.parse_args(argv)
    a, b = glued_values(args.build_a), glued_values(args.build_b)
    keys = sorted(set(a) | set(b))
    is_timing = lambda key: any(fragment in key[1] for fragment in args.timing)  # noqa: E731
    differ = [k for k in keys if a.get(k) != b.get(k) and not is_timing(k)]
    timings = [k for k in keys if a.get(k) != b.get(k) and is_timing(k)]
    print(f"{len(keys)} glued values; {len(differ)} differ; {len(timings)} timings differ (expected)")
    for page, key in differ:
        print(f"  DIFFERS {page} {key}: {a.get((page, key))} | {b.get((page, key))}")
    for page, key in timings:
        print(f"  timing  {page} {key}: {a.get((page, key))} | {b.get((page, key))}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
