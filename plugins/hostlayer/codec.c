/*
 * codec.c - the state as a sequence of gob singleton values, so a new
 * process can release what an earlier one mounted.
 *
 * Serial version 2 (the host records it beside the blob; state format 1
 * also began the blob with it); the fields marked "v2" are absent in a
 * blob of version 1, whose mounts are all mounted and known by path alone:
 *   string  run_created_top   topmost run-root directory this instance made, or ""
 *   uint    next_handle       the last handle given out
 *   uint    n_layers          (at most HOSTLAYER_CODEC_MAX_LAYERS)
 *   n_layers times:
 *     string key              "<dev>-<ino>" of the vhd, hex
 *     string vhd              the layer.vhd path
 *     string mount_dir        where it is mounted (absolute)
 *     string created_top      topmost directory made for the mount, or ""
 *     uint   dev, ino         identity of the vhd backing the loop device
 *     uint   loop             /dev/loop<loop>
 *     uint   refs             container folders using it (checked against them)
 *     bool   mounted          v2: false once a release unmounted it and failed later
 *     uint   mount_id, major, minor   v2: its identity in the mount table
 *   uint    n_containers      (at most HOSTLAYER_CODEC_MAX_CONTAINERS)
 *   n_containers times:
 *     string id
 *     string mount_path       where the overlay is mounted (absolute)
 *     string scratch
 *     string created_top      topmost directory made for the mount path, or ""
 *     bool   mounted          v2: false once a release unmounted it and failed later
 *     uint   mount_id, major, minor   v2: the overlay's identity in the mount table
 *     uint   n_lowers         1..HOSTLAYER_MAX_LAYERS, base first
 *     n_lowers times:
 *       string folder         as the caller named it
 *       string path           the overlay lowerdir
 *       int    layer          index into the layers above, or -1 (unpacked
 *                             directory, or a layer that release let go)
 *     uint   n_handles        1..HOSTLAYER_CODEC_MAX_HANDLES
 *     n_handles times: uint handle (1..next_handle, unique)
 */
#include "hostlayer.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOSTLAYER_CODEC_MAX_LAYERS 65536
#define HOSTLAYER_CODEC_MAX_CONTAINERS 65536
#define HOSTLAYER_CODEC_MAX_HANDLES (1u << 20)

/* ---- encode ------------------------------------------------------------ */

struct hostlayer_writer {
	const struct lh_gob_codec *gob;
	struct lh_gob_encoder *enc;
	int rc;
};

static void hostlayer_put_uint(struct hostlayer_writer *w, uint64_t v)
{
	if (w->rc == 0)
		w->rc = w->gob->put_uint(w->enc, v);
}

static void hostlayer_put_int(struct hostlayer_writer *w, int64_t v)
{
	if (w->rc == 0)
		w->rc = w->gob->put_int(w->enc, v);
}

static void hostlayer_put_string(struct hostlayer_writer *w, const char *s)
{
	if (w->rc == 0)
		w->rc = w->gob->put_string(w->enc, s);
}

static void hostlayer_put_mount(struct hostlayer_writer *w, bool mounted,
				const struct hostlayer_mount_id *id)
{
	if (w->rc == 0)
		w->rc = w->gob->put_bool(w->enc, mounted);
	hostlayer_put_uint(w, id->id);
	hostlayer_put_uint(w, id->major);
	hostlayer_put_uint(w, id->minor);
}

