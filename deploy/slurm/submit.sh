#!/usr/bin/env bash
# Queue the grading of a class on Slurm: an array job of SHARDS tasks, then the merge job after it.
#
#   deploy/slurm/submit.sh SUBMISSIONS OUT SHARDS [batch options, e.g. --lessons 1 2]
#
# Environment: CPUS_PER_TASK (default 4) and MEM_MB (default 400 + 800 per CPU, the engine's own rule,
# autograder/parent/box.py, at least 1536) size each task; Slurm's SBATCH_PARTITION, SBATCH_ACCOUNT, SBATCH_TIMELIMIT,
# SBATCH_QOS ... choose the rest. AUTOGRADER_REPO (default: this checkout) and AUTOGRADER_PYTHON
# (default: its .venv/bin/python) are passed to the jobs. Job logs go to OUT/logs/.
# Prints the two job ids; when the merge job is done, the class is in OUT/class/gradebook.csv.
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: $0 SUBMISSIONS OUT SHARDS [batch options]" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
submissions=$(realpath "$1")
out=$(realpath -m "$2")
shards=$3
shift 3
case "$shards" in ''|*[!0-9]*|0) echo "$0: SHARDS must be a positive number, not '$shards'" >&2; exit 2;; esac
cpus=${CPUS_PER_TASK:-4}
mem=${MEM_MB:-$((400 + 800 * cpus))}
[ -n "${MEM_MB:-}" ] || [ "$mem" -ge 1536 ] || mem=1536     # one submission alone peaks near 1 GB (README)
export AUTOGRADER_REPO=${AUTOGRADER_REPO:-$(cd "$here/../.." && pwd)}
export AUTOGRADER_PYTHON=${AUTOGRADER_PYTHON:-$AUTOGRADER_REPO/.venv/bin/python}
mkdir -p "$out/logs"

grade=$(sbatch --parsable --array="0-$((shards - 1))" --cpus-per-task="$cpus" --mem="${mem}M" \
    --output="$out/logs/grade-%A_%a.out" --export=ALL \
    "$here/grade-array.sbatch" "$submissions" "$out" "$@")
grade=${grade%%;*}                                  # "id;cluster" on a multi-cluster setup
merge=$(sbatch --parsable --dependency="afterany:$grade" --kill-on-invalid-dep=yes \
    --output="$out/logs/merge-%j.out" --export=ALL "$here/merge.sbatch" "$out")
merge=${merge%%;*}
echo "grade: array job $grade ($shards shards, $cpus CPUs and ${mem} MB each); merge: job $merge"
echo "when job $merge is done: $out/class/gradebook.csv (squeue -j $grade,$merge; logs in $out/logs/)"
