#!/bin/sh
# make fuzz: builds every libFuzzer harness in tests/fuzz/ with clang
# (-fsanitize=fuzzer,address,undefined), replays every saved finding in
# tests/fuzz/regress/<harness>/ (each must pass now), then runs each
# harness for FUZZ_SECONDS (default 60) from a copy of its seed corpus, so
# that a run never adds files to the tree. Prints one summary line per
# harness and exits non-zero when anything crashed, leaked or broke an
# invariant. After a failure the logs and crashing inputs stay in the
# temporary directory (its path is printed; the rest of it is removed), to
# be moved into regress/<harness>/ once understood.
#
# FUZZ_SECONDS=N   seconds per harness (default 60)
# FUZZ_ONLY="a b"  only these harnesses
# FUZZ_JOBS=N      harnesses run at once (default 1)
# CC=clang         the compiler (must support -fsanitize=fuzzer)
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
CC=${CC:-clang}
case $CC in cc|gcc|*/gcc|*-gcc) CC=clang ;; esac
secs=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-1}
all="args args_grammar values fcgi cgi_header cgi_env cgi_addrs cgi_request"
only=${FUZZ_ONLY:-$all}

# Per harness: the largest input worth trying (bytes).
max_len() {
	case $1 in
	args|args_grammar) echo 4096 ;;
	values) echo 512 ;;
	fcgi) echo 8192 ;;
	cgi_header) echo 20000 ;;
	cgi_request) echo 16384 ;;
	cgi_env) echo 4096 ;;
	cgi_addrs) echo 2048 ;;
	*) echo 4096 ;;
	esac
}

# Extra libFuzzer flags per harness.
extra() {
	case $1 in
	args|args_grammar) echo "-dict=$here/args.dict" ;;
	fcgi|cgi_request|cgi_env) echo "-dict=$here/fcgi.dict" ;;
	cgi_header) echo "-dict=$here/cgi_header.dict" ;;
	*) echo "" ;;
	esac
}

case $secs in ''|*[!0-9]*) echo "fuzz: FUZZ_SECONDS must be a number" >&2; exit 2 ;; esac
if ! command -v "$CC" >/dev/null 2>&1; then
	echo "skip - fuzz: $CC not installed"
	exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/spawn-fuzz.XXXXXX") || exit 1
