# Privileges (issue 2): users, groups, socket owner, chroot, and refusing
# root-only options for a caller who is not root.
. "$(dirname "$0")/lib.sh"

R=$T/r
S=$T/s.sock
mkdir -p "$R"
chmod 777 "$R"

if ! is_root; then
	skip "privilege tests need root"
	exit 0
fi

status_field() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" | tr -s ' \t' ' ' | sed 's/ $//'; }

# --- -u: uid, gid and groups of the child, from /proc and from the probe.
run_spawn -s "$S" -u nobody -- "$PROBE" --report "$R" --sleep
p=$(first_report "$R")
expect_eq "-u nobody: exit 0" 0 "$RC"
expect_eq "-u nobody: real, effective, saved uid" "65534 65534 65534 65534" "$(status_field "$p" Uid)"
expect_eq "-u nobody: gid is nobody's primary group" "65534 65534 65534 65534" "$(status_field "$p" Gid)"
expect_eq "-u nobody: supplementary groups from the group database" "65534" "$(status_field "$p" Groups)"
expect_eq "-u nobody: no capabilities left" "0000000000000000 0000000000000000" "$(status_field "$p" CapPrm) $(status_field "$p" CapEff)"
expect_eq "-u nobody: socket owned by the user and group" "nobody:nogroup" "$(stat -c %U:%G "$S")"
stop "$p"; rm -f "$S" "$R"/*

# Root's own supplementary groups never reach the child.
setpriv --groups 4,24,27 "$SPAWN" -s "$S" -u daemon -g nogroup -- "$PROBE" --report "$R" --sleep >/dev/null 2>&1
p=$(first_report "$R")
expect_eq "-u daemon -g nogroup: uid" "1 1 1 1" "$(status_field "$p" Uid)"
expect_eq "-u daemon -g nogroup: gid" "65534 65534 65534 65534" "$(status_field "$p" Gid)"
expect_eq "-u daemon: the caller's groups 4,24,27 are gone" "65534" "$(status_field "$p" Groups)"
stop "$p"; rm -f "$S" "$R"/*

run_spawn -s "$S" -u 54321 -g 54322 -- "$PROBE" --report "$R" --sleep
p=$(first_report "$R")
expect_eq "numeric -u without passwd entry, with -g: uid" "54321 54321 54321 54321" "$(status_field "$p" Uid)"
expect_eq "numeric -u with -g: gid" "54322 54322 54322 54322" "$(status_field "$p" Gid)"
expect_eq "numeric -u with -g: groups are just -g" "54322" "$(status_field "$p" Groups)"
stop "$p"; rm -f "$S" "$R"/*

run_spawn -s "$S" -g nogroup -- "$PROBE" --report "$R" --sleep
p=$(first_report "$R")
expect_eq "-g alone: uid unchanged" "0 0 0 0" "$(status_field "$p" Uid)"
expect_eq "-g alone: gid set" "65534 65534 65534 65534" "$(status_field "$p" Gid)"
stop "$p"; rm -f "$S" "$R"/*

# A -u user who is a member of group root is refused (a private mount
# namespace shows spawn an /etc/group that says so).
if unshare --mount true 2>/dev/null; then
	sed 's/^root:x:0:.*/root:x:0:nobody/' /etc/group >"$T/group"
	unshare --mount sh -c 'mount --bind "$1" /etc/group && shift && exec "$@"' sh \
		"$T/group" "$SPAWN" -s "$S" -u nobody -- "$PROBE" --report "$R" >"$T/.out" 2>"$T/.err" </dev/null
	RC=$?
	expect_eq "-u member of group root: exit 2" 2 "$RC"
	expect_eq "-u member of group root: message" 'spawn: user "nobody": is a member of group root; will not run children with it' "$(cat "$T/.err")"
	check "-u member of group root: nothing started, no socket" test "$(count_reports "$R")" -eq 0 -a ! -e "$S"
else
	skip "-u member of group root (unshare --mount not possible here)"
fi

