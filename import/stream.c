/* stream.c - see stream.h. */
#include "stream.h"

#include <archive.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Eight slots of 1 MiB: hand-overs are rare (a busy machine makes each
 * wake-up cost a scheduler slice), and the reader can run 8 MiB ahead. */
#define SLOTS 8
#define SLOT_SIZE (1024u * 1024)
#define READ_SIZE (1024u * 1024)

struct slot {
	uint8_t *data;
	size_t len;
};

struct lh_stream {
	char *path, *name;
	int fd;
	uint64_t size;
	enum lh_compression comp;
	pthread_t thread;
	bool started, joined;

	/* the ring: the producer fills slots [tail, tail + filled); the
	 * consumer holds slot `held` (or none) until its next read */
	pthread_mutex_t lock;
	pthread_cond_t changed;
	struct slot slots[SLOTS];
	unsigned head, filled;
	bool held;
	bool eof;       /* the producer has published its last slot */
	bool detached;  /* the consumer takes no more: the producer discards */
	int eof_rc;     /* the producer's error as of eof, for the consumer */
	struct lh_error eof_err;

	/* the producer's own */
	struct lh_sha256 blob_hash, diff_hash;
	uint8_t *readbuf;
	uint64_t blob_bytes, tar_bytes;
	struct lh_error err; /* the producer's first failure */
	int rc;
};

/* ---- producer ----------------------------------------------------------- */

/* Read up to READ_SIZE of the blob into buf, hashing it. */
static ssize_t read_blob(struct lh_stream *s, void *buf, size_t cap)
{
	ssize_t n;

	do
		n = read(s->fd, buf, cap);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		s->rc = LH_FAIL(&s->err, -errno, "%s: cannot read %s: %s", s->name, s->path,
				strerror(errno));
		return -1;
	}
	lh_sha256_update(&s->blob_hash, buf, (size_t)n);
	s->blob_bytes += (uint64_t)n;
	return n;
}

/* A free slot to fill, or NULL when the consumer is detached (the data is
 * then only hashed). */
static struct slot *slot_get(struct lh_stream *s)
{
	struct slot *sl = NULL;

	pthread_mutex_lock(&s->lock);
	while (!s->detached && s->filled + s->held == SLOTS)
		pthread_cond_wait(&s->changed, &s->lock);
	if (!s->detached)
		sl = &s->slots[(s->head + s->filled + s->held) % SLOTS];
	pthread_mutex_unlock(&s->lock);
	return sl;
}

/* The decompressed bytes' digest; an uncompressed blob's is its own. */
static void count_tar(struct lh_stream *s, const void *data, size_t len)
{
	if (s->comp != LH_COMPRESSION_NONE)
		lh_sha256_update(&s->diff_hash, data, len);
	s->tar_bytes += len;
}

static void slot_publish(struct lh_stream *s, struct slot *sl, size_t len)
{
	count_tar(s, sl->data, len);
	pthread_mutex_lock(&s->lock);
	sl->len = len;
	if (!s->detached)
		s->filled++;
	pthread_cond_broadcast(&s->changed);
	pthread_mutex_unlock(&s->lock);
}

static void publish_eof(struct lh_stream *s)
{
	pthread_mutex_lock(&s->lock);
	s->eof = true;
	s->eof_rc = s->rc;
	s->eof_err = s->err;
	pthread_cond_broadcast(&s->changed);
	pthread_mutex_unlock(&s->lock);
}

/* An uncompressed tar: the blob is the tar. */
static void produce_plain(struct lh_stream *s)
{
	for (;;) {
		struct slot *sl = slot_get(s);
		uint8_t *dst = sl ? sl->data : s->readbuf;
		ssize_t n = read_blob(s, dst, SLOT_SIZE);

		if (n <= 0)
			return;
		if (sl)
			slot_publish(s, sl, (size_t)n);
		else
			count_tar(s, dst, (size_t)n);
	}
}