int hostlayer_encode(void *priv, struct lh_gob_encoder *enc, struct lh_error *err)
{
	struct hostlayer_priv *p = priv;
	struct hostlayer_writer w = { .gob = p->host->gob, .enc = enc };
	struct hostlayer_layer *l;
	struct hostlayer_container *c;
	uint64_t n_layers = 0, n_containers = 0;

	pthread_mutex_lock(&p->lock);
	/* a layer used only by a container still being mounted is not part
	 * of any finished attach: leave it out, and count refs as written */
	for (l = p->layer_head; l; l = l->next)
		l->encode_refs = 0;
	for (c = p->cont_head; c; c = c->next, n_containers++)
		for (size_t i = 0; i < c->n_lowers; i++)
			if (c->lowers[i].layer)
				c->lowers[i].layer->encode_refs++;
	for (l = p->layer_head; l; l = l->next)
		if (l->encode_refs)
			l->encode_index = (uint32_t)n_layers++;

	/* No version of its own: the host records it beside the blob. */
	pthread_mutex_lock(&p->dir_lock);
	hostlayer_put_string(&w, p->run_created_top);
	pthread_mutex_unlock(&p->dir_lock);
	hostlayer_put_uint(&w, p->next_handle);
	hostlayer_put_uint(&w, n_layers);
	for (l = p->layer_head; l; l = l->next) {
		if (!l->encode_refs)
			continue;
		hostlayer_put_string(&w, l->key);
		hostlayer_put_string(&w, l->vhd);
		hostlayer_put_string(&w, l->mount_dir);
		hostlayer_put_string(&w, l->created_top);
		hostlayer_put_uint(&w, l->dev);
		hostlayer_put_uint(&w, l->ino);
		hostlayer_put_uint(&w, l->loop);
		hostlayer_put_uint(&w, l->encode_refs);
		hostlayer_put_mount(&w, l->mounted, &l->mnt);
	}
	hostlayer_put_uint(&w, n_containers);
	for (c = p->cont_head; c; c = c->next) {
		hostlayer_put_string(&w, c->id);
		hostlayer_put_string(&w, c->mount_path);
		hostlayer_put_string(&w, c->scratch);
		hostlayer_put_string(&w, c->created_top);
		hostlayer_put_mount(&w, c->mounted, &c->overlay);
		hostlayer_put_uint(&w, c->n_lowers);
		for (size_t i = 0; i < c->n_lowers; i++) {
			hostlayer_put_string(&w, c->lowers[i].folder);
			hostlayer_put_string(&w, c->lowers[i].path);
			hostlayer_put_int(&w, c->lowers[i].layer
						      ? (int64_t)c->lowers[i].layer->encode_index
						      : -1);
		}
		hostlayer_put_uint(&w, c->handles.n);
		for (size_t i = 0; i < c->handles.n; i++)
			hostlayer_put_uint(&w, c->handles.ids[i]);
	}
	pthread_mutex_unlock(&p->lock);
	if (w.rc)
		return LH_FAIL(err, w.rc, "hostlayer: encoding %" PRIu64 " containers failed",
			       n_containers);
	return 0;
}

/* ---- decode ------------------------------------------------------------ */

struct hostlayer_reader {
	const struct lh_gob_codec *gob;
	struct lh_gob_decoder *dec;
	uint32_t version;
	struct lh_error *err;
};

static int hostlayer_get_count(struct hostlayer_reader *r, const char *what, uint64_t min,
			       uint64_t max, uint64_t *value)
{
	int rc = r->gob->get_uint(r->dec, value, r->err);

	if (rc == 0 && (*value < min || *value > max))
		rc = LH_FAIL(r->err, -LH_ECORRUPT, "hostlayer: %s %" PRIu64 " outside %" PRIu64
			     "..%" PRIu64, what, *value, min, max);
	return rc;
}

static int hostlayer_get_mount(struct hostlayer_reader *r, bool *mounted,
			       struct hostlayer_mount_id *id)
{
	uint64_t v;
	int rc;

	*mounted = true;
	memset(id, 0, sizeof(*id));
	if (r->version < 2)
		return 0;
	rc = r->gob->get_bool(r->dec, mounted, r->err);
	if (rc == 0)
		rc = r->gob->get_uint(r->dec, &id->id, r->err);
	if (rc == 0 && (rc = hostlayer_get_count(r, "device major", 0, UINT32_MAX, &v)) == 0)
		id->major = (uint32_t)v;
	if (rc == 0 && (rc = hostlayer_get_count(r, "device minor", 0, UINT32_MAX, &v)) == 0)
		id->minor = (uint32_t)v;
	return rc;
}

/* Paths must be absolute, other strings non-empty, unless empty_ok. */
static int hostlayer_get_path(struct hostlayer_reader *r, const char *what, char *buf,
			      size_t cap, bool empty_ok)
{
	int rc = r->gob->get_string(r->dec, buf, cap, r->err);

	if (rc == 0 && !(empty_ok && buf[0] == '\0') && buf[0] != '/')
		rc = LH_FAIL(r->err, -LH_ECORRUPT, "hostlayer: %s '%.200s' is not absolute", what,
			     buf);
	return rc;
}

static int hostlayer_decode_layer(struct hostlayer_priv *p, struct hostlayer_reader *r,
				  struct hostlayer_layer **out)
{
	struct hostlayer_layer *l = calloc(1, sizeof(*l));
	uint64_t v;
	int rc;

