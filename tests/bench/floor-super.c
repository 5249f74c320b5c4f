/*
 * floor-super: the reference supervisor that spawn -r is measured against.
 *
 * usage: floor-super SOCKET N PROGRAM [ARG ...]
 *
 * It binds a unix socket at SOCKET, blocks SIGCHLD, SIGTERM and SIGINT,
 * forks N children running PROGRAM with the socket on fd 0, then loops in
 * sigwaitinfo(2): each SIGCHLD reaps and forks the dead slot again at once,
 * with no exec confirmation, back-off or checks of any kind. SIGTERM or
 * SIGINT sends SIGTERM to the children, removes the socket and exits. This
 * is the smallest supervisor that still keeps N children running.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static sigset_t oldmask;
static int sock;
static char **prog;

static pid_t
start(void)
{
	pid_t pid;

	if ((pid = fork()) == 0) {
		sigprocmask(SIG_SETMASK, &oldmask, NULL);
		dup2(sock, 0);
		execv(prog[0], prog);
		_exit(127);
	}
	return pid;
}

int
main(int argc, char **argv)
{
	struct sockaddr_un sun;
	siginfo_t si;
	sigset_t set;
	pid_t *pids, pid;
	long i, n;
	int st;

	if (argc < 4 || (n = strtol(argv[2], NULL, 10)) < 1) {
		fprintf(stderr, "usage: floor-super SOCKET N PROGRAM [ARG ...]\n");
		return 2;
	}
	prog = argv + 3;
	if ((pids = calloc(n, sizeof *pids)) == NULL)
		return 1;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, &oldmask);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(argv[1]) >= sizeof sun.sun_path)
		return 2;
	strcpy(sun.sun_path, argv[1]);
	if ((sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(sock, (struct sockaddr *)&sun, sizeof sun) == -1 ||
	    listen(sock, 1024) == -1) {
		perror("floor-super: socket");
		return 1;
	}
	for (i = 0; i < n; i++)
		pids[i] = start();
	for (;;) {
		if (sigwaitinfo(&set, &si) == -1)
			continue;
		if (si.si_signo != SIGCHLD)
			break;
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
			for (i = 0; i < n; i++)
				if (pids[i] == pid)
					pids[i] = start();
	}
	for (i = 0; i < n; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	unlink(argv[1]);
	return 0;
}
