/*
 * sleeper: the cheapest stand-in for a FastCGI application, used by the
 * benchmarks so that the cost measured is the launcher's, not the
 * program's. It never touches the socket on fd 0 and stays alive until a
 * signal ends it.
 *
 * With a FILE argument it first appends "PID NS\n" to FILE, NS being
 * CLOCK_MONOTONIC in nanoseconds taken as the first thing in main(), so
 * that respawn latency is read from the new child's own clock. One
 * O_APPEND write(2) keeps concurrent writers' lines whole.
 */
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct timespec ts;
	char line[64];
	int fd, n;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (argc > 1) {
		n = snprintf(line, sizeof line, "%ld %lld\n", (long)getpid(),
		    (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
		fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
		    0644);
		if (fd == -1 || write(fd, line, n) != n)
			return 1;
		close(fd);
	}
	for (;;)
		pause();
}
