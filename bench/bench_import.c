/*
 * bench_import.c - benchmark 9: the importer converting a layer, as
 * `layerhost import` does it (the blob read, hashed and decompressed on a
 * thread of its own, the tar converted into an ext4 image, both digests
 * checked), beside the floors a streaming converter has: copying the tar's
 * bytes (`cat layer.tar > file`) for a .tar, decompressing alone (`gzip -dc
 * layer.tar.gz > /dev/null`) for a .tar.gz; and beside `mkfs.ext4 -d` over
 * the same tree unpacked.
 *
 * Two layers, made here: few large files (8 x 6 MiB and 1.5k small ones),
 * and 24k entries of which 18k in one folder. Every figure is the best of
 * BENCH_RUNS runs taken in turns with warm caches; mkfs.ext4 -d runs once on
 * the many-entry layer (it takes most of a minute). The importer's figure
 * leaves out the final fsync, which neither floor does; it is printed on
 * its own.
 */
#include "bench.h"

#include "convert.h"
#include "digest.h"
#include "stream.h"

#include <archive.h>
#include <archive_entry.h>

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define BENCH_RUNS 5
#define POOL_SIZE (1u << 20)

extern char **environ;

/* ---- making the layers ------------------------------------------------------ */

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Words of 2 to 9 letters from a vocabulary of 5000: text that gzip
 * shrinks to about 45 %, like the files of a real image. */
static uint8_t *make_pool(void)
{
	static char vocab[5000][10];
	uint8_t *pool = malloc(POOL_SIZE);
	size_t n = 0;

	if (!pool)
		bench_die("out of memory", NULL);
	for (int i = 0; i < 5000; i++) {
		int len = 2 + (int)(rng() % 8);

		for (int j = 0; j < len; j++)
			vocab[i][j] = (char)('a' + rng() % 26);
		vocab[i][len] = '\0';
	}
	while (n < POOL_SIZE) {
		const char *w = vocab[rng() % 5000];
		size_t len = strlen(w);

		for (size_t j = 0; j <= len && n < POOL_SIZE; j++)
			pool[n++] = j < len ? (uint8_t)w[j] : ' ';
	}
	return pool;
}

struct writer {
	struct archive *a;
	const uint8_t *pool;
	uint64_t entries, bytes;
};

static void add_dir(struct writer *w, const char *path)
{
	struct archive_entry *e = archive_entry_new();

	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, AE_IFDIR);
	archive_entry_set_perm(e, 0755);
	archive_entry_set_mtime(e, 1700000000, 0);
	if (archive_write_header(w->a, e) != ARCHIVE_OK)
		bench_die("writing a tar header", NULL);
	archive_entry_free(e);
	w->entries++;
}

static void add_file(struct writer *w, const char *path, size_t size)
{
	struct archive_entry *e = archive_entry_new();
	size_t done = 0;

	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)size);
	archive_entry_set_mtime(e, 1700000000, 0);
	if (archive_write_header(w->a, e) != ARCHIVE_OK)
		bench_die("writing a tar header", NULL);
	while (done < size) {
		size_t off = (size_t)(rng() % (POOL_SIZE - 65536)), n = size - done;

		if (n > 65536)
			n = 65536;
		if (archive_write_data(w->a, w->pool + off, n) != (la_ssize_t)n)
			bench_die("writing tar data", NULL);
		done += n;
	}
	archive_entry_free(e);
	w->entries++;
	w->bytes += size;
}

