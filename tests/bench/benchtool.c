/*
 * benchtool: the timing and process chores of tests/bench/run.sh, done in C
 * so that a shell's own fork and exec do not land inside the measurements.
 *
 *   benchtool reap CMD ...            run CMD as a child subreaper; when it
 *                                     ends, kill and reap every orphan left
 *   benchtool trial MSFILE N CMD ...  time CMD (fork to exit) and append the
 *                                     milliseconds to MSFILE, then check that
 *                                     exactly N processes were left running,
 *                                     kill and reap them
 *   benchtool children PID            print PID's live children
 *   benchtool waitn PID N MS          wait until PID has N live children
 *   benchtool respawn PID FILE COUNT GAPMS
 *                                     COUNT times: SIGKILL PID's newest child
 *                                     (from FILE, written by sleeper) and
 *                                     print the microseconds until the new
 *                                     child's own clock reading in FILE
 *   benchtool reload PID N SIG MS     send SIG to PID and wait until all its
 *                                     children are new ones, N of them; print
 *                                     the milliseconds this took
 *   benchtool rolling PID N SIG MS    the same, sending SIG to PID's children
 *                                     one by one, each time waiting for PID
 *                                     to have N children again
 *   benchtool stop PID SIG MS         send SIG to PID and wait for it to die;
 *                                     after MS, SIGKILL it and its children
 *
 * It only ever signals processes that it started itself or that are
 * children of a PID the caller started (checked in /proc before each kill).
 * A process in state Z counts as gone: it is dead, only not yet reaped.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAXPROCS 8192

static pid_t cmdpid;

static long long
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void
sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Returns 1 if pid exists and is not a zombie, filling in its parent. */
static int
alive(pid_t pid, pid_t *ppid)
{
	char path[64], buf[512], *p, state;
	ssize_t n;
	int fd, pp;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 1, " %c %d", &state, &pp) != 2)
		return 0;
	if (ppid != NULL)
		*ppid = pp;
	return state != 'Z' && state != 'X';
}

/* The live children of parent, found by scanning /proc. */
static int
children(pid_t parent, pid_t *out, int max)
{
	struct dirent *d;
	DIR *dir;
	pid_t pid, pp;
	int n = 0;

	if ((dir = opendir("/proc")) == NULL)
		return -1;
	while ((d = readdir(dir)) != NULL && n < max) {
		if ((pid = (pid_t)strtol(d->d_name, NULL, 10)) <= 0)
			continue;
		if (alive(pid, &pp) && pp == parent)
			out[n++] = pid;
	}
	closedir(dir);
	return n;
}

static int
is_child_of(pid_t pid, pid_t parent)
{
	pid_t pp;

	return alive(pid, &pp) && pp == parent;
}

/* Kills every child of ours, and the orphans that come after, and reaps. */
static void
kill_and_reap_all(void)
{
	static pid_t list[MAXPROCS];
	pid_t pid;
	int i, n;

	for (;;) {
		n = children(getpid(), list, MAXPROCS);
		for (i = 0; i < n; i++)
			kill(list[i], SIGKILL);
		pid = waitpid(-1, NULL, WNOHANG);
		if (pid == -1 && errno == ECHILD)
			return;
		if (pid <= 0)
			sleep_us(1000);
	}
}

static pid_t
run(char **argv, int quiet)
{
	pid_t pid;
	int fd;

	if ((pid = fork()) == 0) {
		if (quiet && (fd = open("/dev/null", O_WRONLY)) != -1)
			dup2(fd, 1);
		execvp(argv[0], argv);
		fprintf(stderr, "benchtool: exec %s: %s\n", argv[0],
		    strerror(errno));
		_exit(127);
	}
	return pid;
}

static void
forward(int sig)
{
	if (cmdpid > 0)
		kill(cmdpid, sig);
}

static int
cmd_reap(char **argv)
{
	struct sigaction sa;
	pid_t pid;
	int st, code = 1;

	prctl(PR_SET_CHILD_SUBREAPER, 1);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = forward;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if ((cmdpid = run(argv, 0)) == -1)
		return 1;
	for (;;) {
		pid = waitpid(-1, &st, 0);
		if (pid == -1 && errno == EINTR)
			continue;
		if (pid == -1)
			break;
		if (pid == cmdpid) {
			code = WIFEXITED(st) ? WEXITSTATUS(st) :
			    128 + WTERMSIG(st);
			break;
		}
	}
	cmdpid = 0;
	kill_and_reap_all();
	return code;
}

static int
cmd_trial(const char *msfile, long want, char **argv)
{
	static pid_t list[MAXPROCS];
	long long t0, t1;
	FILE *f;
	pid_t pid;
	int st, i, n;

	prctl(PR_SET_CHILD_SUBREAPER, 1);
	t0 = now_ns();
	pid = run(argv, 1);
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	t1 = now_ns();
	n = children(getpid(), list, MAXPROCS);
	for (i = 0; i < n; i++)
		kill(list[i], SIGKILL);
	alarm(30);
	kill_and_reap_all();
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "benchtool: %s failed (status %d)\n", argv[0],
		    st);
		return 1;
	}
	if (n != want) {
		fprintf(stderr, "benchtool: %s left %d processes, not %ld\n",
		    argv[0], n, want);
		return 1;
	}
	if ((f = fopen(msfile, "a")) == NULL)
		return 1;
	fprintf(f, "%.3f\n", (t1 - t0) / 1e6);
	return fclose(f) == 0 ? 0 : 1;
}

static int
cmd_waitn(pid_t pid, int want, long ms)
{
	static pid_t list[MAXPROCS];
	long long end = now_ns() + ms * 1000000LL;

	while (children(pid, list, MAXPROCS) != want) {
		if (now_ns() > end || !alive(pid, NULL))
			return 1;
		sleep_us(2000);
	}
	return 0;
}

