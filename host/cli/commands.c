/* commands.c - see commands.h. */
#include "commands.h"

#include "clone.h"
#include "durable.h"
#include "error.h"
#include "host_state.h"
#include "log.h"
#include "pipeline.h"
#include "registry.h"
#include "report.h"
#include "session.h"
#include "signals.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static int refuse_template(struct lh_session *s)
{
	if (!s->host->uvm.is_template)
		return 0;
	lh_log_print(LH_LOG_ERROR, "UVM %s is saved as template '%s': it takes no more mounts; "
		     "clone it (layerhost clone --template %s ...)", s->host->uvm.id,
		     s->host->template_name ? s->host->template_name : "?",
		     s->host->template_name ? s->host->template_name : "NAME");
	return LH_EXIT_FAILED;
}

/* The containers a command names, or every declared one for none. */
static int select_containers(const struct lh_config *cfg, char *const *names, int n,
			     const struct lh_container_config ***out, size_t *count)
{
	const struct lh_container_config **list;
	size_t total = n ? (size_t)n : cfg->n_containers;

	list = calloc(total ? total : 1, sizeof(*list));
	if (!list)
		return LH_EXIT_FAILED;
	for (size_t i = 0; i < total; i++) {
		list[i] = n ? lh_config_container(cfg, names[i]) : &cfg->containers[i];
		if (!list[i]) {
			lh_log_print(LH_LOG_ERROR, "%s declares no [container.%s]", cfg->path,
				     names[i]);
			free(list);
			return LH_EXIT_USAGE;
		}
		for (size_t j = 0; n && j < i; j++)
			if (list[j] == list[i]) {
				lh_log_print(LH_LOG_ERROR, "container %s is named twice", names[i]);
				free(list);
				return LH_EXIT_USAGE;
			}
	}
	*out = list;
	*count = total;
	return LH_EXIT_OK;
}

/* The containers this command mounted: list[0..n). */
struct mount_undo {
	const struct lh_container_config **list;
	size_t n;
};

/* Unmount what this command mounted, newest first: a mount is all or
 * nothing. What cannot be unmounted stays recorded. */
static void undo_mounts(struct lh_session *s, void *arg)
{
	struct mount_undo *u = arg;

	for (size_t i = u->n; i-- > 0;) {
		struct lh_error err = { 0 };

		if (lh_pipeline_unmount(s->host, u->list[i]->name, &err))
			lh_log_print(LH_LOG_ERROR, "rolling back container %s: %s",
				     u->list[i]->name, err.message);
	}
	if (u->n)
		lh_log_print(LH_LOG_ERROR, "rolled back what this command mounted");
	u->n = 0;
}

int lh_cmd_mount(const struct lh_cli *cli, char *const *names, int n)
{
	const struct lh_container_config **list = NULL;
	struct mount_undo undo = { 0 };
	struct lh_session s;
	cJSON *out = cJSON_CreateArray();
	size_t count = 0;
	int code;

	code = lh_session_open(cli, LH_SESSION_MUTATING, NULL, &s);
	if (code)
		goto done;
	code = select_containers(s.cfg, names, n, &list, &count);
	if (code == 0)
		code = refuse_template(&s);
	if (code == 0 && count == 0)
		lh_log_print(LH_LOG_WARN, "%s declares no containers", s.cfg->path);
	/* Bad input changes nothing: every container is checked before the
	 * first is mounted. */
	for (size_t i = 0; code == 0 && i < count; i++) {
		struct lh_error err = { 0 };

		if (lh_pipeline_validate(s.host, list[i], &err)) {
			lh_report_error(&err);
			code = LH_EXIT_FAILED;
		}
	}
	undo.list = list;
	/* a signal stops before the next container */
	for (size_t i = 0; code == 0 && i < count && !lh_signal_caught(); i++) {
		struct lh_error err = { 0 };

		if (lh_pipeline_mount(s.host, list[i], &err)) {
			lh_report_error(&err);
			code = LH_EXIT_FAILED;
			break;
		}
		undo.n = i + 1;
		cJSON_AddItemToArray(out, lh_report_container(lh_pipeline_find(s.host, list[i]->name)));
	}
	if (code || lh_signal_caught())
		undo_mounts(&s, &undo);
	code = lh_session_commit(&s, code, undo_mounts, &undo);
	/* Told once on disk: what is mounted, and nothing when it was undone. */
	if (undo.n == 0) {
		cJSON_Delete(out);
		out = cJSON_CreateArray();
	}
	if (cli->json) {
		cJSON *wrap = cJSON_CreateObject();

		cJSON_AddItemToObject(wrap, "containers", out);
		out = wrap;
		lh_report_print_json(stdout, out);
	} else {
		for (cJSON *c = out->child; c; c = c->next)
			lh_report_print_container(stdout, c);
	}
done:
	free(list);
	cJSON_Delete(out);
	return code;
}

