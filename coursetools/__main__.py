"""`python -m coursetools generate [--check]`: make the student files from the one source;
`python -m coursetools release OUT`: write what students get (a template repository, no answers)."""
import argparse
import sys
from pathlib import Path

from coursetools import REPO_ROOT
from coursetools.authoring.generate import stale_files, write_all
from coursetools.authoring.release import ReleaseError, build_release
from coursetools.regions import RegionError


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m coursetools", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    generate = commands.add_parser("generate", help="write exercises/ from solutions/ and autograder/")
    generate.add_argument("--check", action="store_true",
                          help="write nothing; exit 1 when a generated file is missing or out of date")
    generate.add_argument("--root", type=Path, default=REPO_ROOT, help="the course repository (default: this one)")
    release = commands.add_parser("release", help="write the student release (a template repository) into OUT")
    release.add_argument("out", type=Path, metavar="OUT", help="a new or empty folder")
    release.add_argument("--root", type=Path, default=REPO_ROOT, help="the course repository (default: this one)")
    args = parser.parse_args(argv)

    if args.command == "release":
        try:
            files = build_release(args.out, args.root)
        except (ReleaseError, RegionError, FileNotFoundError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        print(f"{len(files)} file(s) written to {args.out}: push it as the course's template repository; "
              "students start with its README.md")
        return 0
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