/* Reads FILE; returns its line count and the pid and stamp of line k. */
static int
ready_lines(const char *file, int k, long *pid, long long *ns)
{
	static char buf[65536];
	char *p, *line;
	ssize_t n;
	int fd, count = 0;

	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	for (line = buf; (p = strchr(line, '\n')) != NULL; line = p + 1) {
		if (count == k || k < 0)
			sscanf(line, "%ld %lld", pid, ns);
		count++;
	}
	return count;
}

static int
cmd_respawn(pid_t super, const char *file, int count, long gap)
{
	long long t0, ns, end;
	long victim, pid;
	int i, n, m;

	end = now_ns() + 5000000000LL;
	while ((n = ready_lines(file, -1, &victim, &ns)) < 1) {
		if (now_ns() > end) {
			fprintf(stderr, "benchtool: no child wrote %s\n", file);
			return 1;
		}
		sleep_us(1000);
	}
	for (i = 0; i < count; i++) {
		sleep_us(gap * 1000);
		n = ready_lines(file, -1, &victim, &ns);
		if (!is_child_of((pid_t)victim, super)) {
			fprintf(stderr, "benchtool: %ld is not a live child "
			    "of %ld\n", victim, (long)super);
			return 1;
		}
		t0 = now_ns();
		kill((pid_t)victim, SIGKILL);
		end = t0 + 5000000000LL;
		while ((m = ready_lines(file, n, &pid, &ns)) <= n) {
			if (now_ns() > end) {
				fprintf(stderr, "benchtool: no new child "
				    "after 5 s\n");
				return 1;
			}
			sleep_us(200);
		}
		printf("%.1f\n", (ns - t0) / 1e3);
	}
	return 0;
}

/* Whether none of the n pids in old is still a live child of super. */
static int
all_replaced(pid_t super, const pid_t *old, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (is_child_of(old[i], super))
			return 0;
	return 1;
}

/*
 * Replaces super's children, either by sending sig to super (a reload) or,
 * with rolling set, by sending sig to each child in turn and waiting for
 * super to restart it. Prints the milliseconds until every old child was
 * gone and super had want children again.
 */
static int
cmd_replace(pid_t super, int want, int sig, long ms, int rolling)
{
	static pid_t old[MAXPROCS], now[MAXPROCS];
	long long t0, end;
	int i, n;

	n = children(super, old, MAXPROCS);
	t0 = now_ns();
	end = t0 + ms * 1000000LL;
	if (!rolling)
		kill(super, sig);
	for (i = 0; i < (rolling ? n : 1); i++) {
		if (rolling && is_child_of(old[i], super))
			kill(old[i], sig);
		for (;;) {
			if ((rolling ? !is_child_of(old[i], super) :
			    all_replaced(super, old, n)) &&
			    children(super, now, MAXPROCS) == want)
				break;
			if (now_ns() > end || !alive(super, NULL)) {
				fprintf(stderr, "benchtool: children of %ld "
				    "not replaced in %ld ms\n", (long)super, ms);
				return 1;
			}
			sleep_us(1000);
		}
	}
	printf("%.1f\n", (now_ns() - t0) / 1e6);
	return 0;
}

static int
cmd_stop(pid_t pid, int sig, long ms)
{
	static pid_t list[MAXPROCS];
	long long end = now_ns() + ms * 1000000LL;
	int i, n;

	n = children(pid, list, MAXPROCS);
	if (!alive(pid, NULL))
		return 0;
	kill(pid, sig);
	while (alive(pid, NULL)) {
		if (now_ns() > end) {
			kill(pid, SIGKILL);
			for (i = 0; i < n; i++)
				if (is_child_of(list[i], pid) ||
				    is_child_of(list[i], 1))
					kill(list[i], SIGKILL);
			return 1;
		}
		sleep_us(2000);
	}
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: benchtool reap|trial|children|waitn|respawn|"
	    "reload|rolling|stop ...\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static pid_t list[MAXPROCS];
	int i, n;

	if (argc < 3)
		usage();
	if (strcmp(argv[1], "reap") == 0)
		return cmd_reap(argv + 2);
	if (strcmp(argv[1], "trial") == 0 && argc >= 5)
		return cmd_trial(argv[2], strtol(argv[3], NULL, 10), argv + 4);
	if (strcmp(argv[1], "children") == 0) {
		n = children(strtol(argv[2], NULL, 10), list, MAXPROCS);
		for (i = 0; i < n; i++)
			printf("%ld\n", (long)list[i]);
		return n < 0;
	}
	if (strcmp(argv[1], "waitn") == 0 && argc == 5)
		return cmd_waitn(strtol(argv[2], NULL, 10),
		    strtol(argv[3], NULL, 10), strtol(argv[4], NULL, 10));
	if (strcmp(argv[1], "respawn") == 0 && argc == 6)
		return cmd_respawn(strtol(argv[2], NULL, 10), argv[3],
		    strtol(argv[4], NULL, 10), strtol(argv[5], NULL, 10));
	if ((strcmp(argv[1], "reload") == 0 ||
	    strcmp(argv[1], "rolling") == 0) && argc == 6)
		return cmd_replace(strtol(argv[2], NULL, 10),
		    strtol(argv[3], NULL, 10), strtol(argv[4], NULL, 10),
		    strtol(argv[5], NULL, 10), strcmp(argv[1], "rolling") == 0);
	if (strcmp(argv[1], "stop") == 0 && argc == 5)
		return cmd_stop(strtol(argv[2], NULL, 10),
		    strtol(argv[3], NULL, 10), strtol(argv[4], NULL, 10));
	usage();
	return 2;
}