static la_ssize_t archive_read_cb(struct archive *a, void *ctx, const void **buf)
{
	struct lh_stream *s = ctx;
	ssize_t n = read_blob(s, s->readbuf, READ_SIZE);

	(void)a;
	*buf = s->readbuf;
	return n < 0 ? ARCHIVE_FATAL : n;
}

/* gzip or zstd, through libarchive's filters ("raw": no archive format). */
static void produce_compressed(struct lh_stream *s)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ae;
	int filter = s->comp == LH_COMPRESSION_GZIP ? ARCHIVE_FILTER_GZIP : ARCHIVE_FILTER_ZSTD;
	const char *what = s->comp == LH_COMPRESSION_GZIP ? "gzip" : "zstd";

	if (!a || archive_read_support_format_raw(a) != ARCHIVE_OK ||
	    archive_read_append_filter(a, filter) != ARCHIVE_OK) {
		s->rc = LH_FAIL(&s->err, -ENOMEM, "%s: cannot set up %s decompression: %s", s->name,
				what, a && archive_error_string(a) ? archive_error_string(a) : "");
		goto out;
	}
	if (archive_read_open(a, s, NULL, archive_read_cb, NULL) != ARCHIVE_OK ||
	    archive_read_next_header(a, &ae) != ARCHIVE_OK) {
		if (!s->rc)
			s->rc = LH_FAIL(&s->err, -LH_ECORRUPT,
					"%s: corrupt %s data, or not %s at all: %s", s->name, what,
					what, archive_error_string(a) ? archive_error_string(a) : "");
		goto out;
	}
	for (;;) {
		struct slot *sl = slot_get(s);
		uint8_t *dst = sl ? sl->data : s->readbuf + READ_SIZE;
		la_ssize_t n = archive_read_data(a, dst, SLOT_SIZE);

		if (n < 0) {
			if (!s->rc)
				s->rc = LH_FAIL(&s->err, -LH_ECORRUPT, "%s: corrupt %s data: %s",
						s->name, what,
						archive_error_string(a) ? archive_error_string(a) : "");
			break;
		}
		if (n == 0)
			break;
		if (sl)
			slot_publish(s, sl, (size_t)n);
		else
			count_tar(s, dst, (size_t)n);
	}
out:
	if (a)
		archive_read_free(a);
}

static void *producer(void *arg)
{
	struct lh_stream *s = arg;

	if (s->comp == LH_COMPRESSION_NONE)
		produce_plain(s);
	else
		produce_compressed(s);
	publish_eof(s);
	/* whatever the decompressor left (trailing bytes, the rest after an
	 * error) still counts for the blob's digest */
	while (!s->rc && read_blob(s, s->readbuf, READ_SIZE) > 0)
		;
	if (!s->rc && s->blob_bytes != s->size)
		s->rc = LH_FAIL(&s->err, -LH_ECORRUPT, "%s: read %llu bytes, the descriptor says %llu",
				s->name, (unsigned long long)s->blob_bytes,
				(unsigned long long)s->size);
	return NULL;
}

/* ---- consumer ------------------------------------------------------------- */

