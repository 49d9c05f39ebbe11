/* journal.c - the journal file (struct lh_journal), and the journal driver,
 * which only keeps it. */
#include "driver.h"

#include "durable.h"
#include "error.h"
#include "log.h"
#include "regular_file.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The last line is read to continue the sequence; lines are far shorter. */
#define JOURNAL_TAIL_MAX (1u << 20)

/*
 * With LH_FSYNC_ALWAYS a syncer thread flushes the file when lines are
 * waiting, so the flushes overlap the requests that follow (a VM's QMP
 * traffic); lh_journal_sync only waits for one that covers every line
 * appended before it. The syncer lets lines gather for up to
 * JOURNAL_GATHER_MS first, unless somebody waits: one flush then covers a
 * burst of requests instead of one flush each (a flush costs the process
 * far more CPU than the write of a line).
 */
#define JOURNAL_GATHER_MS 5

struct lh_journal {
	pthread_mutex_t lock;
	int fd;
	char *path;
	uint64_t seq;         /* the last line appended */
	uint64_t synced;      /* every line up to this one is on disk */
	int sync_error;       /* the first fdatasync failure (-errno), kept */
	enum lh_journal_fsync fsync_policy;
	bool syncer_running, stopping;
	unsigned waiters;     /* in lh_journal_sync: flush without gathering */
	pthread_t syncer;
	pthread_cond_t appended; /* a line came, somebody waits, or stopping */
	pthread_cond_t flushed;
};

/*
 * The seq of the journal's last record, 0 for an empty journal. A last
 * line without its newline is a record a crash cut short: it was never
 * complete, so it is cut off (and said so) rather than left to confuse
 * every reader after it.
 */
static int journal_recover(int fd, const char *path, uint64_t *seq, struct lh_error *err)
{
	struct stat st;
	size_t len;
	char *buf, *line, *nl;
	cJSON *json, *item;
	int rc = 0;

	*seq = 0;
	if (fstat(fd, &st) < 0)
		return LH_FAIL(err, -errno, "%s: cannot stat journal: %s", path, strerror(errno));
	if (st.st_size == 0)
		return 0;
	len = st.st_size > JOURNAL_TAIL_MAX ? JOURNAL_TAIL_MAX : (size_t)st.st_size;
	buf = malloc(len + 1);
	if (!buf)
		return LH_FAIL(err, -ENOMEM, "%s: out of memory", path);
	if (pread(fd, buf, len, st.st_size - (off_t)len) != (ssize_t)len) {
		rc = LH_FAIL(err, -EIO, "%s: cannot read journal tail", path);
		goto out;
	}
	buf[len] = '\0';
	if (buf[len - 1] != '\n') {
		size_t keep, cut;

		nl = memrchr(buf, '\n', len);
		if (!nl && (off_t)len < st.st_size) {
			rc = LH_FAIL(err, -LH_ECORRUPT, "%s: last line is not a journal record",
				     path);
			goto out;
		}
		keep = nl ? (size_t)(nl - buf) + 1 : 0;
		cut = len - keep;
		if (ftruncate(fd, st.st_size - (off_t)cut) < 0) {
			rc = LH_FAIL(err, -errno, "%s: cannot cut off an unfinished record: %s",
				     path, strerror(errno));
			goto out;
		}
		lh_log(LH_LOG_WARN, "journal", "%s: cut off an unfinished last record (%zu bytes)",
		       path, cut);
		len = keep;
		if (len == 0)
			goto out; /* nothing complete in the journal: start at 1 */
	}
	buf[len - 1] = '\0';
	line = strrchr(buf, '\n');
	line = line ? line + 1 : buf;
	json = cJSON_Parse(line);
	item = cJSON_GetObjectItemCaseSensitive(json, "seq");
	if (!cJSON_IsNumber(item) || item->valuedouble < 0)
		rc = LH_FAIL(err, -LH_ECORRUPT,
			     "%s: last line is not a journal record; move the file aside to start a "
			     "new journal", path);
	else
		*seq = (uint64_t)item->valuedouble;
	cJSON_Delete(json);
out:
	free(buf);
	return rc;
}

