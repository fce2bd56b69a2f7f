// SPDX-License-Identifier: GPL-2.0-only
/*
 * Driver for proc_smoke.sh: one user/agent/proc.h call per run, so that the script can
 * look at what each leaves behind. Built by hand, not by the Makefile:
 *
 *   gcc -Iuser/agent user/agent/proc.c tests/netns/proc_smoke.c -o /tmp/proc_smoke
 *
 *   proc_smoke root                             the cgroup2 mount point
 *   proc_smoke spawn CGROUP_DIR NETNS LOG CMD   prints the pid
 *   proc_smoke pids CGROUP_DIR                  one pid a line
 *   proc_smoke kill CGROUP_DIR TIMEOUT_MS
 *   proc_smoke exec NETNS|- ARG...              exits with proc_exec()'s result
 *
 * spawn and exec also fail (exit 99) if our own netns or mount namespace changed.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc.h"

#define EXIT_NS_CHANGED 99

static int ns_ids(ino_t ids[2])
{
	const char *files[] = {"/proc/self/ns/net", "/proc/self/ns/mnt"};
	struct stat st;
	int i;

	for (i = 0; i < 2; i++) {
		if (stat(files[i], &st))
			return -errno;
		ids[i] = st.st_ino;
	}
	return 0;
}

static int ns_unchanged(const ino_t before[2])
{
	ino_t after[2];

	if (ns_ids(after) || after[0] != before[0] || after[1] != before[1]) {
		fprintf(stderr, "proc_smoke: our own namespaces changed\n");
		return 0;
	}
	return 1;
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "proc_smoke: %s: %s\n", what, strerror(-err));
	return 1;
}

int main(int argc, char **argv)
{
	const char *root;
	ino_t ns[2];
	pid_t pid, pids[256];
	int err, i;

	if (argc < 2 || ns_ids(ns))
		goto usage;
	if (!strcmp(argv[1], "root") && argc == 2) {
		root = cgroup2_root();
		if (!root)
			return fail("cgroup2_root", -errno);
		printf("%s\n", root);
		return 0;
	}
	if (!strcmp(argv[1], "spawn") && argc == 6) {
		err = proc_spawn(argv[2], argv[3], argv[5], argv[4], &pid);
		if (err)
			return fail("spawn", err);
		printf("%d\n", (int)pid);
		return ns_unchanged(ns) ? 0 : EXIT_NS_CHANGED;
	}
	if (!strcmp(argv[1], "pids") && argc == 3) {
		err = proc_cgroup_pids(argv[2], pids, (int)(sizeof(pids) / sizeof(pids[0])));
		if (err < 0)
			return fail("pids", err);
		for (i = 0; i < err && i < (int)(sizeof(pids) / sizeof(pids[0])); i++)
			printf("%d\n", (int)pids[i]);
		return 0;
	}
	if (!strcmp(argv[1], "kill") && argc == 4) {
		err = proc_kill_cgroup(argv[2], atoi(argv[3]));
		return err ? fail("kill", err) : 0;
	}
	if (!strcmp(argv[1], "exec") && argc >= 4) {
		err = proc_exec(strcmp(argv[2], "-") ? argv[2] : NULL, argv + 3);
		return ns_unchanged(ns) ? err : EXIT_NS_CHANGED;
	}
usage:
	fprintf(stderr, "usage: proc_smoke root | spawn CGDIR NETNS LOG CMD | pids CGDIR |\n"
			"       kill CGDIR TIMEOUT_MS | exec NETNS|- ARG...\n");
	return 2;
}
