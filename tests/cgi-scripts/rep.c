/*
 * rep: the first thing a t-cgi.sh request runs. It writes down what the
 * CGI bridge really gave the script, then execs the script itself (the
 * rest of its command line) in the same process, so the pid, descriptors,
 * signal state and environment it reports are the script's.
 *
 * The report goes to $T_DIR/$T_TAG.<pid>.report (key=value lines, renamed
 * into place whole): pid, ppid, pgid and sid as /proc/self/stat has them,
 * fds (the open descriptors) and fd.N (what each one is), sigblk, sigign
 * and sigcgt from /proc/self/status, cwd, and env.NAME for every variable.
 * Without T_DIR in the environment it reports nothing.
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static void
put_value(FILE *f, const char *s)
{
	/* One key per line: a newline inside a value must not end it. */
	for (; *s != '\0'; s++) {
		if (*s == '\n')
			fputs("\\n", f);
		else if (*s == '\\')
			fputs("\\\\", f);
		else
			putc(*s, f);
	}
	putc('\n', f);
}

static void
put_stat(FILE *f)
{
	char line[1024], *p;
	int pid = 0, ppid = 0, pgid = 0, sid = 0;
	char state = '?';
	FILE *s;

	if ((s = fopen("/proc/self/stat", "re")) == NULL)
		return;
	/* The command name may hold blanks and parentheses: skip past it. */
	if (fgets(line, sizeof(line), s) != NULL &&
	    (p = strrchr(line, ')')) != NULL &&
	    sscanf(line, "%d", &pid) == 1 &&
	    sscanf(p + 1, " %c %d %d %d", &state, &ppid, &pgid, &sid) == 4)
		fprintf(f, "pid=%d\nppid=%d\npgid=%d\nsid=%d\n", pid, ppid,
		    pgid, sid);
	fclose(s);
}

static void
put_status(FILE *f)
{
	char line[256];
	FILE *s;

	if ((s = fopen("/proc/self/status", "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), s) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "SigBlk:\t", 8) == 0)
			fprintf(f, "sigblk=%s\n", line + 8);
		else if (strncmp(line, "SigIgn:\t", 8) == 0)
			fprintf(f, "sigign=%s\n", line + 8);
		else if (strncmp(line, "SigCgt:\t", 8) == 0)
			fprintf(f, "sigcgt=%s\n", line + 8);
	}
	fclose(s);
}

/* The descriptors as the kernel lists them, the directory's own aside. */
static void
put_fds(FILE *f, int own)
{
	char path[64], target[PATH_MAX];
	int fds[256], n = 0, i, k, fd, t;
	struct dirent *e;
	ssize_t len;
	DIR *d;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return;
	while ((e = readdir(d)) != NULL && n < 256) {
		if (e->d_name[0] == '.')
			continue;
		fd = atoi(e->d_name);
		if (fd != dirfd(d) && fd != own)
			fds[n++] = fd;
	}
	closedir(d);
	for (i = 1; i < n; i++)
		for (k = i; k > 0 && fds[k - 1] > fds[k]; k--) {
			t = fds[k];
			fds[k] = fds[k - 1];
			fds[k - 1] = t;
		}
	fputs("fds=", f);
	for (i = 0; i < n; i++)
		fprintf(f, "%s%d", i ? "," : "", fds[i]);
	putc('\n', f);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[i]);
		if ((len = readlink(path, target, sizeof(target) - 1)) < 0)
			len = 0;
		target[len] = '\0';
		fprintf(f, "fd.%d=%s\n", fds[i], target);
	}
}

static void
report(const char *dir, const char *tag)
{
	char tmp[PATH_MAX], path[PATH_MAX], cwd[PATH_MAX];
	char **e;
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s/.%s.%ld.tmp", dir, tag, (long)getpid());
	snprintf(path, sizeof(path), "%s/%s.%ld.report", dir, tag,
	    (long)getpid());
	if ((f = fopen(tmp, "we")) == NULL)
		return;
	put_stat(f);
	put_fds(f, fileno(f));
	put_status(f);
	fprintf(f, "cwd=%s\n", getcwd(cwd, sizeof(cwd)) ? cwd : "?");
	for (e = environ; *e != NULL; e++) {
		fputs("env.", f);
		put_value(f, *e);
	}
	if (fclose(f) == 0)
		rename(tmp, path);
}

int
main(int argc, char **argv)
{
	const char *dir = getenv("T_DIR"), *tag = getenv("T_TAG");

	if (dir != NULL)
		report(dir, tag != NULL ? tag : "x");
	if (argc < 2)
		return 0;
	execv(argv[1], argv + 1);
	printf("Status: 500 Internal Server Error\r\n"
	    "Content-Type: text/plain\r\n\r\nrep: exec %s failed\n", argv[1]);
	return 127;
}
