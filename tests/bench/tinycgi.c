/*
 * tinycgi: the C CGI scripts that part 5 of tests/bench/run.sh runs through
 * the CGI bridge, fcgiwrap and the floor. One source, built once for each
 * behaviour, because fcgiwrap runs SCRIPT_FILENAME with no arguments:
 *
 *   cc tinycgi.c                   a Content-Type header and "hello", exit
 *   cc -DSLEEP_MS=200 tinycgi.c    the same after sleeping 200 ms
 *   cc -DSINK tinycgi.c            reads stdin to EOF, then prints the
 *                                  header and the number of bytes read
 *   cc -DSOURCE tinycgi.c          the header, then as many zero bytes as
 *                                  QUERY_STRING says
 *
 * It does as little as a CGI program can, so that the figures measure the
 * way it is run, not the program itself.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#if defined(SINK) || defined(SOURCE)
static char buf[65536];
#endif

/* Writes all of p; a reader that went away ends the script. */
static int
put(const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(1, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

#define HEADER "Content-Type: text/plain\r\n\r\n"

int
main(void)
{
#if defined(SINK)
	long long total = 0;
	ssize_t n;
	int len;

	for (;;) {
		n = read(0, buf, sizeof buf);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		total += n;
	}
	if (n == -1)
		return 1;
	len = snprintf(buf, sizeof buf, HEADER "%lld\n", total);
	return put(buf, (size_t)len) == 0 ? 0 : 1;
#elif defined(SOURCE)
	const char *q = getenv("QUERY_STRING");
	long long left;
	size_t n;

	if (put(HEADER, sizeof HEADER - 1) == -1)
		return 1;
	for (left = q != NULL ? atoll(q) : 0; left > 0; left -= (long long)n) {
		n = left < (long long)sizeof buf ? (size_t)left : sizeof buf;
		if (put(buf, n) == -1)
			return 1;
	}
	return 0;
#else
#ifdef SLEEP_MS
	struct timespec ts = { SLEEP_MS / 1000, (SLEEP_MS % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
#endif
	return put(HEADER "hello\n", sizeof HEADER + 5) == 0 ? 0 : 1;
#endif
}
