/* report.c - see report.h. */
#include "report.h"

#include "backend_calls.h"

#include <stdlib.h>

static void add_string(cJSON *obj, const char *key, const char *value)
{
	if (value)
		cJSON_AddStringToObject(obj, key, value);
}

static cJSON *report_attached(const struct lh_attached *a)
{
	cJSON *o = cJSON_CreateObject();

	add_string(o, "backend", a->backend);
	add_string(o, "location", a->location);
	add_string(o, "uvm_path", a->uvm_path);
	add_string(o, "host_path", a->host_path);
	cJSON_AddNumberToObject(o, "handle", (double)a->handle);
	return o;
}

cJSON *lh_report_container(const struct lh_mounted *m)
{
	cJSON *o = cJSON_CreateObject(), *layers;

	add_string(o, "id", m->id);
	add_string(o, "kind", lh_kind_name(m->kind));
	add_string(o, "rootfs", m->rootfs);
	add_string(o, "scratch_path", m->scratch_path);
	if (m->scratch.backend)
		cJSON_AddItemToObject(o, m->kind == LH_KIND_HOST ? "mount" : "scratch",
				      report_attached(&m->scratch));
	layers = cJSON_AddArrayToObject(o, "layers");
	for (size_t i = 0; i < m->n_layers; i++)
		if (m->layers[i].backend)
			cJSON_AddItemToArray(layers, report_attached(&m->layers[i]));
	if (m->kind != LH_KIND_HOST)
		cJSON_AddBoolToObject(o, "combined", m->combined);
	return o;
}

static int report_visit(void *arg, const struct lh_attachment_info *info)
{
	cJSON *o = cJSON_CreateObject();

	add_string(o, "location", info->location);
	add_string(o, "host_path", info->host_path);
	if (info->uvm_path && info->uvm_path[0])
		add_string(o, "uvm_path", info->uvm_path);
	cJSON_AddNumberToObject(o, "refs", info->refs);
	cJSON_AddBoolToObject(o, "read_only", info->read_only);
	add_string(o, "note", info->note);
	cJSON_AddItemToArray(arg, o);
	return 0;
}

/* With a driver that runs a VM: whether it runs, its boot, what is wrong
 * with its helpers. */
static void report_vm(struct lh_host *host, cJSON *o)
{
	struct lh_error err = { 0 };
	cJSON *st = NULL, *vm;

	if (lh_host_vm_status(host, &st, &err) == -LH_EUNSUPPORTED)
		return;
	vm = cJSON_AddObjectToObject(o, "vm");
	cJSON_AddBoolToObject(vm, "running", st && cJSON_IsTrue(cJSON_GetObjectItem(st, "running")));
	if (st && cJSON_GetObjectItem(st, "boot"))
		add_string(vm, "boot", cJSON_GetStringValue(cJSON_GetObjectItem(st, "boot")));
	cJSON_AddItemToObject(vm, "problems", st ? cJSON_DetachItemFromObject(st, "problems")
						  : cJSON_CreateArray());
	cJSON_Delete(st);
}

static int report_records(void *arg, struct lh_mounted *const *records, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(arg, lh_report_container(records[i]));
	return 0;
}

cJSON *lh_report_status(struct lh_host *host)
{
	cJSON *o = cJSON_CreateObject(), *uvm, *backends, *containers;

	uvm = cJSON_AddObjectToObject(o, "uvm");
	add_string(uvm, "id", host->uvm.id);
	add_string(uvm, "os", lh_os_name(host->uvm.os));
	add_string(uvm, "driver", lh_host_driver_name(host));
	cJSON_AddNumberToObject(uvm, "mount_counter", (double)atomic_load(&host->mount_counter));
	if (host->template_name)
		add_string(uvm, "template", host->template_name);
	if (host->uvm.is_clone)
		cJSON_AddBoolToObject(uvm, "clone", true);
	report_vm(host, o);
	backends = cJSON_AddArrayToObject(o, "backends");
	for (size_t i = 0; i < host->n_instances; i++) {
		struct lh_instance *inst = host->instances[i];
		cJSON *b = cJSON_CreateObject(), *list;

		add_string(b, "name", inst->name);
		add_string(b, "file", inst->plugin ? inst->plugin->path : "(linked in)");
		list = cJSON_AddArrayToObject(b, "attachments");
		lh_backend_list(inst, report_visit, list);
		cJSON_AddItemToArray(backends, b);
	}
	containers = cJSON_AddArrayToObject(o, "containers");
	lh_pipeline_with_records(host, report_records, containers);
	return o;
}