static ssize_t stream_read(void *ctx, const void **buf, struct lh_error *err)
{
	struct lh_stream *s = ctx;
	ssize_t n = 0;

	pthread_mutex_lock(&s->lock);
	if (s->held) { /* done with the slot the last call returned */
		s->held = false;
		s->head = (s->head + 1) % SLOTS;
		pthread_cond_broadcast(&s->changed);
	}
	while (s->filled == 0 && !s->eof)
		pthread_cond_wait(&s->changed, &s->lock);
	if (s->filled) {
		*buf = s->slots[s->head].data;
		n = (ssize_t)s->slots[s->head].len;
		s->filled--;
		s->held = true;
	} else if (s->eof_rc) {
		/* the stream ended early: say why instead of "truncated tar" */
		n = s->eof_rc;
		if (err && err->code == 0)
			*err = s->eof_err;
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}

void lh_stream_source(struct lh_stream *s, struct lh_convert_source *src)
{
	src->read = stream_read;
	src->ctx = s;
}

/* ---- lifetime ---------------------------------------------------------------- */

int lh_stream_start(const char *path, const char *name, uint64_t size,
		    enum lh_compression comp, struct lh_stream **out, struct lh_error *err)
{
	struct lh_stream *s = calloc(1, sizeof(*s));
	struct stat st;
	int rc = 0;

	*out = NULL;
	if (!s)
		return LH_FAIL(err, -ENOMEM, "%s: out of memory", name);
	s->fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->changed, NULL);
	s->size = size;
	s->comp = comp;
	s->path = strdup(path);
	s->name = strdup(name);
	s->readbuf = malloc(READ_SIZE + SLOT_SIZE);
	for (int i = 0; i < SLOTS; i++)
		if (!(s->slots[i].data = malloc(SLOT_SIZE)))
			rc = -ENOMEM;
	if (rc || !s->path || !s->name || !s->readbuf || lh_sha256_init(&s->blob_hash) ||
	    lh_sha256_init(&s->diff_hash)) {
		rc = LH_FAIL(err, -ENOMEM, "%s: out of memory", name);
		goto fail;
	}
	s->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0 || fstat(s->fd, &st) != 0) {
		rc = LH_FAIL(err, -errno, "%s: cannot open %s: %s", name, path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = LH_FAIL(err, -LH_ECORRUPT, "%s: %s is not a regular file", name, path);
		goto fail;
	}
	if ((uint64_t)st.st_size != size) {
		rc = LH_FAIL(err, -LH_ECORRUPT, "%s: %s holds %llu bytes, the descriptor says %llu",
			     name, path, (unsigned long long)st.st_size, (unsigned long long)size);
		goto fail;
	}
	posix_fadvise(s->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	rc = -pthread_create(&s->thread, NULL, producer, s);
	if (rc) {
		rc = LH_FAIL(err, rc, "%s: cannot start the reader thread: %s", name, strerror(-rc));
		goto fail;
	}
	s->started = true;
	*out = s;
	return 0;
fail:
	lh_stream_free(s);
	return rc;
}

int lh_stream_finish(struct lh_stream *s, struct lh_stream_result *res, struct lh_error *err)
{
	pthread_mutex_lock(&s->lock);
	s->detached = true;
	pthread_cond_broadcast(&s->changed);
	pthread_mutex_unlock(&s->lock);
	if (s->started && !s->joined) {
		pthread_join(s->thread, NULL);
		s->joined = true;
	}
	if (res) {
		memset(res, 0, sizeof(*res));
		if (s->blob_hash.ctx)
			lh_sha256_final(&s->blob_hash, res->blob_digest);
		if (s->comp == LH_COMPRESSION_NONE)
			memcpy(res->diff_digest, res->blob_digest, LH_SHA256_LEN);
		else if (s->diff_hash.ctx)
			lh_sha256_final(&s->diff_hash, res->diff_digest);
		res->blob_bytes = s->blob_bytes;
		res->tar_bytes = s->tar_bytes;
	}
	if (s->rc && err && err->code == 0)
		*err = s->err;
	return s->rc;
}

void lh_stream_free(struct lh_stream *s)
{
	if (!s)
		return;
	if (s->started && !s->joined)
		lh_stream_finish(s, NULL, NULL);
	lh_sha256_discard(&s->blob_hash);
	lh_sha256_discard(&s->diff_hash);
	if (s->fd >= 0)
		close(s->fd);
	for (int i = 0; i < SLOTS; i++)
		free(s->slots[i].data);
	free(s->readbuf);
	free(s->path);
	free(s->name);
	pthread_cond_destroy(&s->changed);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
