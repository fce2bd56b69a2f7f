// SPDX-License-Identifier: GPL-2.0-only
/*
 * Named network namespaces, iproute2-compatible (ip/ipnetns.c is the reference):
 * /run/netns is a shared mount point so that a namespace unbound in one mount namespace
 * is unbound everywhere and can be freed, and each name is an nsfs bind mount on an
 * empty file.
 */
#include "netns.h"
#include "links.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

/* thread-self, not self: setns() and unshare() act on the calling thread. */
#define SELF_NETNS "/proc/thread-self/ns/net"
#define SYSCTL_DIR "/proc/sys/"

/* A mount stacked on a name (`ip netns attach` over ours) needs one umount each; bound it. */
#define NETNS_MAX_STACKED_MOUNTS 8

/* The files berth writes under /etc/netns/NAME; netns_delete removes these and no others. */
static const char *const netns_etc_files[] = { "resolv.conf", "hosts" };

/* The same rules as iproute2: the name becomes one path component. */
static int netns_path(const char *dir, const char *name, char *buf, size_t len)
{
	int n;

	if (!name || !*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..") ||
	    strlen(name) >= NAME_MAX)
		return -EINVAL;
	n = snprintf(buf, len, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

/*
 * Make /run/netns a shared mount point, as `ip netns add` does each time: bind it onto
 * itself first if it is not a mount point yet (MS_SHARED then fails with EINVAL).
 */
static int netns_run_dir_prepare(void)
{
	bool bound = false;

	if (mkdir(NETNS_RUN_DIR, 0755) && errno != EEXIST)
		return -errno;
	while (mount("", NETNS_RUN_DIR, "none", MS_SHARED | MS_REC, NULL)) {
		if (errno != EINVAL || bound)
			return -errno;
		if (mount(NETNS_RUN_DIR, NETNS_RUN_DIR, "none", MS_BIND | MS_REC, NULL))
			return -errno;
		bound = true;
	}
	return 0;
}

/* Brings lo up in the current netns; a new one starts with it down. */
static int netns_loopback_up(void)
{
	struct nl_ctx *ctx;
	int ifindex, err;

	ctx = nl_ctx_open(-1);
	if (!ctx)
		return -errno;
	ifindex = link_ifindex(ctx, "lo");
	if (ifindex < 0) {
		err = ifindex;
		goto close_ctx;
	}
	err = link_set_up(ctx, ifindex);
close_ctx:
	nl_ctx_close(ctx);
	return err;
}

/*
 * Binds a new netns (lo up) on the existing empty file @path. The thread unshares into
 * it and comes back with setns(), so nothing is left running inside (no helper child).
 */
static int netns_bind_new(const char *path)
{
	int saved_fd, err;

	saved_fd = open(SELF_NETNS, O_RDONLY | O_CLOEXEC);
	if (saved_fd < 0)
		return -errno;
	if (unshare(CLONE_NEWNET)) {
		err = -errno;
		goto close_saved;
	}
	if (mount(SELF_NETNS, path, "none", MS_BIND, NULL)) {
		err = -errno;
		goto restore_netns;
	}
	err = netns_loopback_up();
	if (err)
		umount2(path, MNT_DETACH);
restore_netns:
	if (setns(saved_fd, CLONE_NEWNET)) {
		int setns_err = -errno;

		/* Stuck in the new netns: report that, and do not leave it bound either. */
		if (!err)
			umount2(path, MNT_DETACH);
		err = setns_err;
	}
close_saved:
	close(saved_fd);
	return err;
}

int netns_create(const char *name)
{
	char path[PATH_MAX];
	int fd, err;

	err = netns_path(NETNS_RUN_DIR, name, path, sizeof(path));
	if (err)
		return err;
	err = netns_run_dir_prepare();
	if (err)
		return err;

	/* O_EXCL makes the name ours; a concurrent `ip netns add` of it gets EEXIST. */
	fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	close(fd);

	err = netns_bind_new(path);
	if (err)
		goto unlink_file;
	return 0;

unlink_file:
	unlink(path);
	return err;
}

/* Removes what berth wrote under /etc/netns/NAME, and the directory if that empties it. */
/*
 * Temporary files of an atomic write (FILE.tmp.PID) that a killed berth left
 * beside resolv.conf and hosts: they are berth's too.
 */
static int netns_etc_remove_temps(const char *dir)
{
	struct dirent *e;
	DIR *d = opendir(dir);
	int err = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d))) {
		char file[PATH_MAX];
		size_t i;

		for (i = 0; i < sizeof(netns_etc_files) / sizeof(netns_etc_files[0]); i++) {
			size_t n = strlen(netns_etc_files[i]);

			if (!strncmp(e->d_name, netns_etc_files[i], n) &&
			    !strncmp(e->d_name + n, ".tmp.", 5))
				break;
		}
		if (i == sizeof(netns_etc_files) / sizeof(netns_etc_files[0]))
			continue;
		snprintf(file, sizeof(file), "%s/%s", dir, e->d_name);
		if (unlink(file) && errno != ENOENT)
			err = -errno;
	}
	closedir(d);
	return err;
}

