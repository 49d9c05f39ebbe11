/* bench.c - see bench.h. */
#define _XOPEN_SOURCE 700
#include "bench.h"

#include "config.h"
#include "disk.h"

#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* One scratch folder per process, removed at exit: a benchmark is a whole
 * program, so process-wide state is the natural scope here. */
static char bench_root[512];

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void bench_cpu_model(char *buf, size_t cap)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];

	snprintf(buf, cap, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (strncmp(line, "model name", 10) != 0 || !colon)
			continue;
		colon++;
		colon += strspn(colon, " \t");
		colon[strcspn(colon, "\n")] = '\0';
		snprintf(buf, cap, "%s", colon);
		break;
	}
	fclose(f);
}

/* Other work on the machine is the usual reason for a noisy figure. */
static void bench_loadavg(void)
{
	FILE *f = fopen("/proc/loadavg", "r");
	double one, five;

	if (f && fscanf(f, "%lf %lf", &one, &five) == 2)
		printf("load average at start: %.2f (1 min), %.2f (5 min)\n", one, five);
	if (f)
		fclose(f);
}

void bench_banner(const char *title)
{
	struct utsname u;
	char cpu[256];

	bench_cpu_model(cpu, sizeof(cpu));
	if (uname(&u) < 0)
		memset(&u, 0, sizeof(u));
	printf("== %s ==\n", title);
	printf("machine: %ld cores online, %s %s %s, CPU: %s\n", sysconf(_SC_NPROCESSORS_ONLN),
	       u.sysname, u.release, u.machine, cpu);
	bench_loadavg();
	fflush(stdout);
}