/*
 * One line: {"seq":N,"uvm":ID,"request":{...}[,"guest":STATUS]}. A line
 * that could not be written whole is cut off again: the request is
 * reported failed, so the journal must not hold it, nor half a line that
 * the next one would be written after.
 */
int lh_journal_append(struct lh_journal *j, const char *uvm_id, const cJSON *request,
			 const char *guest, struct lh_error *err)
{
	cJSON *record = cJSON_CreateObject();
	char *line = NULL;
	off_t end = -1;
	size_t len;
	int rc = 0;

	pthread_mutex_lock(&j->lock);
	if (!record || !cJSON_AddNumberToObject(record, "seq", (double)(j->seq + 1)) ||
	    !cJSON_AddStringToObject(record, "uvm", uvm_id) ||
	    !cJSON_AddItemReferenceToObject(record, "request", (cJSON *)request) ||
	    (guest && !cJSON_AddStringToObject(record, "guest", guest)) ||
	    !(line = cJSON_PrintUnformatted(record))) {
		rc = LH_FAIL(err, -ENOMEM, "journal: out of memory");
		goto out;
	}
	len = strlen(line);
	line[len++] = '\n'; /* replaces the NUL: write() takes the length */
	end = lseek(j->fd, 0, SEEK_END);
	if (end < 0) {
		rc = LH_FAIL(err, -errno, "%s: %s", j->path, strerror(errno));
		goto out;
	}
	rc = lh_write_all(j->fd, line, len);
	if (rc) {
		rc = LH_FAIL(err, rc, "%s: cannot append request %llu: %s", j->path,
			     (unsigned long long)(j->seq + 1), lh_strerror(rc));
		goto cut;
	}
	j->seq++;
	pthread_cond_signal(&j->appended);
	goto out;
cut:
	if (ftruncate(j->fd, end) < 0)
		lh_log(LH_LOG_ERROR, "journal", "%s: request %llu failed and cannot be cut off "
		       "again: %s", j->path, (unsigned long long)(j->seq + 1), strerror(errno));
out:
	pthread_mutex_unlock(&j->lock);
	free(line);
	cJSON_Delete(record);
	return rc;
}

static void *journal_syncer(void *arg)
{
	struct lh_journal *j = arg;

	pthread_mutex_lock(&j->lock);
	for (;;) {
		uint64_t target;
		int rc;

		while (!j->stopping && j->synced == j->seq)
			pthread_cond_wait(&j->appended, &j->lock);
		if (j->synced == j->seq)
			break; /* stopping, and nothing left to flush */
		if (!j->stopping && !j->waiters) {
			struct timespec until;

			clock_gettime(CLOCK_MONOTONIC, &until);
			until.tv_nsec += JOURNAL_GATHER_MS * 1000000L;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			while (!j->stopping && !j->waiters &&
			       pthread_cond_timedwait(&j->appended, &j->lock, &until) != ETIMEDOUT)
				;
		}
		target = j->seq;
		pthread_mutex_unlock(&j->lock);
		rc = fdatasync(j->fd) < 0 ? -errno : 0;
		pthread_mutex_lock(&j->lock);
		if (rc && !j->sync_error)
			j->sync_error = rc;
		/* A failed flush counts as done: the error is what waiters get. */
		j->synced = target;
		pthread_cond_broadcast(&j->flushed);
	}
	pthread_mutex_unlock(&j->lock);
	return NULL;
}

int lh_journal_sync(struct lh_journal *j, struct lh_error *err)
{
	uint64_t target;
	int rc = 0;

	pthread_mutex_lock(&j->lock);
	target = j->seq;
	if (j->syncer_running && j->synced < target) {
		j->waiters++;
		pthread_cond_signal(&j->appended);
		while (j->synced < target)
			pthread_cond_wait(&j->flushed, &j->lock);
		j->waiters--;
	}
	rc = j->sync_error;
	pthread_mutex_unlock(&j->lock);
	if (rc)
		return LH_FAIL(err, rc, "%s: fdatasync: %s", j->path, strerror(-rc));
	return 0;
}

