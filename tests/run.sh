#!/bin/sh
# make check: unit tests, then every tests/t-*.sh. Counts the "ok",
# "not ok" and "skip" lines and ends with "N passed, N failed, N skipped".
TOP=$(cd "$(dirname "$0")/.." && pwd)
export TOP
log=$(mktemp /tmp/spawn-check.XXXXXX)
only=${TESTS:-}

# One copy of the binaries per run, in a directory every user can enter,
# so that children that drop privileges reach them wherever the clone is
# (lib.sh uses it; see stage_binaries there).
SPAWN_STAGE=$(mktemp -d /tmp/spawn-bin.XXXXXX)
trap 'rm -rf "$SPAWN_STAGE" "$log"' EXIT
trap 'exit 1' INT TERM
if cp "$TOP/spawn" "$TOP/tests/probe" "$TOP/tests/fcgiclient" "$SPAWN_STAGE/" &&
    chmod 755 "$SPAWN_STAGE" "$SPAWN_STAGE"/*; then
	export SPAWN_STAGE
else
	echo "run.sh: cannot stage the binaries in $SPAWN_STAGE" >&2
	exit 1
fi

run_one() {
	"$@" 2>&1
	rc=$?
	[ $rc -eq 0 ] || echo "not ok - $* exited with status $rc"
}

{
	if [ -z "$only" ] || case " $only " in *" unit "*) true ;; *) false ;; esac; then
		echo "# tests/unit"
		run_one "$TOP/tests/unit"
	fi
	for t in "$TOP"/tests/t-*.sh; do
		case " $only " in "  "|*" $(basename "$t" .sh) "*) ;; *) continue ;; esac
		echo "# $(basename "$t")"
		run_one sh "$t"
	done
} | tee "$log"

pass=$(grep -c '^ok ' "$log")
fail=$(grep -c '^not ok ' "$log")
skipped=$(grep -c '^skip ' "$log")
echo "$pass passed, $fail failed, $skipped skipped"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