static void make_layer(const char *kind, const char *path, const uint8_t *pool,
		       uint64_t *entries, uint64_t *bytes)
{
	struct writer w = { .a = archive_write_new(), .pool = pool };
	char name[64];

	if (!w.a || archive_write_set_format_pax_restricted(w.a) != ARCHIVE_OK ||
	    archive_write_open_filename(w.a, path) != ARCHIVE_OK)
		bench_die("creating the layer tar", NULL);
	if (strcmp(kind, "large") == 0) {
		add_dir(&w, "big");
		for (int i = 0; i < 8; i++) {
			snprintf(name, sizeof(name), "big/file%d", i);
			add_file(&w, name, 6u << 20);
		}
		for (int d = 0; d < 15; d++) {
			snprintf(name, sizeof(name), "small%d", d);
			add_dir(&w, name);
			for (int i = 0; i < 100; i++) {
				snprintf(name, sizeof(name), "small%d/f%d", d, i);
				add_file(&w, name, 100 + rng() % 3900);
			}
		}
	} else {
		add_dir(&w, "huge");
		for (int i = 0; i < 18000; i++) {
			snprintf(name, sizeof(name), "huge/entry-%05d.txt", i);
			add_file(&w, name, 200 + rng() % 4200);
		}
		for (int d = 0; d < 60; d++) {
			snprintf(name, sizeof(name), "d%d", d);
			add_dir(&w, name);
			for (int i = 0; i < 100; i++) {
				snprintf(name, sizeof(name), "d%d/f%d", d, i);
				add_file(&w, name, 200 + rng() % 4200);
			}
		}
	}
	if (archive_write_close(w.a) != ARCHIVE_OK)
		bench_die("finishing the layer tar", NULL);
	archive_write_free(w.a);
	*entries = w.entries;
	*bytes = w.bytes;
}

/* ---- running things ------------------------------------------------------------ */

/* Run a shell command; dies if it fails. Returns its wall time in seconds. */
static double sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static double sh(const char *fmt, ...)
{
	char cmd[4096];
	char *argv[] = { "sh", "-c", cmd, NULL };
	va_list ap;
	uint64_t t0;
	pid_t pid;
	int status;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	t0 = bench_now_ns();
	if (posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ) != 0 ||
	    waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench_import: command failed: %s\n", cmd);
		exit(1);
	}
	return (double)(bench_now_ns() - t0) / 1e9;
}

static void file_digest(const char *path, uint8_t out[LH_SHA256_LEN], uint64_t *size)
{
	static uint8_t buf[1u << 20];
	struct lh_sha256 h;
	int fd = open(path, O_RDONLY);
	ssize_t n;

	*size = 0;
	if (fd < 0 || lh_sha256_init(&h))
		bench_die(path, NULL);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		lh_sha256_update(&h, buf, (size_t)n);
		*size += (uint64_t)n;
	}
	lh_sha256_final(&h, out);
	close(fd);
}

struct layer_file {
	const char *path;
	enum lh_compression comp;
	uint8_t digest[LH_SHA256_LEN], diff_id[LH_SHA256_LEN];
	uint64_t size;
};

/*
 * One conversion as the importer does it: the stream's thread reading,
 * hashing and decompressing, lh_convert_tar writing the image, both
 * digests compared. Returns seconds; *image_bytes the image's length.
 */
static double import_once(const struct layer_file *l, const char *image, uint64_t *image_bytes)
{
	struct lh_stream_result sres;
	struct lh_convert_result res;
	struct lh_convert_source src;
	struct lh_error err = { 0 };
	struct lh_stream *s = NULL;
	uint64_t t0;
	int fd, rc;

	unlink(image);
	fd = open(image, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0)
		bench_die(image, NULL);
	close(fd);
	t0 = bench_now_ns();
	rc = lh_stream_start(l->path, "bench layer", l->size, l->comp, &s, &err);
	if (rc == 0) {
		lh_stream_source(s, &src);
		rc = lh_convert_tar(&src, image, "bench layer", l->diff_id, NULL, NULL, &res, &err);
		if (lh_stream_finish(s, &sres, rc ? NULL : &err) && rc == 0)
			rc = -EIO;
	}
	if (rc == 0 && (memcmp(sres.blob_digest, l->digest, LH_SHA256_LEN) ||
			memcmp(sres.diff_digest, l->diff_id, LH_SHA256_LEN)))
		bench_die("a digest does not match", NULL);
	lh_stream_free(s);
	if (rc)
		bench_die("converting the layer", &err);
	*image_bytes = res.image_bytes;
	return (double)(bench_now_ns() - t0) / 1e9;
}

