/*
 * dadoo-wait: the waiting half of dadoo, for processes without a terminal.
 *
 * dadoo (Go) starts the process and reports its pid; from then on a monitor
 * only waits, records the exit code and holds the output FIFOs. A Go program
 * needs over half a MiB of private memory just to idle, and there is one
 * monitor per process, so dadoo execs this static program for that part:
 * the same pid, the same children (the process) and the same subreaper flag
 * (both survive execve), and the FIFOs as inherited file descriptors.
 *
 * Command line (dadoo's own arguments after the first two pairs, so that the
 * command line still names the process directory last, as anyone looking
 * for a process's dadoo expects):
 *
 *   dadoo -wait-pid PID -wait-fds EXIT,STDOUT,STDERR
 *         -starter S -runtime-root R [-pea ID] exec HANDLE PROCESS_DIR
 *
 * It then does what dadoo's Go monitor does after a start (pkg/dadoo):
 * wait for PID without reaping it, write PROCESS_DIR/exitcode atomically,
 * reap, run a pea's cleanup (S --runtime-root R delete ID), close the exit
 * FIFO (EOF tells waiters the code is on disk), and linger while the output
 * FIFOs hold unread bytes and PROCESS_DIR exists. Its exit status is the
 * process's. Log lines are JSON on stderr, as dadoo's.
 *
 * The crash point "dadoo.exited" of GDN_TEST_CRASH_AT (pkg/crash) is
 * honoured, so crash tests cover this half too.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef GDN_VERSION
#define GDN_VERSION "unknown"
#endif

/* Exit statuses of the monitor itself (cmd/dadoo's). */
enum { EXIT_USAGE = 2, EXIT_SETUP = 3 };

/* How often, at the most, a monitor holding unread output checks it, and
 * how often while a reader drains it (pkg/dadoo's lingerPoll and
 * lingerPollMin): the output's EOF waits for the monitor to let go. */
static const long linger_poll_ns = 100 * 1000 * 1000, linger_poll_min_ns = 1000 * 1000;

struct config {
	pid_t pid;
	int keep[3]; /* exit FIFO, stdout, stderr */
	const char *starter, *root, *pea, *handle, *dir;
};

static struct config cfg;

/* json_str appends s to buf (at *n, capacity cap) as a JSON string. */
static void json_str(char *buf, size_t *n, size_t cap, const char *s) {
	static const char hex[] = "0123456789abcdef";
	if (*n < cap)
		buf[(*n)++] = '"';
	for (; *s && *n + 7 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			buf[(*n)++] = '\\';
			buf[(*n)++] = (char)c;
		} else if (c < 0x20) {
			*n += (size_t)snprintf(buf + *n, cap - *n, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
		} else {
			buf[(*n)++] = (char)c;
		}
	}
	if (*n < cap)
		buf[(*n)++] = '"';
}

/*
 * log_line writes one JSON log line: level, msg, the monitor's own fields and,
 * if key is set, one more field (a number when str is NULL).
 */
static void log_line(const char *level, const char *msg, const char *key, const char *str, long num,
		     const char *key2, const char *str2) {
	char buf[8192];
	size_t n = 0, cap = sizeof(buf) - 2;
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n += strftime(buf, cap, "{\"time\":\"%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(buf + n, cap - n, ".%09ldZ\",\"level\":\"%s\",\"msg\":\"%s\",\"tool\":\"dadoo\",\"handle\":",
			      ts.tv_nsec, level, msg);
	json_str(buf, &n, cap, cfg.handle ? cfg.handle : "");
	n += (size_t)snprintf(buf + n, cap - n, ",\"process_dir\":");
	json_str(buf, &n, cap, cfg.dir ? cfg.dir : "");
	if (key && n < cap) {
		n += (size_t)snprintf(buf + n, cap - n, ",\"%s\":", key);
		if (str)
			json_str(buf, &n, cap, str);
		else if (n < cap)
			n += (size_t)snprintf(buf + n, cap - n, "%ld", num);
	}
	if (key2 && n < cap) {
		n += (size_t)snprintf(buf + n, cap - n, ",\"%s\":", key2);
		json_str(buf, &n, cap, str2);
	}
	if (n > cap)
		n = cap;
	buf[n++] = '}';
	buf[n++] = '\n';
	ssize_t w;
	do
		w = write(2, buf, n);
	while (w < 0 && errno == EINTR);
}

