// SPDX-License-Identifier: GPL-2.0-only
#include "instance.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "netns.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

#define REGISTRY BERTH_RUN_DIR "/registry.json"
#define REGISTRY_LOCK BERTH_RUN_DIR "/registry.lock"

int mkdir_p(const char *path, unsigned mode)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

int rm_rf(const char *path)
{
	struct dirent *e;
	struct stat st;
	int err = 0;
	DIR *d;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlink(path) ? -errno : 0;
	d = opendir(path);
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		char sub[PATH_MAX];

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		if (!err)
			err = rm_rf(sub);
	}
	closedir(d);
	if (!err && rmdir(path))
		err = -errno;
	return err;
}

int file_write_atomic(const char *path, const char *data, size_t len)
{
	char tmp[PATH_MAX];
	int fd, err = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	while (len) {
		ssize_t w = write(fd, data, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		data += w;
		len -= (size_t)w;
	}
	if (!err && fsync(fd))
		err = -errno;
	close(fd);
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

int bpffs_ensure(void)
{
	struct statfs st;
	int err;

	if (!statfs("/sys/fs/bpf", &st) && st.f_type == BPF_FS_MAGIC)
		return 0;
	err = mkdir_p("/sys/fs/bpf", 0755);
	if (err)
		return err;
	if (mount("bpffs", "/sys/fs/bpf", "bpf", 0, "mode=0700"))
		return -errno;
	return 0;
}

/*
 * Take an exclusive lock on @path (created with its directory as needed).
 * The last command of an instance removes its directory, lock file included,
 * while holding the lock: a command that was waiting then holds a lock on a
 * file nobody else can find. So after the lock is granted, check that the
 * path still names the locked file, and start again if not.
 */
static int lock_path(const char *dir, const char *path)
{
	for (int tries = 0; tries < 100; tries++) {
		struct stat a, b;
		int fd, err;

		err = mkdir_p(dir, 0755);
		if (err)
			return err;
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0)
			return -errno;
		if (flock(fd, LOCK_EX)) {
			err = -errno;
			close(fd);
			return err;
		}
		if (!fstat(fd, &a) && !stat(path, &b) && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			return fd;
		close(fd);
	}
	return -EAGAIN;
}

/* ---- registry ---- */

static int registry_lock(void)
{
	return lock_path(BERTH_RUN_DIR, REGISTRY_LOCK);
}

static struct json_object *registry_read(void)
{
	struct json_object *r = access(REGISTRY, F_OK) ? NULL : json_object_from_file(REGISTRY);

	if (!r || !json_object_is_type(r, json_type_object)) {
		json_object_put(r);
		r = json_object_new_object();
	}
	return r;
}

static int registry_write(struct json_object *r)
{
	const char *s;

	if (!json_object_object_length(r))
		return unlink(REGISTRY) && errno != ENOENT ? -errno : 0;
	s = json_object_to_json_string_ext(r, JSON_C_TO_STRING_PRETTY);
	return file_write_atomic(REGISTRY, s, strlen(s));
}

int registry_lookup(const char *project, char *inst, size_t size)
{
	struct json_object *r = registry_read(), *v;
	int err = -ENOENT;

	if (json_object_object_get_ex(r, project, &v)) {
		snprintf(inst, size, "%s", json_object_get_string(v));
		err = 0;
	}
	json_object_put(r);
	return err;
}

int registry_add(const char *project, const char *inst, char *other, size_t size)
{
	struct json_object *r, *v;
	int fd = registry_lock(), err;

	if (fd < 0)
		return fd;
	r = registry_read();
	if (json_object_object_get_ex(r, project, &v) && strcmp(json_object_get_string(v), inst)) {
		snprintf(other, size, "%s", json_object_get_string(v));
		err = -EEXIST;
	} else {
		json_object_object_add(r, project, json_object_new_string(inst));
		err = registry_write(r);
	}
	json_object_put(r);
	close(fd);
	return err;
}

int registry_remove(const char *project)
{
	struct json_object *r;
	int fd = registry_lock(), err;

	if (fd < 0)
		return fd;
	r = registry_read();
	json_object_object_del(r, project);
	err = registry_write(r);
	json_object_put(r);
	if (!err && access(REGISTRY, F_OK)) {
		/* nothing left on the machine: the top directories go too */
		unlink(REGISTRY_LOCK);
		rmdir(BERTH_RUN_DIR);
		rmdir(BERTH_PIN_DIR);
	}
	close(fd);
	return err;
}

int registry_only_project(const char *inst, char *project, size_t size)
{
	struct json_object *r = registry_read();
	int n = 0;

	json_object_object_foreach(r, k, v) {
		if (inst && strcmp(json_object_get_string(v), inst))
			continue;
		if (!n++)
			snprintf(project, size, "%s", k);
	}
	json_object_put(r);
	return n == 1 ? 0 : n ? -E2BIG : -ENOENT;
}

/* ---- the instance ---- */

int instance_open(struct instance *in, const char *host_netns)
{
	char path[600];
	int err, saved;

	memset(in, 0, sizeof(*in));
	in->lock_fd = -1;
	in->host_netns_fd = -1;
	snprintf(in->name, sizeof(in->name), "%s", host_netns ? host_netns : "host");
	if (host_netns) {
		if (!*host_netns || strchr(host_netns, '/') || !strcmp(host_netns, ".") ||
		    !strcmp(host_netns, "..") || !strcmp(host_netns, "host")) {
			fprintf(stderr, "berth: --host-netns %s: not a usable namespace name\n",
				host_netns);
			return -EINVAL;
		}
		in->host_netns_fd = netns_open(host_netns);
		if (in->host_netns_fd < 0) {
			err = in->host_netns_fd;
			fprintf(stderr, "berth: --host-netns %s: /run/netns/%s: %s\n", host_netns,
				host_netns, strerror(-err));
			return err;
		}
		/* berth is single-threaded: the whole command runs in the host namespace */
		err = netns_enter(in->host_netns_fd, &saved);
		if (err) {
			fprintf(stderr, "berth: enter namespace %s: %s\n", host_netns, strerror(-err));
			return err;
		}
		close(saved);
	}
	snprintf(in->run_dir, sizeof(in->run_dir), BERTH_RUN_DIR "/%s", in->name);
	snprintf(in->pin_dir, sizeof(in->pin_dir), BERTH_PIN_DIR "/%s", in->name);
	snprintf(path, sizeof(path), "%s/lock", in->run_dir);
	in->lock_fd = lock_path(in->run_dir, path);
	if (in->lock_fd < 0) {
		err = in->lock_fd;
		fprintf(stderr, "berth: lock %s: %s\n", path, strerror(-err));
		return err;
	}
	snprintf(path, sizeof(path), "%s/state.json", in->run_dir);
	in->state = access(path, F_OK) ? json_object_new_object() : json_object_from_file(path);
	if (!in->state) {
		fprintf(stderr, "berth: %s is unreadable: %s\n", path, json_util_get_last_err());
		return -EIO;
	}
	return 0;
}

int instance_save(struct instance *in)
{
	const char *s = json_object_to_json_string_ext(in->state, JSON_C_TO_STRING_PRETTY);
	char path[600];

	snprintf(path, sizeof(path), "%s/state.json", in->run_dir);
	return file_write_atomic(path, s, strlen(s));
}

static bool state_empty(struct instance *in)
{
	struct json_object *projects;

	return !json_object_object_get_ex(in->state, "projects", &projects) ||
	       !json_object_object_length(projects);
}

void instance_close(struct instance *in)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/journal", in->run_dir);
	/* the last project took everything with it: its directories go too */
	if (in->state && in->lock_fd >= 0 && state_empty(in) && access(path, F_OK)) {
		rm_rf(in->pin_dir);
		rm_rf(in->run_dir);
		/* and the top directories when no other instance is left (rmdir fails otherwise) */
		rmdir(BERTH_PIN_DIR);
		rmdir(BERTH_RUN_DIR);
	}
	json_object_put(in->state);
	in->state = NULL;
	if (in->lock_fd >= 0)
		close(in->lock_fd);
	in->lock_fd = -1;
	if (in->host_netns_fd >= 0)
		close(in->host_netns_fd);
	in->host_netns_fd = -1;
}

int64_t instance_identity_next(const struct instance *in)
{
	struct json_object *ps, *v;
	int64_t next = 1;

	if (json_object_object_get_ex(in->state, "identity_next", &v) &&
	    json_object_get_int64(v) > next)
		next = json_object_get_int64(v);
	if (!json_object_object_get_ex(in->state, "projects", &ps) ||
	    !json_object_is_type(ps, json_type_object))
		return next;
	json_object_object_foreach(ps, k, q) {
		struct json_object *ids;

		(void)k;
		if (!json_object_object_get_ex(q, "identities", &ids) ||
		    !json_object_is_type(ids, json_type_object))
			continue;
		json_object_object_foreach(ids, svc, id) {
			(void)svc;
			if (json_object_get_int64(id) >= next)
				next = json_object_get_int64(id) + 1;
		}
	}
	return next;
}
