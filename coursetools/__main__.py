"""`python -m coursetools generate [--check]`: make the student files from the one source."""
import argparse
import sys
from pathlib import Path

from coursetools import REPO_ROOT
from coursetools.authoring.generate import stale_files, write_all
from coursetools.regions import RegionError


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m coursetools", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    generate = commands.add_parser("generate", help="write exercises/ from solutions/ and autograder/")
    generate.add_argument("--check", action="store_true",
                          help="write nothing; exit 1 when a generated file is missing or out of date")
    generate.add_argument("--root", type=Path, default=REPO_ROOT, help="the course repository (default: this one)")
    args = parser.parse_args(argv)

    try:
        if args.check:
            stale = stale_files(args.root)
            for path in stale:
                print(f"out of date: {path}")
            if stale:
                print("Run `python -m coursetools generate` and commit the result.")
                return 1
            print("generated files are up to date")
            return 0
        written = write_all(args.root)
    except (RegionError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    print(f"{len(written)} file(s) written" if written else "nothing to do: generated files are up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
