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
 */
#include <signal.h>
#include <string.h>
#include <unistd.h>

int main(void) {
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sa.sa_flags = SA_NOCLDWAIT;
	if (sigaction(SIGCHLD, &sa, NULL) != 0)
		return 1;
	for (;;)
		pause();
}
