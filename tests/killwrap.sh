#!/bin/bash
# killwrap.sh - stand-in for an llm-* program that SIGKILLs the whole
# process group (make and everything it started) at a chosen moment, to
# test that a pipeline survives being killed there.
#
#   ln -s tests/killwrap.sh WRAPDIR/llm-dedup
#   KILL_AT=llm-dedup:after REAL_BIN=build/bin PATH=WRAPDIR:$PATH \
#       setsid make -f pipelines/refresh.mk ...
#
# KILL_AT is PROGRAM:WHEN, WHEN one of
#   before   kill before the program starts
#   during   start the program, kill it (and the group) KILL_DELAY seconds
#            later (default 0.02)
#   after    run the program to the end, then kill before the caller sees it
# Other programs, and this one when KILL_AT names another, run as they are.
# The group is the caller's, so start the pipeline with setsid(1).
name=$(basename "$0")
real="${REAL_BIN:?set REAL_BIN}/$name"
[ "${KILL_AT%%:*}" = "$name" ] || exec "$real" "$@"
group=$(ps -o pgid= -p $$ | tr -d ' ')
case ${KILL_AT#*:} in
before)
	kill -KILL -- "-$group" ;;
during)
	"$real" "$@" &
	sleep "${KILL_DELAY:-0.02}"
	kill -KILL -- "-$group" ;;
after)
	"$real" "$@"
	kill -KILL -- "-$group" ;;
esac
echo "killwrap: bad KILL_AT '$KILL_AT'" >&2
exit 2