int lh_cmd_unmount(const struct lh_cli *cli, char *const *names, int n, bool all)
{
	struct lh_session s;
	cJSON *unmounted;
	char **ids = NULL;
	size_t count = 0;
	int code;

	code = lh_session_open(cli, LH_SESSION_MUTATING, NULL, &s);
	if (code)
		return code;
	/* Take the ids first: unmounting changes the list. */
	if (all) {
		struct lh_error err = { 0 };

		if (lh_pipeline_ids(s.host, &ids, &count, &err)) {
			lh_report_error(&err);
			return lh_session_close(&s, false, LH_EXIT_FAILED);
		}
	} else {
		count = (size_t)n;
		ids = calloc(count + 1, sizeof(*ids));
		for (size_t i = 0; ids && i < count; i++)
			ids[i] = strdup(names[i]);
		if (!ids) {
			lh_log_print(LH_LOG_ERROR, "out of memory");
			return lh_session_close(&s, false, LH_EXIT_FAILED);
		}
	}
	unmounted = cJSON_CreateArray();
	/* Newest first, so shared scratches go after the containers on them;
	 * a signal stops before the next container. */
	for (size_t i = count; i-- > 0 && !lh_signal_caught();) {
		struct lh_error err = { 0 };

		if (!ids[i] || lh_pipeline_unmount(s.host, ids[i], &err)) {
			lh_report_error(&err);
			code = LH_EXIT_FAILED;
		} else if (cli->json) {
			cJSON_AddItemToArray(unmounted, cJSON_CreateString(ids[i]));
		} else {
			printf("unmounted %s\n", ids[i]);
		}
	}
	if (cli->json) {
		/* The state afterwards, and which containers this run released. */
		cJSON *status = lh_report_status(s.host);

		cJSON_AddItemToObject(status, "unmounted", unmounted);
		unmounted = NULL;
		lh_report_print_json(stdout, status);
		cJSON_Delete(status);
	}
	cJSON_Delete(unmounted);
	for (size_t i = 0; i < count; i++)
		free(ids[i]);
	free(ids);
	return lh_session_close(&s, true, code);
}

static int print_status(const struct lh_cli *cli, struct lh_session *s)
{
	cJSON *status = lh_report_status(s->host);

	if (cli->json)
		lh_report_print_json(stdout, status);
	else
		lh_report_print_status(stdout, status);
	cJSON_Delete(status);
	return LH_EXIT_OK;
}

int lh_cmd_status(const struct lh_cli *cli)
{
	struct lh_session s;
	int code = lh_session_open(cli, LH_SESSION_READ, NULL, &s);

	if (code)
		return code;
	return lh_session_close(&s, false, print_status(cli, &s));
}

int lh_cmd_restore(const struct lh_cli *cli)
{
	struct lh_session s;
	int code = lh_session_open(cli, LH_SESSION_MUTATING, NULL, &s);

	if (code)
		return code;
	if (!cli->json)
		printf("restored UVM %s from %s\n", s.host->uvm.id, s.cfg->state_path);
	return lh_session_close(&s, false, print_status(cli, &s));
}