static double min2(double a, double b)
{
	return a < b ? a : b;
}

static void ratio_row(const char *what, double mine, const char *floor_name, double floor,
		      double target)
{
	char metric[160], value[160], tgt[32];
	double r = mine / floor;

	snprintf(metric, sizeof(metric), "%s: import / %s", what, floor_name);
	snprintf(value, sizeof(value), "%.3f s / %.3f s = %.2f", mine, floor, r);
	snprintf(tgt, sizeof(tgt), "<= %.1f", target);
	bench_result("9 import", metric, value, tgt, r <= target ? "PASS" : "MISS");
}

/*
 * mkfs.ext4 -d over the layer unpacked (tar -xf), into an image a quarter
 * larger than the importer's; once when slow, else best of 2. 0 when
 * LH_BENCH_IMPORT_QUICK is set (quick runs while developing).
 */
static double time_mkfs(const char *kind, const char *tar, uint64_t image, bool slow)
{
	char *tree = bench_path("%s-tree", kind), *mkimg = bench_path("%s-mkfs.img", kind);
	double best = 1e9;

	if (getenv("LH_BENCH_IMPORT_QUICK")) {
		best = 0;
		goto out;
	}
	sh("rm -rf '%s' && mkdir '%s' && tar -xf '%s' -C '%s'", tree, tree, tar, tree);
	for (int run = 0; run < (slow ? 1 : 2); run++)
		best = min2(best, sh("rm -f '%s' && truncate -s %llu '%s' && mkfs.ext4 -q -F -b 4096 "
				     "-O ^has_journal -E root_owner=0:0 -d '%s' '%s' >/dev/null",
				     mkimg, (unsigned long long)(image * 5 / 4 + (64u << 20)), mkimg,
				     tree, mkimg));
	sh("rm -rf '%s' '%s'", tree, mkimg);
out:
	free(tree);
	free(mkimg);
	return best;
}

