// SPDX-License-Identifier: GPL-2.0-only
/*
 * Running commands inside endpoints; see proc.h.
 *
 * Between fork() and exec() the children only make async-signal-safe calls on data the
 * parent prepared (paths, argv, bind list), so this stays correct if the agent ever
 * grows threads. They report the step that failed and its errno through an O_CLOEXEC
 * pipe: end-of-file without a report means exec succeeded.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mntent.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "netns.h"
#include "proc.h"

/* How long a failed spawn waits for its half-started process to go away. */
#define PROC_UNDO_TIMEOUT_MS 2000
#define PROC_POLL_MS	     10

/* ---- cgroup2 mount point ---- */

static pthread_mutex_t cg2_lock = PTHREAD_MUTEX_INITIALIZER;
static char cg2_root[PATH_MAX];

/* Only a success is cached: cgroup2 may be mounted after a first failed look. */
static int cg2_lookup(void)
{
	struct mntent ent, *m;
	char buf[4096];
	int err = -ENOENT;
	FILE *f;

	f = setmntent("/proc/mounts", "re");
	if (!f)
		return -errno;
	/* getmntent_r() undoes the octal escapes (\040) that /proc/mounts puts in paths. */
	while ((m = getmntent_r(f, &ent, buf, sizeof(buf)))) {
		if (strcmp(m->mnt_type, "cgroup2") || strlen(m->mnt_dir) >= sizeof(cg2_root))
			continue;
		strcpy(cg2_root, m->mnt_dir);
		err = 0;
		break;
	}
	endmntent(f);
	return err;
}

const char *cgroup2_root(void)
{
	int err = 0;

	pthread_mutex_lock(&cg2_lock);
	if (!cg2_root[0])
		err = cg2_lookup();
	pthread_mutex_unlock(&cg2_lock);
	if (err) {
		errno = -err;
		return NULL;
	}
	return cg2_root;
}

/*
 * @dir must be strictly below the cgroup2 root, with no empty, "." or ".." component:
 * the kill path writes to cgroup.kill or signals every pid it lists, and must never be
 * pointed at the root (the whole machine) or climb out of the hierarchy.
 */
static int cg_check_path(const char *dir, size_t *root_len)
{
	const char *root = cgroup2_root(), *p, *c, *e;
	size_t len, n;

	if (!root)
		return -errno;
	if (!dir)
		return -EINVAL;
	len = strlen(root);
	if (len == 1) /* cgroup2 mounted on "/": every component follows a '/' */
		len = 0;
	if (strncmp(dir, root, len) || dir[len] != '/')
		return -EINVAL;
	for (p = dir + len; *p == '/'; p = e) {
		c = p + 1;
		e = strchrnul(c, '/');
		n = (size_t)(e - c);
		if (!n || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return -EINVAL;
	}
	if (strlen(dir) >= PATH_MAX - sizeof("/cgroup.procs"))
		return -ENAMETOOLONG;
	*root_len = len;
	return 0;
}

/* ---- directories ---- */

/*
 * Creates the missing parents of @path (not @path itself), leaving its first @skip bytes
 * alone. *first_created gets the length of the shallowest directory made (0: none), even
 * on failure, so that the caller can take them back with rmdir_parents().
 */
static int mkdir_parents(const char *path, size_t skip, mode_t mode, size_t *first_created)
{
	char buf[PATH_MAX];
	size_t len = strlen(path), i;

	if (first_created)
		*first_created = 0;
	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (i = skip + 1; i < len; i++) {
		if (buf[i] != '/')
			continue;
		buf[i] = '\0';
		if (!mkdir(buf, mode)) {
			if (first_created && !*first_created)
				*first_created = i;
		} else if (errno != EEXIST) {
			return -errno;
		}
		buf[i] = '/';
	}
	return 0;
}

/* Removes the parents of @path, deepest first, up to the one @first_created long. */
static void rmdir_parents(const char *path, size_t first_created)
{
	char buf[PATH_MAX], *slash;

	if (!first_created || strlen(path) >= sizeof(buf))
		return;
	strcpy(buf, path);
	while ((slash = strrchr(buf, '/')) && (size_t)(slash - buf) >= first_created) {
		*slash = '\0';
		/* Stop at one somebody else has put something in since. */
		if (rmdir(buf) && errno != ENOENT)
			break;
	}
}

/* Appending, created 0640 whatever the umask: a service's log is not for everyone. */
static int log_open(const char *path)
{
	int fd, err;

	err = mkdir_parents(path, 0, 0755, NULL);
	if (err)
		return err;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0640);
	if (fd >= 0) {
		if (fchmod(fd, 0640)) {
			err = -errno;
			close(fd);
			return err;
		}
		return fd;
	}
	if (errno != EEXIST)
		return -errno;
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY);
	return fd < 0 ? -errno : fd;
}

