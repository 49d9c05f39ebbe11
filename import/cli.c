/* cli.c - `layerhost import`: options, then the INI section or JSON that
 * mounts the imported image (see import.h). */
#include "import.h"
#include "importer.h"

#include <cjson/cJSON.h>

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char usage_text[] =
	"Usage: layerhost import OCI_LAYOUT[:REF] --store DIR [--name NAME] [--scratch]\n"
	"                        [--json] [--quiet]\n"
	"\n"
	"Import the image REF (a tag, a manifest digest, or the layout's only image) of\n"
	"the OCI image layout OCI_LAYOUT into the store DIR: each layer becomes\n"
	"DIR/<diffID>/layer.vhd, an ext4 image with a VHD footer, checked against every\n"
	"digest the image carries; layers already in DIR are kept. Then print the\n"
	"[container.NAME] section that mounts the image, layers base first.\n"
	"\n"
	"  --store DIR    where the layer folders go (made if missing)\n"
	"  --name NAME    the container's name (default: REF, else the layout's folder name)\n"
	"  --scratch      also make DIR/scratch/NAME/sandbox.vhdx, a blank 20 GiB scratch\n"
	"                 (needs qemu-img)\n"
	"  --json         print the layer folders and per-layer figures as JSON\n"
	"  --quiet        no progress and no notes on stderr (errors and warnings stay)\n"
	"  -h, --help     this help\n"
	"\n"
	"Exit status: 0 imported, 1 the image could not be imported (the store is left as\n"
	"it was), 2 usage error.\n";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("layerhost import: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'layerhost import --help'.\n", stderr);
	return LH_IMPORT_EXIT_USAGE;
}

/* A name the config takes for a container: [A-Za-z0-9][A-Za-z0-9_.-]{0,127}
 * (the config's rule, restated: the importer links no part of the host). */
static bool valid_name(const char *s)
{
	size_t n = 0;

	if (!isalnum((unsigned char)s[0]))
		return false;
	for (; s[n]; n++)
		if (n >= 128 || !(isalnum((unsigned char)s[n]) || s[n] == '_' || s[n] == '.' ||
				  s[n] == '-'))
			return false;
	return true;
}

/* An error message as the user sees it: a tar's names may hold anything. */
static void print_error(const char *msg)
{
	fputs("layerhost import: ", stderr);
	for (const unsigned char *p = (const unsigned char *)msg; *p; p++)
		fputc(*p < 0x20 || *p == 0x7f ? '?' : *p, stderr);
	fputc('\n', stderr);
}

/*
 * LAYOUT[:REF]: a folder that exists is the layout, whole; else what
 * follows the last ':' is the reference, or ":sha256:<64 hex>" at the end
 * is a digest.
 */
static int split_ref(const char *arg, char **layout, char **ref)
{
	const size_t digest_len = 1 + LH_DIGEST_STR_MAX - 1; /* ":sha256:<hex>" */
	size_t len = strlen(arg);
	const char *colon = strrchr(arg, ':');
	struct stat st;

	*layout = *ref = NULL;
	if (stat(arg, &st) == 0 || !colon) {
		*layout = strdup(arg);
		return *layout ? 0 : -ENOMEM;
	}
	if (len > digest_len && strncmp(arg + len - digest_len, ":sha256:", 8) == 0)
		colon = arg + len - digest_len;
	*layout = strndup(arg, (size_t)(colon - arg));
	if (colon[1] && !(*ref = strdup(colon + 1))) {
		free(*layout);
		*layout = NULL;
	}
	return *layout ? 0 : -ENOMEM;
}

/* The default name: REF, else the layout folder's, made a valid id. */
static void default_name(const char *layout, const char *ref, char *out, size_t cap)
{
	char copy[4096];
	const char *src = ref;
	size_t n = 0;

	if (!src || strncmp(src, "sha256:", 7) == 0) {
		snprintf(copy, sizeof(copy), "%s", layout);
		src = basename(copy);
	}
	for (; *src && n + 1 < cap && n < 128; src++) {
		char c = *src;

		if (n == 0 && !isalnum((unsigned char)c))
			continue;
		out[n++] = isalnum((unsigned char)c) || c == '_' || c == '.' || c == '-' ? c : '-';
	}
	out[n] = '\0';
	if (n == 0)
		snprintf(out, cap, "image");
}

static void print_ini(const struct lh_import_result *r, const char *layout, const char *name)
{
	printf("; layerhost import %s%s%s: manifest %s, %s, %zu layer%s\n", layout,
	       r->image->ref ? ":" : "", r->image->ref ? r->image->ref : "", r->image->manifest,
	       r->image->architecture ? r->image->architecture : "architecture unknown",
	       r->n_layers, r->n_layers == 1 ? "" : "s");
	printf("[container.%s]\n", name);
	printf("layers = ");
	for (size_t i = 0; i < r->n_layers; i++)
		printf("%s%s%s", i ? "    " : "", r->layers[i].folder,
		       i + 1 < r->n_layers ? ",\n" : "\n");
	if (r->scratch) {
		printf("scratch = %s\n", r->scratch);
		if (!r->scratch_created) {
			struct stat st;

			if (stat(r->scratch, &st) != 0)
				printf("; that folder does not exist yet: run again with --scratch "
				       "to make it (with a blank sandbox.vhdx for a UVM)\n");
		}
	}
}