void bench_param(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("param %s = ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

void bench_result(const char *bench, const char *metric, const char *value, const char *target,
		  const char *verdict)
{
	printf("RESULT\t%s\t%s\t%s\t%s\t%s\n", bench, metric, value, target, verdict);
	fflush(stdout);
}

void bench_die(const char *what, const struct lh_error *err)
{
	int saved = errno;

	if (err && err->code)
		fprintf(stderr, "benchmark setup failed: %s: %s\n", what, err->message);
	else if (saved)
		fprintf(stderr, "benchmark setup failed: %s (last system error: %s)\n", what,
			strerror(saved));
	else
		fprintf(stderr, "benchmark setup failed: %s\n", what);
	exit(1);
}

static int bench_remove_entry(const char *path, const struct stat *st, int flag,
			      struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void bench_cleanup(void)
{
	if (bench_root[0])
		nftw(bench_root, bench_remove_entry, 64, FTW_DEPTH | FTW_PHYS);
}

const char *bench_workdir(void)
{
	const char *tmp;

	if (bench_root[0])
		return bench_root;
	tmp = getenv("LH_BENCH_TMPDIR");
	if (!tmp || !*tmp)
		tmp = getenv("TMPDIR");
	snprintf(bench_root, sizeof(bench_root), "%s/lh-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(bench_root)) {
		fprintf(stderr, "benchmark setup failed: mkdtemp %s: %s\n", bench_root,
			strerror(errno));
		exit(1);
	}
	atexit(bench_cleanup);
	return bench_root;
}

char *bench_path(const char *fmt, ...)
{
	char rel[1024], *path;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	if (asprintf(&path, "%s/%s", bench_workdir(), rel) < 0)
		bench_die("out of memory", NULL);
	for (char *p = path + strlen(bench_root) + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST) {
			fprintf(stderr, "benchmark setup failed: mkdir %s: %s\n", path,
				strerror(errno));
			exit(1);
		}
		*p = '/';
	}
	return path;
}

void bench_make_vhd(const char *path, uint64_t data_size)
{
	struct lh_error err = { 0 };

	if (lh_vhd_create_fixed(path, data_size, &err))
		bench_die("creating a VHD", &err);
}

char **bench_make_layers(const char *prefix, size_t n)
{
	char **paths = calloc(n ? n : 1, sizeof(*paths));

	if (!paths)
		bench_die("out of memory", NULL);
	for (size_t i = 0; i < n; i++) {
		/* 1000 layers a folder keeps directory lookups ordinary. */
		paths[i] = bench_path("layers/%s/%zu/%s%zu/layer.vhd", prefix, i / 1000, prefix, i);
		bench_make_vhd(paths[i], 64 * 1024);
	}
	return paths;
}

void bench_free_paths(char **paths, size_t n)
{
	for (size_t i = 0; paths && i < n; i++)
		free(paths[i]);
	free(paths);
}

void bench_host_open(struct bench_host *bh, const char *ini)
{
	struct lh_error err = { 0 };
	char *text;

	memset(bh, 0, sizeof(*bh));
	if (asprintf(&text, "[host]\nplugin_dir = %s\ndriver = null\n%s", LH_BENCH_PLUGIN_DIR,
		     ini) < 0)
		bench_die("out of memory", NULL);
	if (lh_config_parse(text, "bench.ini", bench_workdir(), &bh->cfg, &err))
		bench_die("parsing the benchmark configuration", &err);
	free(text);
	if (lh_null_driver_open(&(struct lh_driver_params){ 0 }, &bh->driver, &err))
		bench_die("opening the null driver", &err);
	if (lh_host_open(bh->cfg, bh->driver, NULL, &bh->host, &err))
		bench_die("opening the host (are the plugins built?)", &err);
}

void bench_host_close(struct bench_host *bh)
{
	lh_host_close(bh->host);
	lh_driver_close(bh->driver);
	lh_config_free(bh->cfg);
	memset(bh, 0, sizeof(*bh));
}

struct lh_instance *bench_instance(struct bench_host *bh, const char *name)
{
	struct lh_instance *inst = lh_host_instance(bh->host, name);

	if (!inst) {
		fprintf(stderr, "benchmark setup failed: backend %s is not loaded\n", name);
		exit(1);
	}
	return inst;
}

uint64_t bench_attach(struct lh_instance *inst, const char *host_path)
{
	struct lh_attach_request req = {
		.struct_size = sizeof(req),
		.host_path = host_path,
		.flags = LH_ATTACH_READ_ONLY | LH_ATTACH_LAYER,
		.access = LH_ACCESS_NONE,
		.controller = -1,
		.lun = -1,
	};
	struct lh_attach_result res;
	struct lh_error err = { 0 };

	if (inst->ops->attach(inst->priv, &req, &res, &err))
		bench_die("attach", &err);
	return res.handle;
}

void bench_release(struct lh_instance *inst, uint64_t handle)
{
	struct lh_error err = { 0 };

	if (inst->ops->release(inst->priv, handle, &err))
		bench_die("release", &err);
}

void bench_samples_add(struct bench_samples *s, uint64_t ns)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 1024;
		uint64_t *grown = realloc(s->ns, cap * sizeof(*grown));

		if (!grown)
			bench_die("out of memory", NULL);
		s->ns = grown;
		s->cap = cap;
	}
	s->ns[s->n++] = ns;
}

static int bench_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

uint64_t bench_samples_quantile(struct bench_samples *s, double q)
{
	size_t rank;

	if (!s->n)
		return 0;
	qsort(s->ns, s->n, sizeof(s->ns[0]), bench_cmp_u64);
	rank = (size_t)(q * (double)s->n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > s->n)
		rank = s->n;
	return s->ns[rank - 1];
}

void bench_samples_free(struct bench_samples *s)
{
	free(s->ns);
	memset(s, 0, sizeof(*s));
}

static int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double bench_median(double *v, size_t n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(v[0]), bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

long bench_env_long(const char *name, long fallback)
{
	const char *s = getenv(name);
	char *end;
	long v;

	if (!s || !*s)
		return fallback;
	v = strtol(s, &end, 10);
	return *end == '\0' && v > 0 ? v : fallback;
}