# --- Socket owner: -U and -G.
run_spawn -s "$S" -U 54321 -- "$PROBE" --report "$R" --sleep
p=$(first_report "$R")
expect_eq "numeric -U without passwd entry: owner set, group left as created" "54321:0" "$(stat -c %u:%g "$S")"
stop "$p"; rm -f "$S" "$R"/*
run_spawn -s "$S" -U daemon -G www-data -M 0600 -- "$PROBE" --report "$R" --sleep
p=$(first_report "$R")
expect_eq "-U daemon -G www-data: socket owner" "daemon:www-data" "$(stat -c %U:%G "$S")"
expect_eq "-M 0600: mode" 600 "$(stat -c %a "$S")"
expect_eq "-U alone leaves the child's uid alone" "0 0 0 0" "$(status_field "$p" Uid)"
stop "$p"; rm -f "$S" "$R"/*
run_spawn -s "$S" -u nobody -U www-data -- "$PROBE" --report "$R" --sleep
p=$(first_report "$R")
expect_eq "-u nobody -U www-data: socket user from -U, group from -u" "www-data:nogroup" "$(stat -c %U:%G "$S")"
stop "$p"; rm -f "$S" "$R"/*

# --- With -w the launcher keeps its privileges (to clean up); children drop.
"$SPAWN" -w -s "$S" -u nobody -- "$PROBE" --report "$R" --sleep >/dev/null 2>&1 &
w=$!
track "$w"
p=$(first_report "$R")
expect_eq "-w -u nobody: the child runs as nobody" "65534 65534 65534 65534" "$(status_field "$p" Uid)"
expect_eq "-w -u nobody: its parent is spawn" "$w" "$(status_field "$p" PPid)"
kill "$w"
wait_until 5 dead "$w"
check "-w: socket removed on exit even though the child could not" sock_gone "$S"
rm -f "$R"/*

# -n drops privileges in place.
"$SPAWN" -n -s "$S" -u nobody -- "$PROBE" --report "$R" --sleep >/dev/null 2>&1 &
n=$!
track "$n"
p=$(first_report "$R")
expect_eq "-n -u nobody: same pid" "$n" "$p"
expect_eq "-n -u nobody: uid" "65534 65534 65534 65534" "$(status_field "$p" Uid)"
stop "$n"; rm -f "$S" "$R"/*

# --- chroot: bind inside it by default, outside it with -S.
# LeakSanitizer (make SAN=1) reads /proc at exit, which the chroot hides.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
export ASAN_OPTIONS
C=$T/chroot
mkdir -p "$C/bin" "$C/srv/app" "$C/tmp"
cp "$PROBE" "$C/bin/probe"
for lib in $(ldd "$PROBE" | grep -o '/[^ ]*'); do
	mkdir -p "$C$(dirname "$lib")"
	cp "$lib" "$C$lib"
done
mkdir -p "$C/r"
chmod 777 "$C/r"
run_spawn -c "$C" -s /tmp/in.sock -d /srv/app -u nobody -P "$T/chroot.pid" --check -- /bin/probe --report /r
p=$(wait_for 5 'test -n "$(report_pids "$C/r")"'; report_pids "$C/r" | head -n 1)
expect_eq "-c: exit 0" 0 "$RC"
expect_eq "-c: the child's root is the chroot" "$C" "$(readlink /proc/$p/root)"
expect_eq "-c -d: cwd inside the chroot" "$C/srv/app" "$(readlink /proc/$p/cwd)"
expect_eq "-c: the probe sees / as its root" "/srv/app" "$(rget "$C/r" "$p" cwd)"
check "-c without -S: socket bound inside the chroot" test -S "$C/tmp/in.sock"
expect_eq "-c: the child's fd 0 is that socket" "/tmp/in.sock" "$(rget "$C/r" "$p" fd0_addr)"
expect_eq "-c: pid file written outside the chroot" "$p" "$(cat "$T/chroot.pid")"
expect_eq "-c -u nobody: uid" "65534 65534 65534 65534" "$(status_field "$p" Uid)"
stop "$p"; rm -f "$C/r"/* "$C/tmp/in.sock"

run_spawn -c "$C" -S -s "$S" --check -- /bin/probe --report /r
p=$(wait_for 5 'test -n "$(report_pids "$C/r")"'; report_pids "$C/r" | head -n 1)
expect_eq "-c -S --check: exit 0 (the check connects before the chroot)" 0 "$RC"
check "-c -S: socket bound outside the chroot" test -S "$S"
expect_eq "-c -S: child's fd 0 is the outside path" "$S" "$(rget "$C/r" "$p" fd0_addr)"
stop "$p"; rm -f "$C/r"/* "$S"

run_spawn -c "$C" -S -s "$S" --min-uptime 10000 -- /bin/probe --report /r --exit 2
expect_eq "-c -S, child fails: exit 1" 1 "$RC"
check "-c -S, child fails: the outside socket is removed" sock_gone "$S"

run_spawn -c "$T/no-such-root" -s /x.sock -- /bin/probe
expect_eq "-c missing dir: exit 1" 1 "$RC"
expect_eq "-c missing dir: message" "spawn: chroot $T/no-such-root: No such file or directory" "$ERR"

run_spawn -c "$C" -s /tmp/in.sock -- /bin/not-there
expect_eq "-c: program looked up inside the chroot: exit 1" 1 "$RC"
check "-c: program missing: socket inside removed" sock_gone "$C/tmp/in.sock"
expect_match "-c: the message says the path is inside the chroot" "^spawn: child [0-9]+: exec /bin/not-there inside chroot $C: No such file or directory$" "$ERR"

# --- A caller who is not root: root-only options are errors, not ignored.
NB=$T/nobody
mkdir -p "$NB"
chmod 777 "$NB"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
nb_bad() {
	_want=$1
	shift
	as_nobody "$SPAWN" "$@" >"$T/.out" 2>"$T/.err" </dev/null
	RC=$?
	expect_eq "as nobody [$*]: exit 2" 2 "$RC"
	expect_eq "as nobody [$*]: message" "$_want" "$(cat "$T/.err")"
	check "as nobody [$*]: nothing started, no socket" test ! -e "$NB/s.sock" -a "$(count_reports "$R")" -eq 0
}
nb_bad 'spawn: user "daemon": only root can do this' -s "$NB/s.sock" -u daemon -- "$PROBE" --report "$R"
nb_bad 'spawn: group "daemon": only root can do this' -s "$NB/s.sock" -g daemon -- "$PROBE" --report "$R"
nb_bad 'spawn: chroot "/": only root can do this' -s "$NB/s.sock" -c / -- "$PROBE" --report "$R"
nb_bad 'spawn: socket-user "daemon": only root can do this' -s "$NB/s.sock" -U daemon -- "$PROBE" --report "$R"
nb_bad 'spawn: socket-group "daemon": only root can do this' -s "$NB/s.sock" -G daemon -- "$PROBE" --report "$R"
# A fork that fails (nproc limit) fails the start; no pid 0 is printed.
# The limit counts every process of the uid, so the uid is one nobody
# else uses (other test files and runs may have processes as nobody right
# now; private_uid claims one for this file): spawn and two children fit,
# the third fork fails.
if private_uid; then
	setpriv --reuid=$PRIV_UID --regid=$PRIV_UID --clear-groups prlimit --nproc=3 "$SPAWN" -s "$NB/s.sock" -F 4 -P "$NB/pids" -- "$PROBE" --report "$R" --sleep >"$T/.out" 2>"$T/.err" </dev/null
	RC=$?
	expect_eq "fork fails (nproc): exit 1" 1 "$RC"
	expect_match "fork fails (nproc): says so" "^spawn: fork: Resource temporarily unavailable" "$(cat "$T/.err")"
	expect_eq "fork fails (nproc): nothing reported as spawned" "" "$(cat "$T/.out")"
	check "fork fails (nproc): no pid file" test ! -e "$NB/pids"
	wait_until 5 nothing_running "$R"
	check "fork fails (nproc): the children that did start were stopped" nothing_running "$R"
	rm -f "$R"/* "$NB/s.sock"
else
	skip "fork fails (nproc): no unused uid in 54400..54599 to claim"
fi
as_nobody "$SPAWN" -s "$NB/s.sock" -u nobody -g nogroup -U nobody -- "$PROBE" --report "$R" --sleep >/dev/null 2>&1
RC=$?
expect_eq "as nobody: -u nobody -g nogroup -U nobody ask for what holds: exit 0" 0 "$RC"
p=$(first_report "$R")
expect_eq "as nobody: child runs as nobody" "65534 65534 65534 65534" "$(status_field "$p" Uid)"
stop "$p"; rm -f "$NB/s.sock" "$R"/*
