/*
 * notifyrecv: stands in for systemd's notify socket in the launcher soak.
 *
 * usage: notifyrecv PATH MAX_SECONDS
 *
 * It binds a unix datagram socket at PATH and writes every message spawn
 * sends there to stdout as one line (its newlines become spaces), so the
 * soak knows exactly when a reload has begun (RELOADING=1) and ended (the
 * READY=1 that follows) instead of guessing from log lines. It exits on
 * SIGTERM, or after MAX_SECONDS so that it can never outlive a run.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int
main(int argc, char **argv)
{
	struct sockaddr_un sun;
	struct sigaction sa;
	struct pollfd pfd;
	char buf[4096];
	time_t end;
	ssize_t n, i;
	int fd;

	if (argc != 3 || strlen(argv[1]) >= sizeof(sun.sun_path))
		return 2;
	end = time(NULL) + atol(argv[2]);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, argv[1]);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		return 1;
	while (!stop && time(NULL) < end) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		if ((n = recv(fd, buf, sizeof(buf) - 1, 0)) <= 0)
			continue;
		while (n > 0 && buf[n - 1] == '\n')
			n--;
		for (i = 0; i < n; i++)
			if (buf[i] == '\n')
				buf[i] = ' ';
		buf[n++] = '\n';
		if (write(1, buf, (size_t)n) != n)
			return 1;
	}
	unlink(argv[1]);
	return 0;
}