int lh_cmd_plan(const struct lh_cli *cli, char *const *names, int n)
{
	const struct lh_container_config **list = NULL;
	struct lh_driver_params params = { .source = cli->config_path };
	struct lh_driver *plan = NULL;
	struct lh_error err = { 0 };
	struct lh_session s;
	cJSON *out = cJSON_CreateObject(), *hostwork = cJSON_AddArrayToObject(out, "host");
	size_t count = 0;
	int code;

	/* The registry's recording driver: it realises nothing and keeps every
	 * request, which is the plan. */
	if (lh_driver_open("plan", &params, &plan, &err)) {
		lh_report_error(&err);
		cJSON_Delete(out);
		return LH_EXIT_FAILED;
	}
	/* The plan runs the real backends against a recording driver, on the
	 * current state, and saves nothing. */
	code = lh_session_open(cli, LH_SESSION_READ, plan, &s);
	if (code)
		goto done;
	code = select_containers(s.cfg, names, n, &list, &count);
	if (code == 0)
		code = refuse_template(&s);
	for (size_t i = 0; code == 0 && i < count; i++) {
		lh_error_clear(&err);
		if (lh_pipeline_kind(s.host) == LH_KIND_HOST) {
			/* Host mounts are real: describe, do not perform. */
			cJSON *w = cJSON_CreateObject();

			code = lh_pipeline_validate(s.host, list[i], &err) ? LH_EXIT_FAILED : 0;
			cJSON_AddStringToObject(w, "container", list[i]->name);
			cJSON_AddStringToObject(w, "backend", s.cfg->host_layers.backends[0]);
			cJSON_AddNumberToObject(w, "layers", (double)list[i]->n_layers);
			cJSON_AddStringToObject(w, "scratch", list[i]->scratch);
			cJSON_AddItemToArray(hostwork, w);
		} else if (lh_pipeline_mount(s.host, list[i], &err)) {
			code = LH_EXIT_FAILED;
		}
		if (code)
			lh_report_error(&err);
	}
	cJSON_AddItemReferenceToObject(out, "requests", (cJSON *)plan->ops->recorded(plan));
	if (code == 0)
		lh_report_print_json(stdout, out);
	code = lh_session_close(&s, false, code);
done:
	free(list);
	cJSON_Delete(out);
	lh_driver_close(plan);
	return code;
}

/* <state folder>/templates/<name>.state; made_dir not NULL: create the
 * folder, and say whether this call made it. */
static int template_path(const struct lh_config *cfg, const char *name, char *out,
			 bool *made_dir)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(cfg->state_path, '/');
	int len = slash ? (int)(slash - cfg->state_path) : 1;

	snprintf(dir, sizeof(dir), "%.*s/templates", len, slash ? cfg->state_path : ".");
	if (made_dir && !(*made_dir = mkdir(dir, 0700) == 0) && errno != EEXIST)
		return -errno;
	if (snprintf(out, PATH_MAX, "%s/%s.state", dir, name) >= PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

/* What save did, as --json prints it; the line without --json is made
 * from it. */
static cJSON *saved_report(const char *uvm_id, const char *state_path, const char *template_name,
			   const char *template_file)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "uvm", uvm_id);
	cJSON_AddStringToObject(o, "state", state_path);
	if (template_name) {
		cJSON_AddStringToObject(o, "template", template_name);
		cJSON_AddStringToObject(o, "template_file", template_file);
	}
	return o;
}

static void print_saved(const struct lh_cli *cli, const cJSON *o)
{
	const char *uvm = cJSON_GetStringValue(cJSON_GetObjectItem(o, "uvm"));
	const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(o, "template"));

	if (cli->json)
		lh_report_print_json(stdout, o);
	else if (name)
		printf("saved UVM %s as template %s (%s); it takes no more mounts\n", uvm, name,
		       cJSON_GetStringValue(cJSON_GetObjectItem(o, "template_file")));
	else
		printf("saved UVM %s to %s\n", uvm,
		       cJSON_GetStringValue(cJSON_GetObjectItem(o, "state")));
}

/* What save --template made, to take back when the state cannot follow. */
struct template_undo {
	char path[PATH_MAX];
	bool existed, made_dir;
};

static void undo_template(struct lh_session *s, void *arg)
{
	const struct template_undo *u = arg;
	struct lh_uvm_identity id;
	char *slash;

	if (!u->existed)
		unlink(u->path);
	slash = strrchr(u->path, '/');
	if (u->made_dir && slash) {
		*slash = '\0';
		rmdir(u->path);
		*slash = '/';
	}
	lh_host_identity(s->host, &id);
	id.is_template = false;
	lh_host_set_identity(s->host, &id, NULL);
}