void lh_journal_close(struct lh_journal *j)
{
	if (!j)
		return;
	if (j->syncer_running) {
		pthread_mutex_lock(&j->lock);
		j->stopping = true;
		pthread_cond_signal(&j->appended);
		pthread_mutex_unlock(&j->lock);
		pthread_join(j->syncer, NULL);
	}
	close(j->fd);
	pthread_cond_destroy(&j->appended);
	pthread_cond_destroy(&j->flushed);
	pthread_mutex_destroy(&j->lock);
	free(j->path);
	free(j);
}

int lh_journal_open(const char *path, enum lh_journal_fsync fsync_policy,
		    struct lh_journal **out, struct lh_error *err)
{
	struct lh_journal *j = calloc(1, sizeof(*j));
	int rc;

	*out = NULL;
	if (!j || !(j->path = strdup(path))) {
		free(j);
		return LH_FAIL(err, -ENOMEM, "journal: out of memory");
	}
	j->fd = lh_open_regular(path, O_RDWR | O_APPEND | O_CREAT, 0644, "journal", err);
	if (j->fd < 0) {
		rc = j->fd;
		free(j->path);
		free(j);
		return rc;
	}
	rc = journal_recover(j->fd, path, &j->seq, err);
	if (rc) {
		close(j->fd);
		free(j->path);
		free(j);
		return rc;
	}
	pthread_mutex_init(&j->lock, NULL);
	{
		/* The gathering wait is timed on the monotonic clock: a clock
		 * set back must not hold lines unflushed. */
		pthread_condattr_t attr;

		pthread_condattr_init(&attr);
		pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
		pthread_cond_init(&j->appended, &attr);
		pthread_condattr_destroy(&attr);
	}
	pthread_cond_init(&j->flushed, NULL);
	j->synced = j->seq;
	j->fsync_policy = fsync_policy;
	if (fsync_policy == LH_FSYNC_ALWAYS) {
		rc = -pthread_create(&j->syncer, NULL, journal_syncer, j);
		if (rc) {
			lh_journal_close(j);
			return LH_FAIL(err, rc, "%s: cannot start the journal's syncer: %s", path,
				       strerror(-rc));
		}
		j->syncer_running = true;
	}
	*out = j;
	return 0;
}

/* ---- the journal driver ---------------------------------------------------- */

struct journal_driver {
	struct lh_driver base;
	struct lh_journal *journal;
};

static int journal_modify(struct lh_driver *drv, const char *uvm_id, const cJSON *request,
			  struct lh_error *err)
{
	return lh_journal_append(((struct journal_driver *)drv)->journal, uvm_id, request, NULL,
				 err);
}

static int journal_flush(struct lh_driver *drv, struct lh_error *err)
{
	return lh_journal_sync(((struct journal_driver *)drv)->journal, err);
}

static void journal_close(struct lh_driver *drv)
{
	struct journal_driver *d = (struct journal_driver *)drv;

	lh_journal_close(d->journal);
	free(d);
}

static const struct lh_driver_ops journal_ops = {
	.name = "journal",
	.modify = journal_modify,
	.flush = journal_flush,
	.close = journal_close,
};

int lh_journal_driver_open(const struct lh_driver_params *params, struct lh_driver **out,
			   struct lh_error *err)
{
	struct journal_driver *d = calloc(1, sizeof(*d));
	int rc;

	*out = NULL;
	if (!d)
		return LH_FAIL(err, -ENOMEM, "journal: out of memory");
	rc = lh_journal_open(params->journal_path, params->journal_fsync, &d->journal, err);
	if (rc) {
		free(d);
		return rc;
	}
	d->base.ops = &journal_ops;
	*out = &d->base;
	return 0;
}