/* ---- entering an endpoint ---- */

struct ns_bind {
	char src[PATH_MAX]; /* /etc/netns/NAME/FILE */
	char dst[PATH_MAX]; /* /etc/FILE */
};

/* What a child needs to enter an endpoint, prepared before fork(). */
struct ns_plan {
	const char *name;    /* NULL: stay in the current namespaces */
	char path[PATH_MAX]; /* /run/netns/NAME */
	struct ns_bind *binds;
	size_t n;
};

static bool netns_name_ok(const char *name)
{
	size_t len = strlen(name);

	return len && len < NAME_MAX && !strchr(name, '/') && strcmp(name, ".") &&
	       strcmp(name, "..");
}

static void ns_plan_free(struct ns_plan *plan)
{
	free(plan->binds);
	plan->binds = NULL;
	plan->n = 0;
}

/* Every entry of /etc/netns/NAME, as `ip netns exec` binds them; none if it is absent. */
static int ns_plan_init(struct ns_plan *plan, const char *name)
{
	struct ns_bind *binds, *b;
	char etc[sizeof(NETNS_ETC_DIR) + NAME_MAX];
	struct dirent *de;
	int err = 0;
	DIR *dir;

	memset(plan, 0, sizeof(*plan));
	if (!name)
		return 0;
	if (!netns_name_ok(name))
		return -EINVAL;
	plan->name = name;
	snprintf(plan->path, sizeof(plan->path), NETNS_RUN_DIR "/%s", name);
	snprintf(etc, sizeof(etc), NETNS_ETC_DIR "/%s", name);
	dir = opendir(etc);
	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	while ((errno = 0, de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		binds = realloc(plan->binds, (plan->n + 1) * sizeof(*binds));
		if (!binds) {
			err = -ENOMEM;
			goto out_free;
		}
		plan->binds = binds;
		b = &binds[plan->n++];
		snprintf(b->src, sizeof(b->src), "%s/%s", etc, de->d_name);
		snprintf(b->dst, sizeof(b->dst), "/etc/%s", de->d_name);
	}
	if (errno) {
		err = -errno;
		goto out_free;
	}
	closedir(dir);
	return 0;

out_free:
	ns_plan_free(plan);
	closedir(dir);
	return err;
}

/* Where a child failed; the parent turns it into words. */
enum proc_step {
	STEP_NONE, /* no failure: the message carries the grandchild's pid */
	STEP_PIPE,
	STEP_MKDIR,
	STEP_FORK,
	STEP_CGROUP,
	STEP_NETNS,
	STEP_SETNS,
	STEP_UNSHARE,
	STEP_SLAVE,
	STEP_BIND,
	STEP_STDIO,
	STEP_SETSID,
	STEP_EXEC,
};

/* Well below PIPE_BUF, so each report arrives whole. */
struct proc_msg {
	int step;  /* enum proc_step */
	int index; /* which bind, for STEP_BIND */
	int err;   /* positive errno */
	pid_t pid;
};

static void child_report(int fd, int step, int index, int err, pid_t pid)
{
	struct proc_msg m = {.step = step, .index = index, .err = err, .pid = pid};
	ssize_t n;

	do
		n = write(fd, &m, sizeof(m));
	while (n < 0 && errno == EINTR);
}

__attribute__((noreturn)) static void child_fail(int fd, int step, int index, int err, int status)
{
	child_report(fd, step, index, err, 0);
	_exit(status);
}

/*
 * In a child: the endpoint's netns, then what `ip netns exec` does (minus its /sys
 * remount, which would hide /sys/fs/bpf): a private mount namespace that sees host
 * mounts but does not leak its own, with each /etc/netns/NAME/FILE over /etc/FILE.
 * A bind that fails is an error, not a warning as in ip: berth writes these files, and a
 * command seeing the host's resolv.conf or hosts would fail later in a confusing way.
 */
static int ns_enter(const struct ns_plan *plan, int *step, int *index)
{
	int fd, err;
	size_t i;

	if (!plan->name)
		return 0;
	*step = STEP_NETNS;
	fd = open(plan->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	*step = STEP_SETNS;
	err = setns(fd, CLONE_NEWNET) ? -errno : 0;
	close(fd);
	if (err)
		return err;
	*step = STEP_UNSHARE;
	if (unshare(CLONE_NEWNS))
		return -errno;
	*step = STEP_SLAVE;
	if (mount("", "/", NULL, MS_SLAVE | MS_REC, NULL))
		return -errno;
	*step = STEP_BIND;
	for (i = 0; i < plan->n; i++) {
		*index = (int)i;
		if (mount(plan->binds[i].src, plan->binds[i].dst, NULL, MS_BIND, NULL))
			return -errno;
	}
	return 0;
}

/* The agent's descriptors (maps, netns fds, sockets) must not live on in what it runs. */
static void fds_cloexec_from(unsigned int first)
{
#ifdef CLOSE_RANGE_CLOEXEC
	close_range(first, ~0U, CLOSE_RANGE_CLOEXEC);
#else
	(void)first;
#endif
}

static void step_describe(char *buf, size_t size, const struct proc_msg *m,
			  const struct ns_plan *plan, const char *cgroup, const char *exe)
{
	const struct ns_bind *b;

	switch (m->step) {
	case STEP_PIPE:
		snprintf(buf, size, "pipe");
		break;
	case STEP_MKDIR:
		snprintf(buf, size, "create cgroup %s", cgroup);
		break;
	case STEP_FORK:
		snprintf(buf, size, "fork");
		break;
	case STEP_CGROUP:
		snprintf(buf, size, "join cgroup %s", cgroup);
		break;
	case STEP_NETNS:
		snprintf(buf, size, "namespace %s", plan->name);
		break;
	case STEP_SETNS:
		snprintf(buf, size, "setns %s", plan->path);
		break;
	case STEP_UNSHARE:
		snprintf(buf, size, "unshare mount namespace");
		break;
	case STEP_SLAVE:
		snprintf(buf, size, "make / a slave mount");
		break;
	case STEP_BIND:
		if (m->index < 0 || (size_t)m->index >= plan->n) {
			snprintf(buf, size, "bind /etc/netns/%s", plan->name);
			break;
		}
		b = &plan->binds[m->index];
		snprintf(buf, size, "bind %s over %s", b->src, b->dst);
		break;
	case STEP_STDIO:
		snprintf(buf, size, "redirect stdio");
		break;
	case STEP_SETSID:
		snprintf(buf, size, "setsid");
		break;
	case STEP_EXEC:
		snprintf(buf, size, "%s", exe);
		break;
	default:
		snprintf(buf, size, "child exited without a report");
		break;
	}
}

/* ---- proc_spawn ---- */

struct spawn_ctx {
	const struct ns_plan *plan;
	char *const *argv;
	char procs[PATH_MAX]; /* CGROUP_DIR/cgroup.procs */
	int status_fd;
	int null_fd;
	int log_fd;
};

/* Lifted above 2 first: with stdio closed in the agent they could be 0..2 themselves. */
static int stdio_redirect(int in_fd, int out_fd)
{
	in_fd = fcntl(in_fd, F_DUPFD_CLOEXEC, 3);
	if (in_fd < 0)
		return -errno;
	out_fd = fcntl(out_fd, F_DUPFD_CLOEXEC, 3);
	if (out_fd < 0)
		return -errno;
	if (dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0 || dup2(in_fd, 0) < 0)
		return -errno;
	return 0;
}

static void signals_reset(void)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	sigset_t none;
	int sig;

	/* A server must not inherit the agent's ignored SIGPIPE or its blocked signals. */
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL); /* glibc's internal ones fail: fine */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/*
 * The intermediate child. It joins the cgroup before anything else, so that the real
 * process is born in it and whatever fails from here on leaves only processes that
 * cgroup holds; it then forks that process and exits, which hands it to init.
 */
__attribute__((noreturn)) static void spawn_child(struct spawn_ctx *c)
{
	int fd, err, step = STEP_NONE, index = 0;
	pid_t pid;

	signals_reset();
	fd = fcntl(c->status_fd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		child_fail(c->status_fd, STEP_STDIO, 0, errno, 1);
	c->status_fd = fd;

	/* "0" moves the writer itself: no pid to format in a forked child. */
	fd = open(c->procs, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "0", 1) != 1)
		child_fail(c->status_fd, STEP_CGROUP, 0, errno, 1);
	close(fd);

	err = ns_enter(c->plan, &step, &index);
	if (err)
		child_fail(c->status_fd, step, index, -err, 1);
	err = stdio_redirect(c->null_fd, c->log_fd);
	if (err)
		child_fail(c->status_fd, STEP_STDIO, 0, -err, 1);
	fds_cloexec_from(3);

	pid = fork();
	if (pid < 0)
		child_fail(c->status_fd, STEP_FORK, 0, errno, 1);
	if (pid > 0) {
		child_report(c->status_fd, STEP_NONE, 0, 0, pid);
		_exit(0);
	}
	/* A session of its own: no terminal, no SIGHUP or SIGINT meant for the agent. */
	if (setsid() < 0)
		child_fail(c->status_fd, STEP_SETSID, 0, errno, 127);
	execv("/bin/sh", c->argv);
	child_fail(c->status_fd, STEP_EXEC, 0, errno, 127);
}

/*
 * Reads reports until the pipe closes, which happens once the intermediate child has
 * exited and the grandchild has exec'ed or died; then reaps the intermediate child.
 */
static int spawn_collect(int fd, pid_t child, pid_t *pid, struct proc_msg *fail)
{
	struct proc_msg m;
	pid_t grandchild = 0;
	int err = 0, status;
	ssize_t n;

	for (;;) {
		n = read(fd, &m, sizeof(m));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (n != sizeof(m)) /* cannot happen below PIPE_BUF */
			continue;
		if (m.step == STEP_NONE) {
			grandchild = m.pid;
			continue;
		}
		if (!err) {
			*fail = m;
			err = m.err > 0 ? -m.err : -EIO;
		}
	}
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	if (!err && grandchild <= 0) {
		fail->step = STEP_NONE;
		fail->err = EIO;
		err = -EIO;
	}
	if (!err)
		*pid = grandchild;
	return err;
}

int proc_spawn(const char *cgroup_dir, const char *netns, const char *cmd, const char *log_path,
	       pid_t *pid)
{
	char *argv[] = {"sh", "-c", (char *)cmd, NULL};
	struct proc_msg fail = {.step = STEP_NONE};
	struct spawn_ctx c = {.argv = argv};
	size_t root_len, first_created = 0;
	int pfd[2] = {-1, -1}, err;
	struct ns_plan plan;
	char desc[2 * PATH_MAX + 32];
	pid_t child;

	if (!netns || !cmd || !log_path || !pid)
		return -EINVAL;
	err = cg_check_path(cgroup_dir, &root_len);
	if (err)
		return err;
	snprintf(c.procs, sizeof(c.procs), "%s/cgroup.procs", cgroup_dir);
	err = ns_plan_init(&plan, netns);
	if (err)
		return err;
	c.plan = &plan;

	c.log_fd = log_open(log_path);
	if (c.log_fd < 0) {
		err = c.log_fd;
		goto out_plan;
	}
	c.null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (c.null_fd < 0) {
		err = -errno;
		fail.step = STEP_STDIO;
		goto out_log;
	}
	if (pipe2(pfd, O_CLOEXEC)) {
		err = -errno;
		fail.step = STEP_PIPE;
		goto out_null;
	}
	c.status_fd = pfd[1];

	fail.step = STEP_MKDIR;
	err = mkdir_parents(cgroup_dir, root_len, 0755, &first_created);
	if (err)
		goto out_parents;
	/* A new directory, never a reused one: kill must end exactly this command's tree. */
	if (mkdir(cgroup_dir, 0755)) {
		err = -errno;
		goto out_parents;
	}

	child = fork();
	if (child < 0) {
		err = -errno;
		fail.step = STEP_FORK;
		goto out_cgroup;
	}
	if (!child)
		spawn_child(&c);
	close(pfd[1]);
	pfd[1] = -1;
	err = spawn_collect(pfd[0], child, pid, &fail);
	if (!err)
		goto out_pipe;

out_cgroup:
	proc_kill_cgroup(cgroup_dir, PROC_UNDO_TIMEOUT_MS);
out_parents:
	rmdir_parents(cgroup_dir, first_created);
out_pipe:
	close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
out_null:
	close(c.null_fd);
out_log:
	if (err) {
		fail.err = -err;
		step_describe(desc, sizeof(desc), &fail, &plan, cgroup_dir, "/bin/sh");
		dprintf(c.log_fd, "berth: spawn: %s: %s\n", desc, strerror(-err));
	}
	close(c.log_fd);
out_plan:
	ns_plan_free(&plan);
	return err;
}

/* ---- proc_kill_cgroup, proc_cgroup_pids ---- */

typedef void (*cg_pid_fn)(pid_t pid, void *ctx);

static int cg_procs_foreach(int dfd, cg_pid_fn fn, void *ctx)
{
	long pid;
	FILE *f;
	int fd;

	fd = openat(dfd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	while (fscanf(f, "%ld", &pid) == 1)
		fn((pid_t)pid, ctx);
	fclose(f);
	return 0;
}

static bool cg_is_child(int dfd, const struct dirent *de)
{
	struct stat st;

	if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
		return false;
	if (de->d_type != DT_UNKNOWN)
		return de->d_type == DT_DIR;
	return !fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) && S_ISDIR(st.st_mode);
}

/*
 * Visits the cgroup @name below @parentfd and every cgroup under it: @fn (if any) on
 * each pid, parents first; with @remove, rmdir()s each one after its children, the only
 * order cgroupfs accepts. Keeps going past an error so that one busy branch does not
 * spare the others, and returns the first one.
 */
static int cg_walk(int parentfd, const char *name, cg_pid_fn fn, void *ctx, bool remove)
{
	int dfd, err = 0, ret;
	struct dirent *de;
	DIR *dir;

	dfd = openat(parentfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	if (fn)
		err = cg_procs_foreach(dfd, fn, ctx);
	dir = fdopendir(dfd);
	if (!dir) {
		close(dfd);
		return err ? err : -ENOMEM;
	}
	while ((de = readdir(dir))) {
		if (!cg_is_child(dirfd(dir), de))
			continue;
		ret = cg_walk(dirfd(dir), de->d_name, fn, ctx, remove);
		/* A child cgroup that went away meanwhile is what we wanted anyway. */
		if (ret && ret != -ENOENT && !err)
			err = ret;
	}
	closedir(dir);
	if (remove && !err && unlinkat(parentfd, name, AT_REMOVEDIR))
		err = -errno;
	return err;
}

static void pid_kill(pid_t pid, void *ctx)
{
	(void)ctx;
	kill(pid, SIGKILL);
}

struct pid_list {
	pid_t *pids;
	int max;
	int n;
};

static void pid_collect(pid_t pid, void *ctx)
{
	struct pid_list *l = ctx;

	if (l->n < l->max)
		l->pids[l->n] = pid;
	l->n++;
}

static int cg_write(const char *dir, const char *file, const char *val)
{
	size_t len = strlen(val);
	char path[PATH_MAX];
	int fd, err = 0;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, len);
	if (n < 0)
		err = -errno;
	else if ((size_t)n != len)
		err = -EIO;
	close(fd);
	return err;
}

/* 1 while a process is left in @dir or below it, 0 once none is (or @dir is gone). */
static int cg_populated(const char *dir)
{
	struct pid_list count = {0};
	char path[PATH_MAX], line[64];
	int populated = -1, err;
	FILE *f;

	/* "populated" covers the descendants too (since 4.5). */
	snprintf(path, sizeof(path), "%s/cgroup.events", dir);
	f = fopen(path, "re");
	if (f) {
		while (populated < 0 && fgets(line, sizeof(line), f))
			if (sscanf(line, "populated %d", &populated) != 1)
				populated = -1;
		fclose(f);
		if (populated >= 0)
			return !!populated;
	}
	err = cg_walk(AT_FDCWD, dir, pid_collect, &count, false);
	if (err == -ENOENT)
		return 0;
	return err ? err : count.n > 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

int proc_kill_cgroup(const char *cgroup_dir, int timeout_ms)
{
	struct timespec poll = {.tv_nsec = PROC_POLL_MS * 1000000L};
	long long deadline;
	int err, populated;
	size_t root_len;
	bool use_kill;
	struct stat st;

	err = cg_check_path(cgroup_dir, &root_len);
	if (err)
		return err;
	if (stat(cgroup_dir, &st))
		return errno == ENOENT ? 0 : -errno;
	deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);

	/*
	 * cgroup.kill (5.14) ends the whole subtree at once and stops forks racing with it.
	 * Without it, freeze first (5.2) so that nothing forks between reading cgroup.procs
	 * and kill(): SIGKILL still ends a frozen task. Older kernels just get more rounds.
	 */
	use_kill = !cg_write(cgroup_dir, "cgroup.kill", "1");
	if (!use_kill)
		(void)cg_write(cgroup_dir, "cgroup.freeze", "1");
	for (;;) {
		if (!use_kill)
			(void)cg_walk(AT_FDCWD, cgroup_dir, pid_kill, NULL, /* remove */ false);
		populated = cg_populated(cgroup_dir);
		if (populated < 0)
			return populated;
		if (!populated) {
			err = cg_walk(AT_FDCWD, cgroup_dir, NULL, NULL, /* remove */ true);
			if (!err || err == -ENOENT)
				return 0;
			/* A cgroup can stay busy a moment after its last task has gone. */
			if (err != -EBUSY)
				return err;
		}
		if (now_ms() >= deadline)
			return populated ? -ETIMEDOUT : err;
		nanosleep(&poll, NULL);
	}
}

int proc_cgroup_pids(const char *cgroup_dir, pid_t *pids, int max)
{
	struct pid_list l = {.pids = pids, .max = pids && max > 0 ? max : 0};
	size_t root_len;
	int err;

	err = cg_check_path(cgroup_dir, &root_len);
	if (err)
		return err;
	err = cg_walk(AT_FDCWD, cgroup_dir, pid_collect, &l, /* remove */ false);
	return err ? err : l.n;
}

/* ---- proc_exec ---- */

static const int exec_fwd_sigs[] = {SIGINT, SIGTERM};
#define EXEC_NFWD (int)(sizeof(exec_fwd_sigs) / sizeof(exec_fwd_sigs[0]))

static volatile sig_atomic_t exec_child;

static void exec_forward(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;

	(void)uc;
	/*
	 * A key press on the terminal (SI_KERNEL) has already reached the child, which is in
	 * our foreground process group; forwarding it as well would deliver it twice.
	 */
	if (si->si_code != SI_KERNEL && exec_child > 0)
		kill(exec_child, sig);
	errno = saved;
}

__attribute__((noreturn)) static void exec_child_run(const struct ns_plan *plan, char *const argv[],
						     int status_fd, const struct sigaction old[],
						     const sigset_t *oldmask)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL}, ign = {.sa_handler = SIG_IGN};
	int err, i, step = STEP_NONE, index = 0;

	/* The caller's dispositions, not our forwarder: a background job's SIGINT stays ignored. */
	for (i = 0; i < EXEC_NFWD; i++)
		sigaction(exec_fwd_sigs[i], old[i].sa_handler == SIG_IGN ? &ign : &dfl, NULL);
	sigprocmask(SIG_SETMASK, oldmask, NULL);

	err = ns_enter(plan, &step, &index);
	if (err)
		child_fail(status_fd, step, index, -err, PROC_EXIT_FAILED);
	fds_cloexec_from(3);
	/* Not on the async-signal-safe list, but glibc's searches PATH without malloc(). */
	execvp(argv[0], argv);
	err = errno;
	child_fail(status_fd, STEP_EXEC, 0, err,
		   err == ENOENT ? PROC_EXIT_NOT_FOUND : PROC_EXIT_CANNOT_EXEC);
}