static int netns_etc_remove(const char *name)
{
	char dir[PATH_MAX], file[PATH_MAX];
	size_t i;
	int n, err;

	if (netns_path(NETNS_ETC_DIR, name, dir, sizeof(dir)))
		return -EINVAL;
	for (i = 0; i < sizeof(netns_etc_files) / sizeof(netns_etc_files[0]); i++) {
		n = snprintf(file, sizeof(file), "%s/%s", dir, netns_etc_files[i]);
		if (n < 0 || (size_t)n >= sizeof(file))
			return -ENAMETOOLONG;
		if (unlink(file) && errno != ENOENT)
			return -errno;
	}
	err = netns_etc_remove_temps(dir);
	if (err)
		return err;
	if (rmdir(dir) && errno != ENOENT)
		return -errno;
	return 0;
}

/*
 * The netns itself is unbound first, so -ENOTEMPTY (someone else's file in
 * /etc/netns/NAME, left in place) still means the namespace is gone; the caller warns.
 */
int netns_delete(const char *name)
{
	char path[PATH_MAX];
	int i, err;

	err = netns_path(NETNS_RUN_DIR, name, path, sizeof(path));
	if (err)
		return err;

	/* Detach, as ip does: processes still inside keep the netns; the name goes now. */
	for (i = 0; i < NETNS_MAX_STACKED_MOUNTS; i++) {
		if (!umount2(path, MNT_DETACH))
			continue;
		/* EINVAL: not (or no longer) a mount point; ENOENT: no such name */
		if (errno != EINVAL && errno != ENOENT)
			return -errno;
		break;
	}
	if (unlink(path) && errno != ENOENT)
		return -errno;
	return netns_etc_remove(name);
}

int netns_open_path(const char *path)
{
	struct statfs sfs;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstatfs(fd, &sfs)) {
		err = -errno;
		goto close_fd;
	}
	/* A plain file (a crash between create and bind) would make setns() fail later. */
	if (sfs.f_type != NSFS_MAGIC) {
		err = -ENOENT;
		goto close_fd;
	}
	return fd;

close_fd:
	close(fd);
	return err;
}

int netns_open(const char *name)
{
	char path[PATH_MAX];
	int err;

	err = netns_path(NETNS_RUN_DIR, name, path, sizeof(path));
	if (err)
		return err;
	return netns_open_path(path);
}

bool netns_exists(const char *name)
{
	char path[PATH_MAX];
	struct statfs sfs;

	if (netns_path(NETNS_RUN_DIR, name, path, sizeof(path)))
		return false;
	/* statfs() of a mount point reports the mounted filesystem: nsfs if bound */
	return !statfs(path, &sfs) && sfs.f_type == NSFS_MAGIC;
}

int netns_enter(int fd, int *saved_fd)
{
	int saved, err;

	saved = open(SELF_NETNS, O_RDONLY | O_CLOEXEC);
	if (saved < 0)
		return -errno;
	if (setns(fd, CLONE_NEWNET)) {
		err = -errno;
		goto close_saved;
	}
	*saved_fd = saved;
	return 0;

close_saved:
	close(saved);
	return err;
}

int netns_leave(int saved_fd)
{
	int err = 0;

	if (setns(saved_fd, CLONE_NEWNET))
		err = -errno;
	close(saved_fd);
	return err;
}

/*
 * /proc/sys/net resolves against the netns of the task opening the file (not the one
 * that mounted /proc), so entering the netns first is all it takes.
 */
int sysctl_write(const char *key, const char *value)
{
	char path[PATH_MAX];
	size_t len = strlen(value);
	ssize_t n;
	int fd, err;

	if (key[0] == '/') {
		if (strncmp(key, SYSCTL_DIR, strlen(SYSCTL_DIR)))
			return -EINVAL;
		n = snprintf(path, sizeof(path), "%s", key);
	} else {
		n = snprintf(path, sizeof(path), SYSCTL_DIR "%s", key);
	}
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, value, len);
	if (n < 0) {
		err = -errno;
		goto close_fd;
	}
	/* proc_dostring and friends take the whole value in one write or refuse it */
	err = (size_t)n == len ? 0 : -EIO;
close_fd:
	close(fd);
	return err;
}
