#!/bin/sh
# The CGI script of t-cgi-launch.sh. When the request has a REPORT
# parameter it first writes, to that file, what the bridge gave it: ids,
# directories, umask, nice, limits, no_new_privs, descriptors, process
# group, signal masks, arguments and environment. It then answers with a
# header and a two-line body; a SLEEP parameter makes it pause between
# the two lines, so that a test can act while a request is in flight.

# The descriptors come first, before any redirection or command
# substitution of this shell opens one. The glob reads the directory
# through a descriptor of its own, closed again before the loop runs, so
# the -e test drops it; the shell's own descriptor for reading this file
# (dash keeps it at 10 or above) is not the bridge's doing either.
fds=
for f in /proc/$$/fd/*; do
	[ -e "$f" ] && ! [ "$f" -ef "$0" ] && fds="$fds${f##*/},"
done
fd0=$(readlink /proc/$$/fd/0)
fd1=$(readlink /proc/$$/fd/1)
fd2=$(readlink /proc/$$/fd/2)

if [ -n "${REPORT:-}" ]; then
	{
		echo "pid=$$"
		# Fields 4, 5 and 19 of stat, counted after the command name,
		# which may hold spaces.
		sed 's/.*) //' /proc/$$/stat |
		    awk '{ print "ppid=" $2; print "pgid=" $3; print "nice=" $17 }'
		sed -n 's/^\(Uid\|Gid\|Groups\|NoNewPrivs\|SigBlk\|SigIgn\):[[:space:]]*/\1=/p' \
		    /proc/$$/status | tr -s ' \t' '  ' | sed 's/ $//'
		sed -n 's/^Max open files  *//p' /proc/$$/limits |
		    awk '{ print "nofile=" $1 ":" $2 }'
		echo "cwd=$(readlink /proc/$$/cwd)"
		echo "root=$(readlink /proc/$$/root)"
		echo "umask=$(umask)"
		echo "fds=$fds"
		echo "fd0=$fd0"
		echo "fd1=$fd1"
		echo "fd2=$fd2"
		echo "argv0=$0"
		echo "args=$*"
		env | LC_ALL=C sort | sed 's/^/env./'
	} >"$REPORT.tmp" && mv "$REPORT.tmp" "$REPORT"
fi

printf 'Content-Type: text/plain\r\n\r\n'
echo "first line from $$"
[ -z "${SLEEP:-}" ] || sleep "$SLEEP"
echo "last line from $$"
