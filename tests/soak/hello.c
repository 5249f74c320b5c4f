/*
 * hello: the CGI program of the bridge soak and of tests/valgrind.sh.
 *
 * It reads its request body to the end, then prints a Content-Type header
 * and "hello N", N being the number of body bytes it read, so a client can
 * tell that a POST body arrived whole. With QUERY_STRING "bad" it prints a
 * line that is no header block at all, which the bridge must turn into a
 * 502 response.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
main(void)
{
	static char buf[65536];
	const char *q = getenv("QUERY_STRING");
	long long total = 0;
	ssize_t n;
	int len;

	for (;;) {
		n = read(0, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		total += n;
	}
	if (q != NULL && strcmp(q, "bad") == 0)
		len = snprintf(buf, sizeof(buf), "no header block here\n");
	else
		len = snprintf(buf, sizeof(buf),
		    "Content-Type: text/plain\r\n\r\nhello %lld\n", total);
	return write(1, buf, (size_t)len) == len ? 0 : 1;
}