cleanup() {
	# Interrupted: end the fuzzers still running (ours, by pid).
	for f in "$tmp"/*.pid; do
		[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	if [ "${failed:-0}" = 0 ]; then
		rm -rf "$tmp"
		return
	fi
	# Keep what explains the failure: logs and the inputs.
	for f in "$tmp"/*; do
		case $f in *.log|*.artifacts) ;; *) rm -rf "$f" ;; esac
	done
	echo "# fuzz: logs and crashing inputs kept in $tmp"
}
trap cleanup EXIT
trap 'failed=1; exit 130' INT TERM

# A probe: can this clang link a fuzzer at all (libclang-rt-N-dev)?
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n)\n{ (void)d; (void)n; return 0; }\n' >"$tmp/probe.c"
if ! "$CC" -fsanitize=fuzzer -o "$tmp/probe" "$tmp/probe.c" >/dev/null 2>&1; then
	echo "skip - fuzz: $CC cannot link -fsanitize=fuzzer (install libclang-rt-dev)"
	exit 0
fi

FLAGS="-std=c99 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
-Wmissing-prototypes -Wformat=2 -Wno-overlength-strings -Werror \
-D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer \
-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -I$top"

# The product sources, pure parts only, once.
failed=0
for src in spawn fcgi cgi; do
	if ! $CC $FLAGS -DSPAWN_NO_MAIN -c -o "$tmp/$src.o" "$top/$src.c"; then
		echo "not ok - fuzz: build $src.c"
		exit 1
	fi
done

build() {
	h=$1
	case $h in
	# cgi.c itself, whole, is included by the harness (cgi_whole.h).
	cgi_request|cgi_env|cgi_addrs) objs="$tmp/spawn.o $tmp/fcgi.o" ;;
	*) objs="$tmp/spawn.o $tmp/fcgi.o $tmp/cgi.o" ;;
	esac
	$CC $FLAGS -o "$tmp/$h" "$here/$h.c" $objs
}

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"

# Replay: every saved finding must now pass.
replay() {
	h=$1
	dir=$here/regress/$h
	[ -d "$dir" ] || return 0
	n=0
	for f in "$dir"/*; do
		[ -f "$f" ] || continue
		n=$((n + 1))
		if ! "$tmp/$h" -runs=1 "$f" >"$tmp/$h.replay.log" 2>&1; then
			echo "not ok - fuzz: $h regress $(basename "$f")"
			grep -v "^INFO:" "$tmp/$h.replay.log" | sed -n "1,60p" | sed "s/^/# /"
			return 1
		fi
	done
	[ $n -gt 0 ] && echo "ok - fuzz: $h replays $n saved finding(s)"
	return 0
}

# One harness for $secs seconds; prints the summary line.
fuzz_one() {
	h=$1
	work=$tmp/$h.corpus
	mkdir -p "$work" "$tmp/$h.artifacts"
	[ -d "$here/corpus/$h" ] && cp "$here/corpus/$h"/* "$work"/ 2>/dev/null
	seeds=$(ls "$work" | wc -l)
	# -close_fd_mask=2 would hide sanitizer output; the harnesses are
	# quiet by themselves (cgi_request swallows the worker's log lines).
	"$tmp/$h" "$work" -max_total_time="$secs" -max_len="$(max_len "$h")" \
	    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix="$tmp/$h.artifacts/" $(extra "$h") \
	    >"$tmp/$h.log" 2>&1 &
	echo $! >"$tmp/$h.pid"
	wait $!
	rc=$?
	rm -f "$tmp/$h.pid"
	# The last status line: "#N DONE cov: C ft: F corp: U/..." and stats.
	last=$(grep -E '^#[0-9]+' "$tmp/$h.log" | tail -n 1)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/$h.log")
	newu=$(sed -n 's/^stat::new_units_added: *//p' "$tmp/$h.log")
	cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	corp=$(echo "$last" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
	summary="$h: ${secs}s, ${execs:-?} execs, cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?} (${seeds} seeds, ${newu:-?} new units)"
	if [ $rc -ne 0 ] || ls "$tmp/$h.artifacts" | grep -q .; then
		echo "not ok - fuzz: $summary"
		# The report: from its first line, 40 lines.
		awk '/ERROR|invariant failed|runtime error/ { n = 40 } n-- > 0' \
		    "$tmp/$h.log" | head -n 60 | sed 's/^/# /'
		for a in "$tmp/$h.artifacts"/*; do
			[ -f "$a" ] && echo "# input kept: $a (move it to tests/fuzz/regress/$h/ once understood)"
		done
		return 1
	fi
	echo "ok - fuzz: $summary"
	return 0
}

# A harness whose saved findings still fail is not fuzzed: it would only
# find them again. The others still run.
torun=
for h in $only; do
	case " $all " in *" $h "*) ;; *) echo "fuzz: no harness $h" >&2; exit 2 ;; esac
	if ! build "$h"; then
		echo "not ok - fuzz: build $h"
		failed=1
		continue
	fi
	if replay "$h"; then
		torun="$torun $h"
	else
		failed=1
	fi
done

# Harnesses in parallel, FUZZ_JOBS at a time, each writing its own result.
running=0
for h in $torun; do
	(fuzz_one "$h" >"$tmp/$h.result"; echo $? >"$tmp/$h.rc") &
	running=$((running + 1))
	if [ $running -ge "$jobs" ]; then
		wait
		running=0
	fi
done
wait
for h in $torun; do
	cat "$tmp/$h.result"
	[ "$(cat "$tmp/$h.rc" 2>/dev/null)" = 0 ] || failed=1
done
exit $failed