	if (!l)
		return LH_FAIL(r->err, -ENOMEM, "hostlayer: out of memory");
	rc = r->gob->get_string(r->dec, l->key, sizeof(l->key), r->err);
	if (rc == 0)
		rc = hostlayer_get_path(r, "layer vhd", l->vhd, sizeof(l->vhd), false);
	if (rc == 0)
		rc = hostlayer_get_path(r, "layer mount", l->mount_dir, sizeof(l->mount_dir), false);
	if (rc == 0)
		rc = hostlayer_get_path(r, "created directory", l->created_top,
					sizeof(l->created_top), true);
	if (rc == 0)
		rc = r->gob->get_uint(r->dec, &l->dev, r->err);
	if (rc == 0)
		rc = r->gob->get_uint(r->dec, &l->ino, r->err);
	if (rc == 0 && (rc = hostlayer_get_count(r, "loop device", 0, UINT32_MAX, &v)) == 0)
		l->loop = (uint32_t)v;
	if (rc == 0 && (rc = hostlayer_get_count(r, "layer refs", 1, UINT32_MAX, &v)) == 0)
		l->refs = (uint32_t)v;
	if (rc == 0)
		rc = hostlayer_get_mount(r, &l->mounted, &l->mnt);
	if (rc == 0 && l->key[0] == '\0')
		rc = LH_FAIL(r->err, -LH_ECORRUPT, "hostlayer: layer %s without a key", l->vhd);
	if (rc == 0 && lh_map_get_str(&p->layers, l->key))
		rc = LH_FAIL(r->err, -LH_ECORRUPT, "hostlayer: layer %s listed twice", l->key);
	if (rc == 0) {
		rc = lh_map_put_str(&p->layers, l->key, l);
		if (rc)
			rc = LH_FAIL(r->err, rc, "hostlayer: out of memory");
	}
	if (rc) {
		free(l);
		return rc;
	}
	l->state = HOSTLAYER_READY;
	hostlayer_layer_link(p, l);
	*out = l;
	return 0;
}

static int hostlayer_decode_lowers(struct hostlayer_reader *r, struct hostlayer_container *c,
				   struct hostlayer_layer **layers, uint64_t n_layers)
{
	char *buf = malloc(LH_PATH_CAP);
	int64_t index;
	int rc = buf ? 0 : LH_FAIL(r->err, -ENOMEM, "hostlayer: out of memory");

	for (size_t i = 0; rc == 0 && i < c->n_lowers; i++) {
		struct hostlayer_lower *lower = &c->lowers[i];

		rc = r->gob->get_string(r->dec, buf, LH_PATH_CAP, r->err);
		if (rc == 0 && !(lower->folder = strdup(buf)))
			rc = LH_FAIL(r->err, -ENOMEM, "hostlayer: out of memory");
		if (rc == 0)
			rc = hostlayer_get_path(r, "lower", buf, LH_PATH_CAP, false);
		if (rc == 0 && !(lower->path = strdup(buf)))
			rc = LH_FAIL(r->err, -ENOMEM, "hostlayer: out of memory");
		if (rc == 0)
			rc = r->gob->get_int(r->dec, &index, r->err);
		if (rc == 0 && (index < -1 || index >= (int64_t)n_layers))
			rc = LH_FAIL(r->err, -LH_ECORRUPT,
				     "hostlayer: container %s names layer %" PRId64 " of %" PRIu64,
				     c->id, index, n_layers);
		if (rc == 0 && index >= 0) {
			lower->layer = layers[index];
			lower->layer->encode_refs++;
		}
	}
	free(buf);
	return rc;
}

static int hostlayer_decode_container(struct hostlayer_priv *p, struct hostlayer_reader *r,
				      struct hostlayer_layer **layers, uint64_t n_layers)
{
	struct hostlayer_container *c = calloc(1, sizeof(*c));
	uint64_t n, h;
	int rc;

