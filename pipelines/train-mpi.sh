#!/bin/sh
# train-mpi.sh - one llm-train run over the machines of an MPI host file
# (Open MPI's mpirun; llm-train(1), "Parallel training").
#
# usage: pipelines/train-mpi.sh HOSTFILE RANKS DATA OUT [llm-train options]
#
# HOSTFILE lists the machines, one per line with their slots
# ("node1 slots=4"); RANKS is the number of processes, the product of the
# layout options given (--dp, --tp, --pp; an unspecified --dp takes the
# rest).  DATA and OUT must be at the same path on every machine (a shared
# file system) and llm-train at the same path too ($LLM_BUILD/bin, default
# build/bin).  When OUT already holds a run it is continued (--resume),
# whatever layout it was saved under.  Environment:
#   MPIRUN_OPTS  more mpirun options (e.g. "--mca btl_tcp_if_include eth0")
#
# Example, 2 machines x 4 cores, tensor parallel within each machine:
#   printf 'node1 slots=4\nnode2 slots=4\n' > hosts
#   pipelines/train-mpi.sh hosts 8 /shared/shards /shared/run \
#       --tp 4 --dp 2 --zero 1 --layers 12 --batch 16 --steps 5000
set -eu

[ $# -ge 4 ] || { echo "usage: $0 HOSTFILE RANKS DATA OUT [llm-train options]" >&2; exit 2; }
hosts=$1 ranks=$2 data=$3 out=$4
shift 4
[ -r "$hosts" ] || { echo "$0: cannot read host file $hosts" >&2; exit 2; }
bin=$(cd "$(dirname "$0")/.." && pwd)/${LLM_BUILD:-build}/bin/llm-train
[ -x "$bin" ] || { echo "$0: $bin is missing: run make first" >&2; exit 2; }
resume=
[ -e "$out/latest.ckpt" ] && resume=--resume
# --map-by slot fills a machine before the next: consecutive ranks (a
# tensor-parallel group) share one.  mpirun ends every rank when one dies.
# shellcheck disable=SC2086
exec mpirun --hostfile "$hosts" -np "$ranks" --map-by slot --bind-to none \
	-x OPENBLAS_NUM_THREADS=1 ${MPIRUN_OPTS:-} \
	"$bin" --data "$data" --out "$out" $resume "$@"