int lh_cmd_save(const struct lh_cli *cli, const char *template_name, bool force)
{
	struct template_undo undo = { .existed = false };
	char *path = undo.path;
	struct lh_error err = { 0 };
	struct lh_session s;
	cJSON *report;
	struct stat st;
	int code, rc;

	if (template_name && !lh_container_id_valid(template_name)) {
		lh_log_print(LH_LOG_ERROR, "template name '%s' is not valid "
			     "([A-Za-z0-9][A-Za-z0-9_.-]{0,127})", template_name);
		return LH_EXIT_USAGE;
	}
	code = lh_session_open(cli, LH_SESSION_MUTATING, NULL, &s);
	if (code)
		return code;
	/* A template is for cloning, and only a UVM clones: a host-mode state
	 * marked as one would take no mounts and have no clone either. */
	if (template_name && s.host->uvm.os == LH_OS_NONE) {
		lh_log_print(LH_LOG_ERROR, "UVM %s has no VM ([uvm] os = none, host mounts): it "
			     "cannot be saved as a template, as only a VM can be cloned",
			     s.host->uvm.id);
		return lh_session_close(&s, false, LH_EXIT_USAGE);
	}
	if (template_name && !force && template_path(s.cfg, template_name, path, NULL) == 0 &&
	    lstat(path, &st) == 0) {
		lh_log_print(LH_LOG_ERROR, "template '%s' exists (%s); add --force to replace it",
			     template_name, path);
		return lh_session_close(&s, false, LH_EXIT_FAILED);
	}
	if (template_name) {
		rc = template_path(s.cfg, template_name, path, &undo.made_dir);
		if (rc == 0) {
			undo.existed = access(path, F_OK) == 0;
			rc = lh_host_mark_template(s.host, template_name, &err);
			if (rc == 0)
				rc = lh_state_save(s.host, path, &err);
		} else {
			LH_FAIL(&err, rc, "%s: cannot make the templates folder: %s",
				s.cfg->state_path, lh_strerror(rc));
		}
		if (rc) {
			lh_report_error(&err);
			undo_template(&s, &undo);
			return lh_session_close(&s, false, LH_EXIT_FAILED);
		}
	}
	/* Told once the state is on disk, which closing the session does; the
	 * template is one only once the UVM's own state says so. */
	report = saved_report(s.host->uvm.id, s.cfg->state_path, template_name,
			      template_name ? path : NULL);
	code = lh_session_commit(&s, LH_EXIT_OK, template_name ? undo_template : NULL, &undo);
	if (code == LH_EXIT_OK)
		print_saved(cli, report);
	cJSON_Delete(report);
	return code;
}

/* Refuse a file the clone would write that is there already: a clone
 * writes over nothing it did not create. Checked before anything is
 * copied; clones of one template are serialised by its lock, and no
 * placeholder is left that a killed clone would leave behind empty. */
static int refuse_existing(const char *path, struct lh_error *err)
{
	struct stat st;

	if (lstat(path, &st) == 0)
		return LH_FAIL(err, -EEXIST, "%s exists: a clone writes only files it creates "
			       "(give --scratch-dir a new or empty folder)", path);
	if (errno != ENOENT)
		return LH_FAIL(err, -errno, "%s: %s", path, strerror(errno));
	return 0;
}

/* Whether the template file is there; if not, err lists those that are. */
static bool template_exists(const char *file, const char *name, struct lh_error *err)
{
	char dir[PATH_MAX], names[1024] = "";
	const char *slash = strrchr(file, '/');
	struct dirent *e;
	struct stat st;
	DIR *d;

	if (stat(file, &st) == 0)
		return true;
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - file) : 1, slash ? file : ".");
	d = opendir(dir);
	while (d && (e = readdir(d))) {
		size_t n = strlen(e->d_name), used = strlen(names);

		if (n > 6 && strcmp(e->d_name + n - 6, ".state") == 0 && used + n < sizeof(names) - 8)
			snprintf(names + used, sizeof(names) - used, "%s%.*s", used ? ", " : "",
				 (int)(n - 6), e->d_name);
	}
	if (d)
		closedir(d);
	LH_FAIL(err, -ENOENT, "no template '%s' (%s); %s%s", name, file,
		names[0] ? "templates saved in " : "no template is saved in ", dir);
	if (names[0])
		snprintf(err->message + strlen(err->message),
			 sizeof(err->message) - strlen(err->message), ": %s", names);
	return false;
}

struct clone_files {
	const char *state, *document;
};

/* The clone's state, then its document (neither there before: see
 * refuse_existing). On failure neither stays, not even one written whose
 * folder could not be flushed. */
static int commit_clone(void *arg, struct lh_host *clone, const cJSON *document,
			struct lh_error *err)
{
	const struct clone_files *f = arg;
	char *text = NULL;
	int rc = lh_state_save(clone, f->state, err);

	if (rc == 0 && !(text = cJSON_Print(document)))
		rc = LH_FAIL(err, -ENOMEM, "%s: out of memory", f->document);
	if (rc == 0)
		rc = lh_file_replace(f->document, text, strlen(text), 0644, LH_REPLACE_DURABLE,
				     "the compute-system document", err);
	if (rc) {
		unlink(f->document);
		unlink(f->state);
	}
	cJSON_free(text);
	return rc;
}