static const char *str(const cJSON *o, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

static void print_attached(FILE *out, const char *label, const cJSON *a)
{
	const char *uvm_path = str(a, "uvm_path");

	fprintf(out, "  %-9s %-10s %-22s %s\n", label, str(a, "backend"), str(a, "location"),
		uvm_path ? uvm_path : "-");
	fprintf(out, "  %-9s %-10s %-22s <- %s\n", "", "", "", str(a, "host_path"));
}

void lh_report_print_container(FILE *out, const cJSON *c)
{
	const cJSON *layers = cJSON_GetObjectItemCaseSensitive(c, "layers"), *layer;
	const cJSON *scratch = cJSON_GetObjectItemCaseSensitive(c, "scratch");
	const cJSON *mount = cJSON_GetObjectItemCaseSensitive(c, "mount");
	char label[32];
	int i = 0;

	fprintf(out, "container %s (%s)\n", str(c, "id"), str(c, "kind"));
	fprintf(out, "  rootfs    %s\n", str(c, "rootfs"));
	fprintf(out, "  scratch   %s\n", str(c, "scratch_path"));
	if (scratch)
		print_attached(out, "scratch", scratch);
	if (mount)
		print_attached(out, "mount", mount);
	cJSON_ArrayForEach(layer, layers) {
		snprintf(label, sizeof(label), "layer %d", ++i);
		print_attached(out, label, layer);
	}
}

void lh_report_print_status(FILE *out, const cJSON *status)
{
	const cJSON *uvm = cJSON_GetObjectItemCaseSensitive(status, "uvm");
	const cJSON *backends = cJSON_GetObjectItemCaseSensitive(status, "backends");
	const cJSON *containers = cJSON_GetObjectItemCaseSensitive(status, "containers");
	const cJSON *vm = cJSON_GetObjectItemCaseSensitive(status, "vm");
	const cJSON *b, *a, *c, *p;

	fprintf(out, "uvm %s (%s), driver %s, mount counter %d%s%s\n", str(uvm, "id"),
		str(uvm, "os"), str(uvm, "driver"),
		cJSON_GetObjectItemCaseSensitive(uvm, "mount_counter")->valueint,
		str(uvm, "template") ? ", template " : "",
		str(uvm, "template") ? str(uvm, "template") : "");
	if (vm) {
		fprintf(out, "vm: %s%s%s\n", cJSON_IsTrue(cJSON_GetObjectItem(vm, "running"))
			? "running" : "not running", str(vm, "boot") ? ", boot " : "",
			str(vm, "boot") ? str(vm, "boot") : "");
		cJSON_ArrayForEach(p, cJSON_GetObjectItem(vm, "problems"))
			fprintf(out, "  problem: %s\n", p->valuestring);
	}
	cJSON_ArrayForEach(b, backends) {
		const cJSON *list = cJSON_GetObjectItemCaseSensitive(b, "attachments");

		fprintf(out, "backend %s: %d attachment(s)\n", str(b, "name"),
			cJSON_GetArraySize(list));
		cJSON_ArrayForEach(a, list) {
			const char *note = str(a, "note");

			fprintf(out, "  %-22s refs %-3d %s %s%s%s\n", str(a, "location"),
				cJSON_GetObjectItemCaseSensitive(a, "refs")->valueint,
				cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "read_only")) ? "ro"
											    : "rw",
				str(a, "host_path"), note ? "  # " : "", note ? note : "");
		}
	}
	fprintf(out, "%d container(s) mounted\n", cJSON_GetArraySize(containers));
	cJSON_ArrayForEach(c, containers)
		lh_report_print_container(out, c);
}

void lh_report_print_json(FILE *out, const cJSON *json)
{
	char *text = cJSON_Print(json);

	if (text)
		fprintf(out, "%s\n", text);
	free(text);
}
