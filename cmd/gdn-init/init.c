/*
 * gdn-init: the sleeping init of every gdn container.
 *
 * It is bind-mounted read-only into the container at /tmp/garden-init and
 * runs as the container's pid 1, so it needs nothing from the rootfs: it is
 * linked statically. It does three things:
 *   - given GDN_INIT_SECCOMP=F,FLAGS,A in its environment (gdn-run
 *     create), loads the container's seccomp filter, compiled once by
 *     gdn-run, from fd F into itself before anything else, with
 *     seccomp(2)'s FLAGS as libcontainer would, and writes one byte to fd
 *     A once it is loaded: gdn-run fails the create without that byte
 *     (and a variable it cannot parse is a failure too). It sets
 *     no_new_privs first, which loading a filter without CAP_SYS_ADMIN
 *     needs; it never executes anything, so that changes nothing for it;
 *   - asks the kernel not to keep zombies for its children (SA_NOCLDWAIT),
 *     so processes orphaned inside the container are reaped without a loop;
 *   - sleeps forever. The container ends only when the runtime kills it.
 * As pid 1 of a pid namespace it receives only signals it has handlers for,
 * plus SIGKILL/SIGSTOP from the parent namespace, which is what we want.
 *
 * Run by hand with --version, it prints the version make build stamped in
 * (GDN_VERSION) and exits; as an init it is given no arguments.
 */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef GDN_VERSION
#define GDN_VERSION "unknown"
#endif

/* The kernel's limit on a filter's length. */
static struct sock_filter prog[BPF_MAXINSNS];

/* parse_num parses a decimal in [min, max], or returns -1. */
static long parse_num(const char *s, long min, long max) {
	char *end;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < min || v > max)
		return -1;
	return v;
}

/* load_filter reads the whole filter at offset 0 of fd and loads it. */
static int load_filter(int fd, unsigned long flags) {
	size_t got = 0;
	for (;;) {
		ssize_t n = pread(fd, (char *)prog + got, sizeof(prog) - got, (off_t)got);
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
		if (got == sizeof(prog))
			return -1; /* longer than any filter the kernel takes */
	}
	if (got == 0 || got % sizeof(prog[0]) != 0)
		return -1;
	struct sock_fprog fprog = {.len = (unsigned short)(got / sizeof(prog[0])), .filter = prog};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -1;
	if (flags == 0)
		return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0);
	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &fprog) == 0 ? 0 : -1;
}

int main(int argc, char **argv) {
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("gdn-init version %s\n", GDN_VERSION);
		return 0;
	}
	const char *sc = getenv("GDN_INIT_SECCOMP");
	if (sc != NULL) {
		char buf[64], *save = NULL;
		long v[3];
		int n = 0;
		if (strlen(sc) >= sizeof(buf))
			return 1;
		strcpy(buf, sc);
		for (char *tok = strtok_r(buf, ",", &save); tok != NULL && n < 3; tok = strtok_r(NULL, ",", &save)) {
			v[n] = parse_num(tok, n == 1 ? 0 : 3, 1 << 20);
			n++;
		}
		if (n != 3 || v[0] < 0 || v[1] < 0 || v[2] < 0 || load_filter((int)v[0], (unsigned long)v[1]) != 0)
			return 1;
		close((int)v[0]);
		if (write((int)v[2], "1", 1) != 1)
			return 1;
		close((int)v[2]);
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sa.sa_flags = SA_NOCLDWAIT;
	if (sigaction(SIGCHLD, &sa, NULL) != 0)
		return 1;
	for (;;)
		pause();
}