int lh_cmd_clone(const struct lh_cli *cli, const char *template_name, const char *new_id,
		 const char *scratch_dir)
{
	char template_file[PATH_MAX], state_file[PATH_MAX], doc_file[PATH_MAX];
	char uvm_scratch[PATH_MAX];
	bool made_dir = false;
	struct lh_host *template_host = NULL, *clone = NULL;
	struct lh_state_lock *lock = NULL;
	struct lh_error err = { 0 };
	struct clone_files files = { state_file, doc_file };
	struct lh_clone_commit commit = { commit_clone, &files };
	struct lh_session s;
	cJSON *document = NULL;
	int code;

	if (!lh_container_id_valid(new_id) || !lh_container_id_valid(template_name)) {
		lh_log_print(LH_LOG_ERROR, "'%s' is not a valid %s ([A-Za-z0-9][A-Za-z0-9_.-]{0,127})",
			     lh_container_id_valid(new_id) ? template_name : new_id,
			     lh_container_id_valid(new_id) ? "template name" : "UVM id");
		return LH_EXIT_USAGE;
	}
	memset(&s, 0, sizeof(s));
	code = lh_session_config(cli, &s);
	if (code) {
		lh_report_error(&s.err);
		lh_config_free(s.cfg);
		return code;
	}
	if (template_path(s.cfg, template_name, template_file, NULL) ||
	    snprintf(state_file, sizeof(state_file), "%s/layerhost.state", scratch_dir) >=
		    (int)sizeof(state_file) ||
	    snprintf(doc_file, sizeof(doc_file), "%s/%s.json", scratch_dir, new_id) >=
		    (int)sizeof(doc_file) ||
	    snprintf(uvm_scratch, sizeof(uvm_scratch), "%s/scratch", scratch_dir) >=
		    (int)sizeof(uvm_scratch)) {
		lh_log_print(LH_LOG_ERROR, "path too long");
		lh_config_free(s.cfg);
		return LH_EXIT_USAGE;
	}
	code = LH_EXIT_FAILED;
	if (!template_exists(template_file, template_name, &err))
		goto out;
	if (lh_state_lock_acquire(template_file, s.cfg->lock_timeout_ms, &lock, &err))
		goto out;
	if (lh_host_open(s.cfg, NULL, NULL, &template_host, &err)) {
		code = LH_EXIT_USAGE;
		goto out;
	}
	if (lh_state_load(template_host, template_file, &err))
		goto out;
	if (!template_host->uvm.is_template) {
		LH_FAIL(&err, -EINVAL, "%s: not a template", template_file);
		goto out;
	}
	/* once begun, a clone is finished (or undone): a signal stops it here */
	if (lh_signal_caught()) {
		LH_FAIL(&err, -EINTR, "clone %s: stopped before it began", new_id);
		goto out;
	}
	/* Everything the clone owns goes under DIR: the UVM's scratch folder
	 * DIR/scratch, the other writable disks beside it, state, document. */
	if (mkdir(scratch_dir, 0700) == 0) {
		made_dir = true;
	} else if (errno != EEXIST) {
		LH_FAIL(&err, -errno, "%s: cannot create: %s", scratch_dir, strerror(errno));
		goto out;
	}
	/* DIR may be any folder, even the template's own: nothing there is
	 * written over. */
	if (refuse_existing(state_file, &err) || refuse_existing(doc_file, &err))
		goto out;
	if (lh_clone_build(template_host, new_id, uvm_scratch, template_host->driver, &commit,
			   &clone, &document, &err))
		goto out;
	if (cli->json) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "template", template_name);
		cJSON_AddStringToObject(o, "uvm", new_id);
		cJSON_AddStringToObject(o, "state", state_file);
		cJSON_AddStringToObject(o, "document", doc_file);
		lh_report_print_json(stdout, o);
		cJSON_Delete(o);
	} else {
		printf("cloned template %s as UVM %s\n  state     %s\n  document  %s\n"
		       "use it with: layerhost --config %s --uvm-id %s --state %s ...\n",
		       template_name, new_id, state_file, doc_file, cli->config_path, new_id,
		       state_file);
	}
	code = LH_EXIT_OK;
out:
	if (code)
		lh_report_error(&err);
	if (code && made_dir)
		rmdir(scratch_dir); /* only if the failed clone left it empty */
	cJSON_Delete(document);
	lh_host_close(clone);
	lh_host_close(template_host);
	lh_state_lock_release(lock);
	lh_config_free(s.cfg);
	return code;
}
