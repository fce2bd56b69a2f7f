/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Processes inside endpoints: `x-berth: run` servers started detached in their own
 * cgroup v2 directory (so `down` ends every descendant with one cgroup.kill), and
 * `berth exec` commands run in the foreground. Both see the endpoint the way
 * `ip netns exec` shows it: its network namespace, plus a private mount namespace in
 * which each /etc/netns/NAME/FILE is bind-mounted over /etc/FILE. /sys is NOT
 * remounted, so pinned BPF objects under /sys/fs/bpf stay visible.
 *
 * The caller's own namespaces and cgroup never change: all of that happens in children.
 */
#ifndef BERTH_PROC_H
#define BERTH_PROC_H

#include <sys/types.h>

/* proc_exec() results that are not the command's own, as `docker exec` reports them. */
#define PROC_EXIT_FAILED      125 /* berth failed before exec: netns missing, setns, ... */
#define PROC_EXIT_CANNOT_EXEC 126 /* found but not executable (EACCES, ENOEXEC, ...) */
#define PROC_EXIT_NOT_FOUND   127 /* execvp() said ENOENT */

/*
 * The cgroup2 mount point from /proc/mounts (/sys/fs/cgroup/unified in a hybrid
 * layout, /sys/fs/cgroup on a unified one), cached after the first success; NULL with
 * errno set (ENOENT: no cgroup2 mounted) on failure, which is looked up again next time.
 */
const char *cgroup2_root(void);

/*
 * Starts `/bin/sh -c CMD` detached: a new session, stdin /dev/null, stdout and stderr
 * appended to @log_path (created 0640, parent directories 0755 as needed), inside
 * /run/netns/@netns with the /etc/netns bind mounts, in the NEW cgroup @cgroup_dir (an
 * absolute path below cgroup2_root(); missing parents are created; -EEXIST if it exists:
 * end the old one with proc_kill_cgroup() first). It joins the cgroup before exec, so
 * every descendant is in it too.
 *
 * Returns once /bin/sh has been exec'ed, with its pid in *@pid; the process is not our
 * child (it is reparented to init or the nearest subreaper) and outlives the caller.
 * On failure returns -errno with no process and no cgroup left (directories it created
 * are removed again) and appends one "berth: spawn: STEP: REASON" line to the log.
 */
int proc_spawn(const char *cgroup_dir, const char *netns, const char *cmd, const char *log_path,
	       pid_t *pid);

/*
 * Ends every process in @cgroup_dir and its descendant cgroups (cgroup.kill, or SIGKILL
 * pid by pid on kernels before 5.14), waits up to @timeout_ms for them to exit and
 * removes the directories, deepest first. 0 if @cgroup_dir does not exist; -ETIMEDOUT
 * if processes remain; -EINVAL for a path that is not strictly below cgroup2_root().
 */
int proc_kill_cgroup(const char *cgroup_dir, int timeout_ms);

/*
 * Runs @argv (PATH is searched) in the foreground inside @netns (NULL: the current
 * namespaces, no bind mounts), stdio inherited, and waits for it. SIGINT and SIGTERM
 * sent to the caller are forwarded to it. Returns what `docker exec` would: the exit
 * code, 128+N if killed by signal N, 127 if the command is not found, 126 if it cannot
 * be executed, 125 if berth failed before exec. For 125, 126 and 127 it prints one line
 * saying why on stderr ("berth: exec: namespace foo: No such file or directory").
 */
int proc_exec(const char *netns, char *const argv[]);

/*
 * Pids in @cgroup_dir and its descendant cgroups. Fills at most @max entries of @pids
 * and returns how many there are (more than @max means the list was cut), or -errno
 * (-ENOENT if the cgroup does not exist).
 */
int proc_cgroup_pids(const char *cgroup_dir, pid_t *pids, int max);

#endif