int proc_exec(const char *netns, char *const argv[])
{
	struct sigaction fwd = {.sa_sigaction = exec_forward, .sa_flags = SA_SIGINFO | SA_RESTART};
	struct proc_msg m = {.step = STEP_NONE};
	struct sigaction old[EXEC_NFWD];
	int pfd[2], status, i, ret;
	char desc[2 * PATH_MAX + 32];
	sigset_t block, oldmask;
	struct ns_plan plan;
	pid_t child;
	ssize_t n;

	if (!argv || !argv[0]) {
		fprintf(stderr, "berth: exec: no command\n");
		return PROC_EXIT_FAILED;
	}
	ret = ns_plan_init(&plan, netns);
	if (ret) {
		fprintf(stderr, "berth: exec: namespace %s: %s\n", netns, strerror(-ret));
		return PROC_EXIT_FAILED;
	}
	ret = PROC_EXIT_FAILED;
	if (pipe2(pfd, O_CLOEXEC)) {
		fprintf(stderr, "berth: exec: pipe: %s\n", strerror(errno));
		goto out_plan;
	}

	/* Blocked across fork() so that a signal cannot reach the forwarder before the pid. */
	sigemptyset(&block);
	for (i = 0; i < EXEC_NFWD; i++)
		sigaddset(&block, exec_fwd_sigs[i]);
	sigprocmask(SIG_BLOCK, &block, &oldmask);
	for (i = 0; i < EXEC_NFWD; i++)
		sigaction(exec_fwd_sigs[i], &fwd, &old[i]);

	child = fork();
	if (child < 0) {
		fprintf(stderr, "berth: exec: fork: %s\n", strerror(errno));
		goto out_signals;
	}
	if (!child)
		exec_child_run(&plan, argv, pfd[1], old, &oldmask);
	exec_child = child;
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
	close(pfd[1]);
	pfd[1] = -1;

	do
		n = read(pfd[0], &m, sizeof(m));
	while (n < 0 && errno == EINTR);
	while (waitpid(child, &status, 0) < 0) {
		if (errno == EINTR)
			continue;
		fprintf(stderr, "berth: exec: wait: %s\n", strerror(errno));
		goto out_child;
	}

	if (n == sizeof(m) && m.step != STEP_NONE) {
		step_describe(desc, sizeof(desc), &m, &plan, NULL, argv[0]);
		fprintf(stderr, "berth: exec: %s: %s\n", desc, strerror(m.err));
		if (m.step != STEP_EXEC)
			ret = PROC_EXIT_FAILED;
		else
			ret = m.err == ENOENT ? PROC_EXIT_NOT_FOUND : PROC_EXIT_CANNOT_EXEC;
	} else if (WIFEXITED(status)) {
		ret = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		ret = 128 + WTERMSIG(status);
	}

out_child:
	exec_child = 0;
out_signals:
	for (i = 0; i < EXEC_NFWD; i++)
		sigaction(exec_fwd_sigs[i], &old[i], NULL);
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
	close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
out_plan:
	ns_plan_free(&plan);
	return ret;
}