static void fail(int status, const char *what) {
	char msg[512];
	snprintf(msg, sizeof(msg), "%s: %s", what, strerror(errno));
	log_line("ERROR", "monitor", "error", msg, 0, NULL, NULL);
	exit(status);
}

/* crash_point is pkg/crash.Point: die by SIGKILL at step if armed. */
static void crash_point(const char *step) {
	const char *at = getenv("GDN_TEST_CRASH_AT");
	if (!at)
		return;
	size_t len = strlen(step);
	for (const char *p = at; *p;) {
		while (*p == ' ' || *p == ',')
			p++;
		const char *end = p;
		while (*end && *end != ',')
			end++;
		const char *last = end;
		while (last > p && last[-1] == ' ')
			last--;
		if ((size_t)(last - p) == len && strncmp(p, step, len) == 0) {
			const char *logp = getenv("GDN_TEST_CRASH_LOG");
			int fd = logp ? open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600) : -1;
			if (fd >= 0) {
				dprintf(fd, "%s\n", step);
				close(fd);
			}
			kill(getpid(), SIGKILL);
			for (;;)
				pause();
		}
		p = end;
	}
}

static int parse_fds(const char *s, int *fds, int n) {
	for (int i = 0; i < n; i++) {
		char *end;
		errno = 0;
		long v = strtol(s, &end, 10);
		if (errno || end == s || v < 0 || v > INT_MAX || *end != (i == n - 1 ? '\0' : ','))
			return -1;
		fds[i] = (int)v;
		s = end + 1;
	}
	return 0;
}

static int parse(int argc, char **argv) {
	int i = 1;
	cfg.pid = 0;
	for (; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];
		if (strcmp(k, "-wait-pid") == 0) {
			char *end;
			long p = strtol(v, &end, 10);
			if (*end || p <= 0 || p > INT_MAX)
				return -1;
			cfg.pid = (pid_t)p;
		} else if (strcmp(k, "-wait-fds") == 0) {
			if (parse_fds(v, cfg.keep, 3) != 0)
				return -1;
		} else if (strcmp(k, "-starter") == 0) {
			cfg.starter = v;
		} else if (strcmp(k, "-runtime-root") == 0) {
			cfg.root = v;
		} else if (strcmp(k, "-pea") == 0) {
			cfg.pea = v;
		} else {
			break;
		}
	}
	if (i + 3 != argc || strcmp(argv[i], "exec") != 0 || cfg.pid == 0 || !cfg.starter || !cfg.root)
		return -1;
	cfg.handle = argv[i + 1];
	cfg.dir = argv[i + 2];
	return 0;
}

/* wait_exit waits for the process without reaping it: the exit code must be
 * on disk before its pid can be reused. 128+signal for a signal's end. */
static int wait_exit(void) {
	siginfo_t info;
	for (;;) {
		memset(&info, 0, sizeof(info));
		if (waitid(P_PID, (id_t)cfg.pid, &info, WEXITED | WNOWAIT) == 0)
			break;
		if (errno != EINTR)
			fail(EXIT_SETUP, "wait for the process");
	}
	if (info.si_code == CLD_KILLED || info.si_code == CLD_DUMPED)
		return 128 + info.si_status;
	return info.si_status;
}

static void reap(pid_t pid) {
	int ws;
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
}

/* write_exit_code is procdir.WriteExitCode: a temporary file beside it,
 * renamed over it (atomic for readers; not fsynced, as the process does not
 * outlive the host either). */
