/* ext4_stage.c - the writer's block stage and the thread that writes it
 * (see ext4_private.h). */
#include "ext4_private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STAGE_BLOCKS 256u /* 1 MiB a buffer */

int ext4_pwrite_all(int fd, const uint8_t *p, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* Write the spare buffer whenever it is handed over. */
static void *writer(void *arg)
{
	struct ext4_stage *s = arg;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (!s->busy && !s->quit)
			pthread_cond_wait(&s->changed, &s->lock);
		if (!s->busy)
			break; /* quit, and nothing left to write */
		pthread_mutex_unlock(&s->lock);
		{
			int rc = ext4_pwrite_all(s->fd, s->spare, (size_t)s->job_n * EXT4_BS,
						 s->job_pblk * EXT4_BS);

			pthread_mutex_lock(&s->lock);
			if (rc && !s->failed) {
				s->failed = rc;
				s->failed_pblk = s->job_pblk;
				s->failed_n = s->job_n;
			}
		}
		s->busy = false;
		pthread_cond_broadcast(&s->changed);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int ext4_stage_init(struct ext4_stage *s, int fd, const char *path, uint64_t first,
		    struct lh_error *err)
{
	int rc;

	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->path = path;
	s->cap = STAGE_BLOCKS;
	s->cursor = s->pblk = first;
	s->buf = malloc((size_t)STAGE_BLOCKS * EXT4_BS);
	s->spare = malloc((size_t)STAGE_BLOCKS * EXT4_BS);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->changed, NULL);
	s->ready = true;
	if (!s->buf || !s->spare) {
		ext4_stage_destroy(s);
		return LH_FAIL(err, -ENOMEM, "%s: out of memory", path);
	}
	rc = -pthread_create(&s->thread, NULL, writer, s);
	if (rc) {
		ext4_stage_destroy(s);
		return LH_FAIL(err, rc, "%s: cannot start the writer thread: %s", path,
			       strerror(-rc));
	}
	s->started = true;
	return 0;
}

void ext4_stage_destroy(struct ext4_stage *s)
{
	if (!s->ready)
		return;
	if (s->started) {
		pthread_mutex_lock(&s->lock);
		s->quit = true;
		pthread_cond_broadcast(&s->changed);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->thread, NULL);
		s->started = false;
	}
	pthread_cond_destroy(&s->changed);
	pthread_mutex_destroy(&s->lock);
	free(s->buf);
	free(s->spare);
	s->buf = s->spare = NULL;
	s->ready = false;
}

/* Wait for the writer to be idle; its first failure as the caller's error. */
static int wait_idle(struct lh_ext4 *w, struct lh_error *err)
{
	struct ext4_stage *s = &w->stage;
	int rc;

	pthread_mutex_lock(&s->lock);
	while (s->busy)
		pthread_cond_wait(&s->changed, &s->lock);
	rc = s->failed;
	pthread_mutex_unlock(&s->lock);
	if (rc)
		return LH_FAIL(err, rc, "%s: cannot write blocks %llu-%llu: %s", w->path,
			       (unsigned long long)s->failed_pblk,
			       (unsigned long long)(s->failed_pblk + s->failed_n - 1),
			       strerror(-rc));
	return 0;
}

int ext4_stage_flush(struct lh_ext4 *w, struct lh_error *err)
{
	struct ext4_stage *s = &w->stage;
	uint8_t *filled = s->buf;
	int rc;

	if (s->n == 0)
		return 0;
	rc = wait_idle(w, err);
	if (rc)
		return rc;
	pthread_mutex_lock(&s->lock);
	s->buf = s->spare;
	s->spare = filled;
	s->job_pblk = s->pblk;
	s->job_n = s->n;
	s->busy = true;
	pthread_cond_broadcast(&s->changed);
	pthread_mutex_unlock(&s->lock);
	s->pblk += s->n;
	s->n = 0;
	return 0;
}

int ext4_stage_sync(struct lh_ext4 *w, struct lh_error *err)
{
	int rc = ext4_stage_flush(w, err);

	return rc ? rc : wait_idle(w, err);
}

int ext4_stage_take(struct lh_ext4 *w, uint32_t n, uint8_t **blocks, struct lh_error *err)
{
	struct ext4_stage *s = &w->stage;
	int rc;

	if (s->n + n > s->cap) {
		rc = ext4_stage_flush(w, err);
		if (rc)
			return rc;
	}
	if (s->n == 0)
		s->pblk = s->cursor;
	*blocks = s->buf + (size_t)s->n * EXT4_BS;
	s->n += n;
	s->cursor += n;
	return 0;
}