static int print_json(const struct lh_import_result *r, const char *layout, const char *name)
{
	cJSON *root = cJSON_CreateObject(), *folders, *layers;
	char *text;

	if (!root)
		return -ENOMEM;
	cJSON_AddStringToObject(root, "name", name);
	cJSON_AddStringToObject(root, "layout", layout);
	if (r->image->ref)
		cJSON_AddStringToObject(root, "ref", r->image->ref);
	cJSON_AddStringToObject(root, "manifest", r->image->manifest);
	cJSON_AddStringToObject(root, "config", r->image->config);
	if (r->image->architecture)
		cJSON_AddStringToObject(root, "architecture", r->image->architecture);
	cJSON_AddStringToObject(root, "store", r->store);
	folders = cJSON_AddArrayToObject(root, "layers");
	for (size_t i = 0; folders && i < r->n_layers; i++)
		cJSON_AddItemToArray(folders, cJSON_CreateString(r->layers[i].folder));
	if (r->scratch) {
		cJSON_AddStringToObject(root, "scratch", r->scratch);
		cJSON_AddBoolToObject(root, "scratch_created", r->scratch_created);
	}
	layers = cJSON_AddArrayToObject(root, "layer_details");
	for (size_t i = 0; layers && i < r->n_layers; i++) {
		const struct lh_import_layer *L = &r->layers[i];
		cJSON *o = cJSON_CreateObject();

		if (!o)
			break;
		cJSON_AddStringToObject(o, "folder", L->folder);
		cJSON_AddStringToObject(o, "diff_id", L->ref->diff_id);
		cJSON_AddStringToObject(o, "blob", L->ref->digest);
		cJSON_AddStringToObject(o, "media_type", L->ref->media_type);
		cJSON_AddNumberToObject(o, "blob_bytes", (double)L->ref->size);
		cJSON_AddBoolToObject(o, "converted", L->converted);
		if (L->converted) {
			cJSON_AddNumberToObject(o, "entries", (double)L->conv.entries);
			cJSON_AddNumberToObject(o, "tar_bytes", (double)L->conv.tar_bytes);
			cJSON_AddNumberToObject(o, "whiteouts", (double)L->conv.tree.whiteouts);
			cJSON_AddNumberToObject(o, "opaque_dirs", (double)L->conv.tree.opaque);
			cJSON_AddNumberToObject(o, "seconds", L->seconds);
		}
		cJSON_AddNumberToObject(o, "image_bytes", (double)L->image_bytes);
		cJSON_AddItemToArray(layers, o);
	}
	cJSON_AddNumberToObject(root, "seconds", r->seconds);
	text = cJSON_Print(root);
	cJSON_Delete(root);
	if (!text)
		return -ENOMEM;
	puts(text);
	free(text);
	return 0;
}

int lh_import_main(int argc, char **argv)
{
	enum { OPT_STORE = 256, OPT_NAME, OPT_JSON, OPT_QUIET, OPT_SCRATCH };
	static const struct option options[] = {
		{ "store", required_argument, NULL, OPT_STORE },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "quiet", no_argument, NULL, OPT_QUIET },
		{ "scratch", no_argument, NULL, OPT_SCRATCH },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lh_import_options o = { .log = stderr };
	struct lh_import_result res = { 0 };
	struct lh_error err = { 0 };
	char *layout = NULL, *ref = NULL, name[130];
	bool json = false;
	int opt, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case OPT_STORE: o.store = optarg; break;
		case OPT_NAME: o.name = optarg; break;
		case OPT_JSON: json = true; break;
		case OPT_QUIET: o.quiet = true; break;
		case OPT_SCRATCH: o.scratch = true; break;
		case 'h': fputs(usage_text, stdout); return LH_IMPORT_EXIT_OK;
		default: fputs("Try 'layerhost import --help'.\n", stderr); return LH_IMPORT_EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return usage_error("%s", "which image? OCI_LAYOUT[:REF] is missing");
	if (optind + 1 < argc)
		return usage_error("unexpected argument '%s'", argv[optind + 1]);
	if (!o.store)
		return usage_error("%s", "--store DIR is required");
	if (o.name && !valid_name(o.name))
		return usage_error("--name: '%s' is not a valid container name "
				   "([A-Za-z0-9][A-Za-z0-9_.-]{0,127})",
				   o.name);
	if (split_ref(argv[optind], &layout, &ref)) {
		print_error("out of memory");
		return LH_IMPORT_EXIT_FAILED;
	}
	o.layout = layout;
	o.ref = ref;
	if (!o.name) {
		default_name(layout, ref, name, sizeof(name));
		o.name = name;
	}

	rc = lh_import_run(&o, &res, &err);
	if (rc) {
		print_error(err.code ? err.message : strerror(-rc));
	} else if (json) {
		rc = print_json(&res, layout, o.name);
		if (rc)
			print_error("out of memory");
	} else {
		print_ini(&res, layout, o.name);
	}
	lh_import_result_free(&res);
	free(layout);
	free(ref);
	return rc ? LH_IMPORT_EXIT_FAILED : LH_IMPORT_EXIT_OK;
}
