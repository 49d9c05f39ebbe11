/* layers.c - layer.vhd mounts shared by every container that uses one, and
 * the run-root directories they live in. See hostlayer.c for the waiting
 * rules (PENDING / RELEASING objects). */
#include "hostlayer.h"

#include "lh_list.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void hostlayer_layer_link(struct hostlayer_priv *p, struct hostlayer_layer *layer)
{
	LH_LIST_APPEND(p->layer_head, p->layer_tail, layer);
}

void hostlayer_layer_unlink(struct hostlayer_priv *p, struct hostlayer_layer *layer)
{
	LH_LIST_REMOVE(p->layer_head, p->layer_tail, layer);
}

/* ---- directories ----------------------------------------------------------- */

/* The run root and <run_root>/layers are shared by every attachment: they
 * are made and removed under dir_lock so a removal never races a creation. */
int hostlayer_make_dir(struct hostlayer_priv *p, const char *path, mode_t mode,
			      char *created_top, struct lh_error *err)
{
	char top[LH_PATH_CAP];
	int rc;

	pthread_mutex_lock(&p->dir_lock);
	rc = hostlayer_mkdirs(p->run_root, 0755, top, sizeof(top), err);
	if (rc == 0 && top[0] && !p->run_created_top[0])
		memcpy(p->run_created_top, top, sizeof(top));
	if (rc == 0)
		rc = hostlayer_mkdirs(path, mode, created_top, LH_PATH_CAP, err);
	pthread_mutex_unlock(&p->dir_lock);
	return rc;
}

int hostlayer_remove_dir(struct hostlayer_priv *p, const char *path,
				const char *created_top, struct lh_error *err)
{
	char layers[LH_PATH_CAP + 16];
	int rc;

	pthread_mutex_lock(&p->dir_lock);
	rc = hostlayer_rmdirs(path, created_top, err);
	/* ours by definition; still in use by others when not empty */
	snprintf(layers, sizeof(layers), "%s/layers", p->run_root);
	rmdir(layers);
	if (p->run_created_top[0] && rmdir(p->run_root) == 0) {
		hostlayer_rmdirs(p->run_root, p->run_created_top, NULL);
		p->run_created_top[0] = '\0';
	}
	pthread_mutex_unlock(&p->dir_lock);
	return rc;
}

/* ---- layer mounts ------------------------------------------------------------ */

static void hostlayer_layer_settle(struct hostlayer_priv *p, struct hostlayer_layer *l,
				   enum hostlayer_state state)
{
	l->state = state;
	pthread_cond_broadcast(&p->cond);
	if (state == HOSTLAYER_FAILED || state == HOSTLAYER_GONE) {
		/* the only layer of its key in the map: others wait for it */
		lh_map_del_str(&p->layers, l->key);
		if (l->waiters == 0)
			free(l);
	}
}

static int hostlayer_layer_mount(struct hostlayer_priv *p, struct hostlayer_layer *l,
				 uint64_t data_size, struct lh_error *err)
{
	int fd = -1;
	int rc;

	rc = hostlayer_make_dir(p, l->mount_dir, 0700, l->created_top, err);
	if (rc)
		goto out;
	rc = hostlayer_loop_attach(l->vhd, data_size, &l->loop, &fd, err);
	if (rc)
		goto out_dir;
	rc = hostlayer_mount_layer(l->loop, l->mount_dir, err);
	if (rc)
		goto out_loop;
	rc = hostlayer_mount_identify(l->mount_dir, "ext4", &l->mnt, err);
	if (rc)
		goto out_mount;
	l->mounted = true;
	/* the mount holds the device now; autoclear frees it at unmount */
	close(fd);
	p->host->log(p->host->ctx, LH_LOG_INFO, "%s on /dev/loop%u mounted at %s", l->vhd,
		     l->loop, l->mount_dir);
	goto out;
out_mount:
	/* just mounted, but not found in the table: the path is all we know */
	hostlayer_umount(l->mount_dir, "ext4", &l->mnt, NULL);
out_loop:
	hostlayer_loop_detach(l->loop, l->dev, l->ino, NULL);
	close(fd);
out_dir:
	hostlayer_remove_dir(p, l->mount_dir, l->created_top, NULL);
out:
	return rc;
}