	if (!c)
		return LH_FAIL(r->err, -ENOMEM, "hostlayer: out of memory");
	rc = r->gob->get_string(r->dec, c->id, sizeof(c->id), r->err);
	if (rc == 0 && !hostlayer_valid_container_id(c->id))
		rc = LH_FAIL(r->err, -LH_ECORRUPT, "hostlayer: bad container id '%s'", c->id);
	if (rc == 0 && lh_map_get_str(&p->containers, c->id))
		rc = LH_FAIL(r->err, -LH_ECORRUPT, "hostlayer: container %s listed twice", c->id);
	if (rc == 0)
		rc = hostlayer_get_path(r, "mount path", c->mount_path, sizeof(c->mount_path),
					false);
	if (rc == 0)
		rc = hostlayer_get_path(r, "scratch", c->scratch, sizeof(c->scratch), false);
	if (rc == 0)
		rc = hostlayer_get_path(r, "created directory", c->created_top,
					sizeof(c->created_top), true);
	if (rc == 0)
		rc = hostlayer_get_mount(r, &c->mounted, &c->overlay);
	if (rc == 0)
		rc = hostlayer_get_count(r, "layer count", 1, HOSTLAYER_MAX_LAYERS, &n);
	if (rc == 0) {
		c->lowers = calloc(n, sizeof(*c->lowers));
		if (!c->lowers)
			rc = LH_FAIL(r->err, -ENOMEM, "hostlayer: out of memory");
		else
			c->n_lowers = n;
	}
	if (rc == 0)
		rc = hostlayer_decode_lowers(r, c, layers, n_layers);
	if (rc == 0)
		rc = hostlayer_get_count(r, "handle count", 1, HOSTLAYER_CODEC_MAX_HANDLES, &n);
	for (uint64_t i = 0; rc == 0 && i < n; i++) {
		rc = hostlayer_get_count(r, "handle", 1, p->next_handle, &h);
		if (rc == 0 && lh_map_get_u64(&p->handles, h))
			rc = LH_FAIL(r->err, -LH_ECORRUPT, "hostlayer: handle %" PRIu64
				     " listed twice", h);
		if (rc == 0 && lh_handles_add(&c->handles, h) != 0)
			rc = LH_FAIL(r->err, -ENOMEM, "hostlayer: out of memory");
		if (rc == 0 && lh_map_put_u64(&p->handles, h, c) != 0) {
			lh_handles_drop(&c->handles, h);
			rc = LH_FAIL(r->err, -ENOMEM, "hostlayer: out of memory");
		}
	}
	if (rc == 0 && lh_map_put_str(&p->containers, c->id, c))
		rc = LH_FAIL(r->err, -ENOMEM, "hostlayer: out of memory");
	if (rc) {
		/* the handles already mapped point at c: the caller's clear
		 * drops the maps, so only the object goes here */
		hostlayer_container_free(c);
		return rc;
	}
	c->state = HOSTLAYER_READY;
	hostlayer_container_link(p, c);
	return 0;
}

int hostlayer_decode(void *priv, struct lh_gob_decoder *dec, struct lh_error *err)
{
	struct hostlayer_priv *p = priv;
	struct hostlayer_reader r = { .gob = p->host->gob, .dec = dec, .err = err };
	struct hostlayer_layer **layers = NULL;
	uint64_t version, n_layers = 0, n_containers;
	int rc;

	pthread_mutex_lock(&p->lock);
	if (p->layer_head || p->cont_head || p->next_handle) {
		rc = LH_FAIL(err, -EBUSY, "hostlayer: decode into an instance already in use");
		goto out_unlock;
	}
	version = r.gob->version(dec);
	r.version = (uint32_t)version;
	rc = 0;
	if (version == 0 || version > HOSTLAYER_SERIAL_VERSION)
		rc = LH_FAIL(err, -LH_EVERSION,
			     "hostlayer: state has serial version %" PRIu64
			     "; this build reads versions 1..%d",
			     version, HOSTLAYER_SERIAL_VERSION);
	if (rc == 0)
		rc = hostlayer_get_path(&r, "run root", p->run_created_top,
					sizeof(p->run_created_top), true);
	if (rc == 0)
		rc = r.gob->get_uint(dec, &p->next_handle, err);
	if (rc == 0)
		rc = hostlayer_get_count(&r, "layer count", 0, HOSTLAYER_CODEC_MAX_LAYERS,
					 &n_layers);
	/* never trust a count for an allocation larger than the input */
	if (rc == 0 && n_layers > r.gob->remaining(dec))
		rc = LH_FAIL(err, -LH_ECORRUPT, "hostlayer: %" PRIu64 " layers in %zu bytes",
			     n_layers, r.gob->remaining(dec));
	if (rc == 0 && n_layers && !(layers = calloc(n_layers, sizeof(*layers))))
		rc = LH_FAIL(err, -ENOMEM, "hostlayer: out of memory");
	for (uint64_t i = 0; rc == 0 && i < n_layers; i++)
		rc = hostlayer_decode_layer(p, &r, &layers[i]);
	for (uint64_t i = 0; rc == 0 && i < n_layers; i++)
		layers[i]->encode_refs = 0;
	if (rc == 0)
		rc = hostlayer_get_count(&r, "container count", 0, HOSTLAYER_CODEC_MAX_CONTAINERS,
					 &n_containers);
	for (uint64_t i = 0; rc == 0 && i < n_containers; i++)
		rc = hostlayer_decode_container(p, &r, layers, n_layers);
	for (uint64_t i = 0; rc == 0 && i < n_layers; i++)
		if (layers[i]->encode_refs != layers[i]->refs)
			rc = LH_FAIL(err, -LH_ECORRUPT,
				     "hostlayer: layer %s claims %u refs, containers hold %u",
				     layers[i]->key, layers[i]->refs, layers[i]->encode_refs);
	if (rc) {
		hostlayer_state_clear(p);
		p->next_handle = 0;
		p->run_created_top[0] = '\0';
	}
	free(layers);
out_unlock:
	pthread_mutex_unlock(&p->lock);
	return rc;
}
