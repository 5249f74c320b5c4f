#!/bin/sh
# make check: unit tests, then every tests/t-*.sh. Counts the "ok",
# "not ok" and "skip" lines and ends with "N passed, N failed, N skipped".
TOP=$(cd "$(dirname "$0")/.." && pwd)
export TOP
log=$(mktemp /tmp/spawn-check.XXXXXX)
only=${TESTS:-}

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
rm -f "$log"
echo "$pass passed, $fail failed, $skipped skipped"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