/* Take a reference on the mount of vhd, mounting it if nobody has. */
int hostlayer_layer_get(struct hostlayer_priv *p, const char *vhd, const struct stat *st,
			       uint64_t data_size, struct hostlayer_layer **out,
			       struct lh_error *err)
{
	struct hostlayer_layer *l;
	struct lh_error local = { 0 };
	char key[64];
	int rc = 0;

	snprintf(key, sizeof(key), "%" PRIx64 "-%" PRIx64, (uint64_t)st->st_dev,
		 (uint64_t)st->st_ino);
	pthread_mutex_lock(&p->lock);
	for (;;) {
		l = lh_map_get_str(&p->layers, key);
		if (!l)
			break;
		if (l->state == HOSTLAYER_READY) {
			l->refs++;
			*out = l;
			goto out_unlock;
		}
		l->waiters++;
		while (l->state == HOSTLAYER_PENDING || l->state == HOSTLAYER_RELEASING)
			pthread_cond_wait(&p->cond, &p->lock);
		l->waiters--;
		if (l->state == HOSTLAYER_FAILED) {
			rc = lh_error_set(err, l->fail.code, l->fail.func, "%s", l->fail.message);
			if (l->waiters == 0)
				free(l);
			goto out_unlock;
		}
		if (l->state == HOSTLAYER_GONE && l->waiters == 0)
			free(l);
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		rc = LH_FAIL(err, -ENOMEM, "%s: out of memory", vhd);
		goto out_unlock;
	}
	memcpy(l->key, key, sizeof(key));
	snprintf(l->vhd, sizeof(l->vhd), "%s", vhd);
	if ((size_t)snprintf(l->mount_dir, sizeof(l->mount_dir), "%s/layers/%s", p->run_root,
			     key) >= sizeof(l->mount_dir)) {
		free(l);
		rc = LH_FAIL(err, -ENAMETOOLONG, "%s: run_root too long", vhd);
		goto out_unlock;
	}
	l->dev = (uint64_t)st->st_dev;
	l->ino = (uint64_t)st->st_ino;
	l->state = HOSTLAYER_PENDING;
	rc = lh_map_put_str(&p->layers, l->key, l);
	if (rc) {
		free(l);
		rc = LH_FAIL(err, rc, "%s: out of memory", vhd);
		goto out_unlock;
	}
	pthread_mutex_unlock(&p->lock);

	rc = hostlayer_layer_mount(p, l, data_size, &local);

	pthread_mutex_lock(&p->lock);
	if (rc) {
		l->fail = local;
		lh_error_set(err, local.code, local.func, "%s", local.message);
		hostlayer_layer_settle(p, l, HOSTLAYER_FAILED);
	} else {
		l->refs = 1;
		hostlayer_layer_link(p, l);
		*out = l;
		hostlayer_layer_settle(p, l, HOSTLAYER_READY);
	}
out_unlock:
	pthread_mutex_unlock(&p->lock);
	return rc;
}

/* Drop a reference; the last one unmounts, frees the loop device and
 * removes the mount directory. A step that fails keeps the layer, with the
 * caller's reference, for a later put to finish: the unmount first, as
 * the rest cannot be done while it is mounted. */
int hostlayer_layer_put(struct hostlayer_priv *p, struct hostlayer_layer *l,
			       struct lh_error *err)
{
	int rc = 0;

	pthread_mutex_lock(&p->lock);
	if (--l->refs > 0 || l->waiters > 0) {
		pthread_mutex_unlock(&p->lock);
		return 0;
	}
	l->state = HOSTLAYER_RELEASING;
	hostlayer_layer_unlink(p, l);
	pthread_mutex_unlock(&p->lock);

	if (l->mounted) {
		rc = hostlayer_umount(l->mount_dir, "ext4", &l->mnt, err);
		l->mounted = rc != 0;
	}
	if (rc == 0)
		rc = hostlayer_loop_detach(l->loop, l->dev, l->ino, err);
	if (rc == 0)
		rc = hostlayer_remove_dir(p, l->mount_dir, l->created_top, err);

	pthread_mutex_lock(&p->lock);
	if (rc) {
		l->refs = 1;
		hostlayer_layer_link(p, l);
		hostlayer_layer_settle(p, l, HOSTLAYER_READY);
	} else {
		hostlayer_layer_settle(p, l, HOSTLAYER_GONE);
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}