static void bench_layer(const char *kind, const uint8_t *pool, bool slow_mkfs)
{
	char *tar = bench_path("%s.tar", kind), *tgz = bench_path("%s.tar.gz", kind);
	char *img = bench_path("%s.img", kind), *copy = bench_path("%s.copy", kind);
	struct layer_file lt = { .path = tar, .comp = LH_COMPRESSION_NONE };
	struct layer_file lg = { .path = tgz, .comp = LH_COMPRESSION_GZIP };
	double t_tar = 1e9, t_tgz = 1e9, t_cat = 1e9, t_gz = 1e9, t_hash = 1e9, t_mkfs, t_sync;
	uint64_t entries, bytes, image = 0;
	char metric[160], value[200];
	int fd;

	make_layer(kind, tar, pool, &entries, &bytes);
	sh("gzip -6 -c '%s' > '%s'", tar, tgz);
	file_digest(tar, lt.digest, &lt.size);
	memcpy(lt.diff_id, lt.digest, LH_SHA256_LEN);
	memcpy(lg.diff_id, lt.digest, LH_SHA256_LEN);
	file_digest(tgz, lg.digest, &lg.size);
	printf("%s layer: %llu entries, %.1f MB of file data; .tar %.1f MB, .tar.gz %.1f MB\n", kind,
	       (unsigned long long)entries, (double)bytes / 1e6, (double)lt.size / 1e6,
	       (double)lg.size / 1e6);

	/* warm every input, then take turns */
	import_once(&lt, img, &image);
	import_once(&lg, img, &image);
	sh("cat '%s' > /dev/null; gzip -dc '%s' > /dev/null", tar, tgz);
	for (int run = 0; run < BENCH_RUNS; run++) {
		t_tar = min2(t_tar, import_once(&lt, img, &image));
		t_cat = min2(t_cat, sh("cat '%s' > '%s'", tar, copy));
		unlink(copy);
		t_tgz = min2(t_tgz, import_once(&lg, img, &image));
		t_gz = min2(t_gz, sh("gzip -dc '%s' > /dev/null", tgz));
		/* the diffID check alone: what no converter of a .tar goes below */
		{
			uint8_t d[LH_SHA256_LEN];
			uint64_t n, t0 = bench_now_ns();

			file_digest(tar, d, &n);
			t_hash = min2(t_hash, (double)(bench_now_ns() - t0) / 1e9);
		}
	}
	/* the image is sound, and what flushing it adds */
	fd = open(img, O_RDONLY);
	t_sync = (double)bench_now_ns();
	if (fd < 0 || fsync(fd) != 0)
		bench_die("flushing the image", NULL);
	t_sync = ((double)bench_now_ns() - t_sync) / 1e9;
	close(fd);
	sh("e2fsck -fn '%s' > /dev/null 2>&1", img);
	printf("%s: import .tar %.3f s, .tar.gz %.3f s; cat %.3f s, gzip -dc %.3f s; sha256 of the "
	       ".tar alone %.3f s; image %.1f MB, e2fsck -fn clean; fsync of the image afterwards "
	       "%.3f s\n",
	       kind, t_tar, t_tgz, t_cat, t_gz, t_hash, (double)image / 1e6, t_sync);

	t_mkfs = time_mkfs(kind, tar, image, slow_mkfs);
	if (t_mkfs > 0)
		printf("%s: mkfs.ext4 -d %.3f s (%s)\n", kind, t_mkfs,
		       slow_mkfs ? "one run" : "best of 2");

	snprintf(metric, sizeof(metric), "%s layer (%llu entries, %.0f MB)", kind,
		 (unsigned long long)entries, (double)lt.size / 1e6);
	snprintf(value, sizeof(value), "import .tar %.3f s, .tar.gz %.3f s; mkfs.ext4 -d %.3f s",
		 t_tar, t_tgz, t_mkfs);
	bench_result("9 import", metric, value, "-", "-");
	ratio_row(kind, t_tar, "cat layer.tar > file", t_cat, 2.0);
	snprintf(metric, sizeof(metric), "%s: sha256 of the .tar alone (libcrypto) / cat", kind);
	snprintf(value, sizeof(value), "%.3f s / %.3f s = %.2f", t_hash, t_cat, t_hash / t_cat);
	bench_result("9 import", metric, value, "-", "-");
	ratio_row(kind, t_tgz, "gzip -dc layer.tar.gz", t_gz, 1.3);
	snprintf(metric, sizeof(metric), "%s: mkfs.ext4 -d / import .tar, .tar.gz", kind);
	snprintf(value, sizeof(value), "%.1fx, %.1fx", t_mkfs / t_tar, t_mkfs / t_tgz);
	if (t_mkfs > 0 && slow_mkfs)
		bench_result("9 import", metric, value, ">= 10x",
			     t_mkfs / t_tar >= 10 && t_mkfs / t_tgz >= 10 ? "PASS" : "MISS");
	else if (t_mkfs > 0)
		bench_result("9 import", metric, value, "-", "-");
	unlink(img);
	free(tar);
	free(tgz);
	free(img);
	free(copy);
}

int main(void)
{
	uint8_t *pool;

	bench_banner("benchmark 9: layerhost import, a layer tar to an ext4 image");
	bench_param("runs", "best of %d, taken in turns, warm caches", BENCH_RUNS);
	bench_param("import", "%s", "lh_stream (read, sha256, gunzip on its own thread) + "
				    "lh_convert_tar + both digests checked; no fsync");
	bench_param("floors", "%s", "cat layer.tar > file (same filesystem), gzip -dc layer.tar.gz "
				    "> /dev/null");
	bench_param("mkfs", "%s", "mkfs.ext4 -b 4096 -O ^has_journal -d TREE over tar -xf of the "
				  "same layer");
	pool = make_pool();
	bench_layer("large", pool, false);
	bench_layer("many", pool, true);
	free(pool);
	return 0;
}