static int write_exit_code(int status) {
	char path[PATH_MAX], tmp[PATH_MAX], num[16];
	if (snprintf(path, sizeof(path), "%s/exitcode", cfg.dir) >= (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s/.exitcode.tmp-XXXXXX", cfg.dir) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -1;
	int len = snprintf(num, sizeof(num), "%d", status);
	if (fchmod(fd, 0600) != 0 || write(fd, num, (size_t)len) != len) {
		int e = errno;
		close(fd);
		unlink(tmp);
		errno = e;
		return -1;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		int e = errno;
		unlink(tmp);
		errno = e;
		return -1;
	}
	return 0;
}

/* cleanup deletes a pea's runtime container once the pea has exited. */
static void cleanup(void) {
	if (!cfg.pea)
		return;
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0) {
		log_line("ERROR", "cleanup", "error", strerror(errno), 0, NULL, NULL);
		return;
	}
	pid_t c = fork();
	if (c < 0) {
		log_line("ERROR", "cleanup", "error", strerror(errno), 0, NULL, NULL);
		close(p[0]);
		close(p[1]);
		return;
	}
	if (c == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		execlp(cfg.starter, cfg.starter, "--runtime-root", cfg.root, "delete", cfg.pea, (char *)NULL);
		dprintf(2, "exec %s: %s", cfg.starter, strerror(errno));
		_exit(127);
	}
	close(p[1]);
	char out[2048];
	size_t n = 0;
	for (;;) {
		char chunk[512];
		ssize_t r = read(p[0], chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		for (ssize_t i = 0; i < r && n < sizeof(out) - 1; i++)
			out[n++] = chunk[i];
	}
	out[n] = '\0';
	close(p[0]);
	int ws;
	while (waitpid(c, &ws, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
		char why[64];
		if (WIFEXITED(ws))
			snprintf(why, sizeof(why), "exit status %d", WEXITSTATUS(ws));
		else
			snprintf(why, sizeof(why), "signal: %s", strsignal(WTERMSIG(ws)));
		log_line("ERROR", "cleanup", "error", why, 0, "output", out);
	}
}

/* unread is the number of bytes waiting in the output FIFOs. */
static int unread(void) {
	int total = 0;
	for (int i = 1; i < 3; i++) {
		int n;
		if (ioctl(cfg.keep[i], FIONREAD, &n) == 0)
			total += n;
	}
	return total;
}

int main(int argc, char **argv) {
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("dadoo-wait version %s\n", GDN_VERSION);
		return 0;
	}
	if (parse(argc, argv) != 0) {
		log_line("ERROR", "monitor", "error", "usage: dadoo -wait-pid PID -wait-fds EXIT,STDOUT,STDERR -starter S -runtime-root R [-pea ID] exec HANDLE DIR", 0, NULL, NULL);
		return EXIT_USAGE;
	}
	/* Whatever mask the Go thread that exec'd had, none is wanted here;
	 * and no child of ours (a pea's cleanup) gets the FIFOs. */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int i = 0; i < 3; i++)
		if (fcntl(cfg.keep[i], F_SETFD, FD_CLOEXEC) != 0)
			fail(EXIT_SETUP, "inherited FIFO");

	int status = wait_exit();
	if (write_exit_code(status) != 0)
		log_line("ERROR", "write exit code", "error", strerror(errno), 0, NULL, NULL);
	crash_point("dadoo.exited");
	reap(cfg.pid);
	cleanup();
	close(cfg.keep[0]);
	log_line("INFO", "exited", "status", NULL, status, NULL, NULL);
	struct stat st;
	long wait = linger_poll_min_ns;
	for (int left = unread(); left > 0 && stat(cfg.dir, &st) == 0;) {
		struct timespec ts = {0, wait};
		nanosleep(&ts, NULL);
		int now = unread();
		wait = now < left ? linger_poll_min_ns : (2 * wait < linger_poll_ns ? 2 * wait : linger_poll_ns);
		left = now;
	}
	return status;
}
