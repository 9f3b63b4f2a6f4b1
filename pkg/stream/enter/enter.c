// The joining half of package enter: it runs as a constructor, before the
// Go runtime starts any thread, because a multithreaded process cannot
// join a user namespace. It acts only when the parent set ENV_NAME.
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>

#define ENV_NAME "_GDN_ENTER"
#define MAX_GROUPS 256

// fail reports as every gdn tool does, one error JSON line, and exits.
static void fail(const char *what) {
	int e = errno;
	fprintf(stderr, "{\"error\":{\"type\":\"Internal\",\"message\":\"enter the container: %s: %s\"}}\n", what, strerror(e));
	_exit(1);
}

static long field(char **p, const char *what) {
	char *end;
	errno = 0;
	long v = strtol(*p, &end, 10);
	if (errno != 0 || end == *p || (*end != ':' && *end != ',' && *end != '\0')) {
		errno = EINVAL;
		fail(what);
	}
	*p = *end ? end + 1 : end;
	return v;
}

// The spec: userfd:mntfd:pidfd:uid:gid:caplo:caphi:g1,g2,... (userfd -1
// when the container has no user namespace; caps are the bounding set the
// user keeps if it is root, as two 32-bit halves).
__attribute__((constructor)) static void gdn_enter(void) {
	char *spec = getenv(ENV_NAME);
	if (spec == NULL)
		return;
	char *p = spec;
	int userfd = field(&p, "userfd"), mntfd = field(&p, "mntfd"), pidfd = field(&p, "pidfd");
	uid_t uid = field(&p, "uid");
	gid_t gid = field(&p, "gid");
	uint32_t caplo = field(&p, "caps"), caphi = field(&p, "caps");
	gid_t groups[MAX_GROUPS];
	size_t ngroups = 0;
	while (*p && ngroups < MAX_GROUPS)
		groups[ngroups++] = field(&p, "groups");
	unsetenv(ENV_NAME);

	if (userfd >= 0 && setns(userfd, CLONE_NEWUSER) < 0)
		fail("join user namespace");
	if (setns(mntfd, CLONE_NEWNS) < 0)
		fail("join mount namespace");
	if (setns(pidfd, CLONE_NEWPID) < 0)
		fail("join pid namespace");
	if (userfd >= 0)
		close(userfd);
	close(mntfd);
	close(pidfd);
	if (chdir("/") < 0)
		fail("chdir /");

	// Only children enter the pid namespace, and without being in it the
	// container's /proc has no /proc/self: fork, and wait here as the
	// child's shadow, passing on how it ended.
	pid_t child = fork();
	if (child < 0)
		fail("fork");
	if (child > 0) {
		int status;
		while (waitpid(child, &status, 0) < 0)
			if (errno != EINTR)
				fail("wait");
		if (WIFSIGNALED(status)) {
			signal(WTERMSIG(status), SIG_DFL);
			kill(getpid(), WTERMSIG(status));
		}
		_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
	}

	// Nothing beyond what the container's processes may ever hold.
	for (int c = 0; c < 64; c++) {
		uint32_t bit = c < 32 ? caplo & (1u << c) : caphi & (1u << (c - 32));
		if (!bit && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			fail("drop capability");
	}
	if (setgroups(ngroups, groups) < 0)
		fail("setgroups");
	if (setresgid(gid, gid, gid) < 0)
		fail("setgid");
	if (setresuid(uid, uid, uid) < 0)
		fail("setuid");
	// Host root's uid is not the namespace's root, so the change of uid
	// did not clear capabilities: set them as a process of this user in
	// the container has them, root the bounding set, anyone else none.
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2] = {{0}, {0}};
	if (uid == 0) {
		data[0].effective = data[0].permitted = caplo;
		data[1].effective = data[1].permitted = caphi;
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		fail("capset");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		fail("clear ambient capabilities");
	// The id change made us undumpable, which hides our own /proc files
	// from us; and a dying parent takes us with it.
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		fail("set dumpable");
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		fail("set parent death signal");
	// The parent is outside our pid namespace (getppid is 0); had it
	// died already we would belong to the container's init.
	if (getppid() == 1)
		_exit(1);
}
