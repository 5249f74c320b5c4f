/*
 * floor-start: the reference that spawn's start-up is measured against.
 *
 * usage: floor-start SOCKET N PROGRAM [ARG ...]
 *
 * It binds a unix socket at SOCKET, then N times: a close-on-exec pipe,
 * fork, the child puts the socket on fd 0 and execs PROGRAM, the parent
 * reads the pipe until EOF (the exec happened) and goes on. Then it prints
 * the children's pids the way spawn-fcgi does and exits, leaving them
 * running. This is the least work that still starts N FastCGI children
 * with confirmed execs; it does none of spawn's checks.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct sockaddr_un sun;
	pid_t *pids;
	long i, n;
	int sock, p[2], e;
	ssize_t r;

	if (argc < 4 || (n = strtol(argv[2], NULL, 10)) < 1) {
		fprintf(stderr, "usage: floor-start SOCKET N PROGRAM [ARG ...]\n");
		return 2;
	}
	if ((pids = calloc(n, sizeof *pids)) == NULL)
		return 1;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(argv[1]) >= sizeof sun.sun_path)
		return 2;
	strcpy(sun.sun_path, argv[1]);
	if ((sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(sock, (struct sockaddr *)&sun, sizeof sun) == -1 ||
	    listen(sock, 1024) == -1) {
		perror("floor-start: socket");
		return 1;
	}
	for (i = 0; i < n; i++) {
		if (pipe2(p, O_CLOEXEC) == -1) {
			perror("floor-start: pipe2");
			return 1;
		}
		switch (pids[i] = fork()) {
		case -1:
			perror("floor-start: fork");
			return 1;
		case 0:
			dup2(sock, 0);
			execv(argv[3], argv + 3);
			e = errno;
			write(p[1], &e, sizeof e);
			_exit(127);
		}
		close(p[1]);
		while ((r = read(p[0], &e, sizeof e)) == -1 && errno == EINTR)
			;
		close(p[0]);
		if (r != 0) {
			fprintf(stderr, "floor-start: exec %s: %s\n", argv[3],
			    r > 0 ? strerror(e) : "read failed");
			return 1;
		}
	}
	for (i = 0; i < n; i++)
		printf("floor-start: child spawned successfully: PID: %ld\n",
		    (long)pids[i]);
	return 0;
}
