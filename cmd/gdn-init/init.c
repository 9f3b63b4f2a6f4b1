/*
 * gdn-init: the sleeping init of every gdn container.
 *
 * It is bind-mounted read-only into the container at /tmp/garden-init and
 * runs as the container's pid 1, so it needs nothing from the rootfs: it is
 * linked statically. It does two things:
 *   - asks the kernel not to keep zombies for its children (SA_NOCLDWAIT),
 *     so processes orphaned inside the container are reaped without a loop;
 *   - sleeps forever. The container ends only when the runtime kills it.
 * As pid 1 of a pid namespace it receives only signals it has handlers for,
 * plus SIGKILL/SIGSTOP from the parent namespace, which is what we want.
 *
 * Run by hand with --version, it prints the version make build stamped in
 * (GDN_VERSION) and exits; as an init it is never given arguments.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef GDN_VERSION
#define GDN_VERSION "unknown"
#endif

int main(int argc, char **argv) {
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("gdn-init version %s\n", GDN_VERSION);
		return 0;
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
