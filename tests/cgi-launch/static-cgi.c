/*
 * static-cgi: the CGI program of t-cgi-launch.sh's chroot test. It is
 * linked statically so that a chroot holding only this file and a marker
 * can run it. It answers with what it sees from inside: the marker file
 * at "/", its working directory, ids and pid. With QUERY_STRING "hold" it
 * first writes its pid to /r/pid and waits (at most 5 s) for /r/go, so
 * that the test can look at /proc/PID from outside while it runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void
nap_ms(long ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);
}

static void
hold(void)
{
	FILE *f;
	int i;

	if ((f = fopen("/r/pid.tmp", "w")) == NULL)
		return;
	fprintf(f, "%ld\n", (long)getpid());
	if (fclose(f) != 0 || rename("/r/pid.tmp", "/r/pid") != 0)
		return;
	for (i = 0; i < 500 && access("/r/go", F_OK) != 0; i++)
		nap_ms(10);
}

int
main(void)
{
	const char *query = getenv("QUERY_STRING");
	char marker[128] = "", cwd[4096] = "";
	FILE *f;

	if (query != NULL && strcmp(query, "hold") == 0)
		hold();
	if ((f = fopen("/marker", "r")) != NULL) {
		if (fgets(marker, sizeof(marker), f) == NULL)
			marker[0] = '\0';
		marker[strcspn(marker, "\n")] = '\0';
		fclose(f);
	}
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		strcpy(cwd, "?");
	printf("Content-Type: text/plain\r\n\r\n");
	printf("marker=%s\ncwd=%s\nuid=%ld\ngid=%ld\npid=%ld\n", marker, cwd,
	    (long)getuid(), (long)getgid(), (long)getpid());
	return 0;
}
