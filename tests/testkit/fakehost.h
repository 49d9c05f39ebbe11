/*
 * fakehost.h - a recording host-services table for driving one backend
 * through its ops table in a unit test.
 *
 * It records every HCS request (as canonical JSON text), can fail the k-th
 * request, grants and counts access, keeps a mount counter, and offers the
 * real disk probe, copy and gob codec of the host. It loads plugins from
 * the build tree's plugin folder with the real loader.
 */
#ifndef LH_TEST_FAKEHOST_H
#define LH_TEST_FAKEHOST_H

#include <layerhost/backend.h>

#include <cjson/cJSON.h>

#define FH_MAX_REQUESTS 65536

struct fakehost {
	struct lh_host_services services;
	struct lh_uvm_info uvm;
	char uvm_id[64];

	/* Every request issued, in order, as compact JSON (malloc'd). */
	char **requests;
	size_t n_requests;
	size_t cap_requests;
	/* Requests attempted (including failed ones). */
	size_t n_attempts;
	/* Fail the attempt with this 1-based index (0: never) with fail_code. */
	size_t fail_at;
	int fail_code;
	/* Fail every attempt from fail_at on, not just that one. */
	bool fail_from;

	uint64_t mount_counter;
	size_t n_grants;
	enum lh_vm_access last_grant;
	char last_grant_path[LH_PATH_CAP];

	/* copy_file: the number of calls; fail the copy with this index (1-based). */
	size_t n_copies;
	size_t fail_copy_at;

	/* Clone document (document_add); NULL unless fakehost_enable_document. */
	cJSON *document;

	/* Log lines, for asserting a message was logged. */
	char last_log[1024];
	size_t n_logs;

	/* The instance under test. */
	const struct lh_backend *backend;
	void *priv;
	void *plugin; /* struct lh_plugin *, from the loader */
};

/* Prepare a fake host for a UVM of the given OS with id "uvm-test". */
void fakehost_init(struct fakehost *fh, enum lh_uvm_os os);
/* Close the instance (if open), unload the plugin, free everything. */
void fakehost_fini(struct fakehost *fh);

/* Give this host a clone document (document_add works afterwards). */
void fakehost_enable_document(struct fakehost *fh);

/*
 * Load plugin `name` from the build tree, parse `options` (NULL-terminated
 * "key", "value" pairs, may be NULL) over the defaults into a fresh priv and
 * call open. Returns 0 or the failing code with err filled.
 */
int fakehost_open(struct fakehost *fh, const char *name, const char *const *options,
		  struct lh_error *err);

/* Open a second instance of fh's backend on clone_fh (same options),
 * for clone tests; clone_fh must be initialised and have a document. */
int fakehost_open_like(struct fakehost *clone_fh, const struct fakehost *fh,
		       const char *const *options, struct lh_error *err);

/* Request i (0-based) as compact JSON, or NULL. */
const char *fakehost_request(const struct fakehost *fh, size_t i);
/* Forget recorded requests (attempt counter too). */
void fakehost_clear_requests(struct fakehost *fh);

/* Encode fh's backend state with the real gob encoder; *data malloc'd. */
int fakehost_encode(struct fakehost *fh, uint8_t **data, size_t *len, struct lh_error *err);
/* Decode bytes into fh's (freshly opened) instance. */
int fakehost_decode(struct fakehost *fh, const uint8_t *data, size_t len, struct lh_error *err);
/* The same, telling the backend the blob was written under `version` (the
 * host records it beside the blob; fakehost_decode says the backend's own). */
int fakehost_decode_version(struct fakehost *fh, const uint8_t *data, size_t len,
			    uint32_t version, struct lh_error *err);

/* A zeroed attach request with struct_size set and controller/lun -1. */
struct lh_attach_request fakehost_request_init(const char *host_path, uint32_t flags);

/* Count live attachments reported by the backend's list slot. */
size_t fakehost_count_attachments(struct fakehost *fh);

/*
 * Compare text with the golden file tests/golden/<name>. With the
 * environment variable LH_UPDATE_GOLDEN=1 the file is (re)written instead.
 * Returns 1 when equal; on a difference prints both to stderr.
 */
int golden_check(const char *name, const char *text);
/* The same for bytes. */
int golden_check_bytes(const char *name, const uint8_t *data, size_t len);

#endif
