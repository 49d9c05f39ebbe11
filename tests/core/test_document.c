/*
 * test_document.c - lh_document_add: paths created on the way, "-" appends,
 * refusals that leave the document exactly as it was.
 */
#include "cutest.h"

#include "document.h"
#include "fakehost.h"

#include <errno.h>
#include <stdlib.h>

/* The document as compact JSON (caller frees). */
static char *doc_text(const cJSON *doc)
{
	return cJSON_PrintUnformatted(doc);
}

static void expect_doc(const cJSON *doc, const char *want)
{
	char *got = doc_text(doc);

	CU_ASSERT_PTR_NOT_NULL_FATAL(got);
	if (strcmp(got, want) != 0)
		fprintf(stderr, "\n  want %s\n  got  %s\n", want, got);
	CU_ASSERT_STRING_EQUAL(got, want);
	free(got);
}

/* Adding `json` at `path` fails with `code`, names `what`, changes nothing. */
static void expect_refused(cJSON *doc, const char *path, const char *json, int code,
			   const char *what)
{
	struct lh_error err = { 0 };
	char *before = doc_text(doc);

	CU_ASSERT_EQUAL(lh_document_add(doc, path, json, &err), code);
	CU_ASSERT_EQUAL(err.code, code);
	ASSERT_MSG_HAS(err, what);
	expect_doc(doc, before);
	free(before);
}

static void test_paths_created(void)
{
	cJSON *doc = cJSON_CreateObject();
	struct lh_error err = { 0 };

	CU_ASSERT_EQUAL(lh_document_add(doc, "a/b/c", "1", &err), 0);
	expect_doc(doc, "{\"a\":{\"b\":{\"c\":1}}}");
	CU_ASSERT_EQUAL(lh_document_add(doc, "a/b/d", "\"x\"", &err), 0);
	CU_ASSERT_EQUAL(lh_document_add(doc, "a/e", "{\"k\":[true,null]}", &err), 0);
	CU_ASSERT_EQUAL(lh_document_add(doc, "top", "false", &err), 0);
	expect_doc(doc, "{\"a\":{\"b\":{\"c\":1,\"d\":\"x\"},\"e\":{\"k\":[true,null]}},\"top\":false}");
	/* Keys are case-sensitive: "A" is not "a". */
	CU_ASSERT_EQUAL(lh_document_add(doc, "A", "2", &err), 0);
	CU_ASSERT_EQUAL(err.code, 0);
	cJSON_Delete(doc);
}

static void test_append(void)
{
	cJSON *doc = cJSON_CreateObject();
	struct lh_error err = { 0 };

	CU_ASSERT_EQUAL(lh_document_add(doc, "list/-", "1", &err), 0);
	CU_ASSERT_EQUAL(lh_document_add(doc, "list/-", "{\"two\":2}", &err), 0);
	CU_ASSERT_EQUAL(lh_document_add(doc, "deep/er/-", "\"s\"", &err), 0);
	expect_doc(doc, "{\"list\":[1,{\"two\":2}],\"deep\":{\"er\":[\"s\"]}}");
	/* "-" on something that is not an array. */
	expect_refused(doc, "deep/-", "3", -EINVAL, "not an array");
	cJSON_Delete(doc);
}

static void test_eexist(void)
{
	cJSON *doc = cJSON_CreateObject();
	struct lh_error err = { 0 };

	CU_ASSERT_EQUAL(lh_document_add(doc, "VirtualMachine/Devices/Scsi/x/Attachments/0",
					"{\"Type\":\"VirtualDisk\"}", &err), 0);
	expect_refused(doc, "VirtualMachine/Devices/Scsi/x/Attachments/0", "{}", -EEXIST,
		       "VirtualMachine/Devices/Scsi/x/Attachments/0 is already present");
	expect_refused(doc, "VirtualMachine", "1", -EEXIST, "already present");
	cJSON_Delete(doc);
}

static void test_bad_json(void)
{
	cJSON *doc = cJSON_CreateObject();
	struct lh_error err = { 0 };

	CU_ASSERT_EQUAL(lh_document_add(doc, "keep", "1", &err), 0);
	expect_refused(doc, "new/path/here", "{\"unclosed\":", -EINVAL, "not valid JSON");
	expect_refused(doc, "new", "", -EINVAL, "new");
	cJSON_Delete(doc);
}

static void test_nothing_changed_on_failure(void)
{
	cJSON *doc = cJSON_CreateObject();
	struct lh_error err = { 0 };

	CU_ASSERT_EQUAL(lh_document_add(doc, "a/n", "5", &err), 0);
	/* Through a number. */
	expect_refused(doc, "a/n/x", "1", -EINVAL, "'x' is not inside an object");
	/* "-" in the middle creates an array, then fails below it: the new
	 * array must go again. */
	expect_refused(doc, "fresh/-/x", "1", -EINVAL, "fresh/-/x");
	/* A failure deep under new objects takes them all out. */
	expect_refused(doc, "a/new1/new2/-/y", "1", -EINVAL, "a/new1/new2/-/y");
	/* No key at all. */
	expect_refused(doc, "", "1", -EINVAL, "names no key");
	expect_refused(doc, "/", "1", -EINVAL, "names no key");
	expect_doc(doc, "{\"a\":{\"n\":5}}");
	cJSON_Delete(doc);
}

/* A clone's compute-system document built the way backends build it,
 * against a golden file. */
/* Keys where Go's encoding/json puts them: map keys sorted as strings
 * (controller 1's GUID sorts before controller 0's; LUN "10" before "2"),
 * struct fields in hcsschema's order. */
static void test_normalize_go_order(void)
{
	static const char *const adds[][2] = {
		{ "VirtualMachine/RestoreState/TemplateSystemId", "\"t\"" },
		{ "VirtualMachine/Devices/VirtualSmb/DirectFileMappingInMB", "1024" },
		{ "VirtualMachine/Devices/VirtualSmb/Shares/-", "{\"Name\":\"s1\"}" },
		{ "VirtualMachine/Devices/HvSocket", "{}" },
		{ "VirtualMachine/Devices/Scsi/df6d0690-79e5-55b6-a5ec-c1e2f77f580a/Attachments/2",
		  "{\"Path\":\"a\"}" },
		{ "VirtualMachine/Devices/Scsi/df6d0690-79e5-55b6-a5ec-c1e2f77f580a/Attachments/10",
		  "{\"Path\":\"b\"}" },
		{ "VirtualMachine/Devices/Scsi/0110f83b-de10-5172-a266-78bca56bf50a/Attachments/0",
		  "{\"Path\":\"c\"}" },
		{ "VirtualMachine/Devices/VirtualPMem/Devices/1", "{}" },
		{ "VirtualMachine/Devices/VirtualPMem/Devices/0", "{}" },
		{ "VirtualMachine/StopOnReset", "true" },
		{ "ShouldTerminateOnLastHandleClosed", "true" },
		{ "Owner", "\"o\"" },
	};
	cJSON *doc = cJSON_CreateObject();
	struct lh_error err = { 0 };

	for (size_t i = 0; i < sizeof(adds) / sizeof(adds[0]); i++)
		CU_ASSERT_EQUAL(lh_document_add(doc, adds[i][0], adds[i][1], &err), 0);
	lh_document_normalize(doc);
	expect_doc(doc, "{\"Owner\":\"o\",\"VirtualMachine\":{\"StopOnReset\":true,\"Devices\":{"
		   "\"Scsi\":{\"0110f83b-de10-5172-a266-78bca56bf50a\":{\"Attachments\":{\"0\":"
		   "{\"Path\":\"c\"}}},\"df6d0690-79e5-55b6-a5ec-c1e2f77f580a\":{\"Attachments\":{"
		   "\"10\":{\"Path\":\"b\"},\"2\":{\"Path\":\"a\"}}}},\"VirtualPMem\":{\"Devices\":{"
		   "\"0\":{},\"1\":{}}},\"HvSocket\":{},\"VirtualSmb\":{\"Shares\":[{\"Name\":\"s1\"}],"
		   "\"DirectFileMappingInMB\":1024}},\"RestoreState\":{\"TemplateSystemId\":\"t\"}},"
		   "\"ShouldTerminateOnLastHandleClosed\":true}");
	cJSON_Delete(doc);
}

/* The base documents, as hcsshim's UVM creation writes them. */
static void test_base_documents(void)
{
	struct lh_document_uvm w = { .os = LH_OS_WINDOWS, .owner = "layerhost", .memory_mb = 1024,
				     .processors = 2, .allow_overcommit = true,
				     .scratch_path = "/c/sandbox.vhdx" };
	struct lh_document_uvm l = { .os = LH_OS_LINUX, .owner = "layerhost", .memory_mb = 512,
				     .processors = 2, .allow_overcommit = false };
	cJSON *doc = lh_document_base(&w);

	expect_doc(doc, "{\"Owner\":\"layerhost\",\"SchemaVersion\":{\"Major\":2,\"Minor\":1},"
		   "\"VirtualMachine\":{\"StopOnReset\":true,\"Chipset\":{\"Uefi\":{\"BootThis\":{"
		   "\"DeviceType\":\"VmbFs\",\"DevicePath\":\"\\\\EFI\\\\Microsoft\\\\Boot\\\\"
		   "bootmgfw.efi\"}}},\"ComputeTopology\":{\"Memory\":{\"SizeInMB\":1024,"
		   "\"AllowOvercommit\":true,\"EnableHotHint\":true},\"Processor\":{\"Count\":2}},"
		   "\"Devices\":{\"Scsi\":{\"df6d0690-79e5-55b6-a5ec-c1e2f77f580a\":{\"Attachments\":"
		   "{\"0\":{\"Type\":\"VirtualDisk\",\"Path\":\"/c/sandbox.vhdx\"}}}},\"HvSocket\":{"
		   "\"HvSocketConfig\":{\"DefaultBindSecurityDescriptor\":\"D:P(A;;FA;;;SY)"
		   "(A;;FA;;;BA)\"}},\"VirtualSmb\":{\"DirectFileMappingInMB\":1024}}},"
		   "\"ShouldTerminateOnLastHandleClosed\":true}");
	cJSON_Delete(doc);
	doc = lh_document_base(&l);
	expect_doc(doc, "{\"Owner\":\"layerhost\",\"SchemaVersion\":{\"Major\":2,\"Minor\":1},"
		   "\"VirtualMachine\":{\"StopOnReset\":true,\"Chipset\":{},\"ComputeTopology\":{"
		   "\"Memory\":{\"SizeInMB\":512},\"Processor\":{\"Count\":2}},\"Devices\":{"
		   "\"HvSocket\":{\"HvSocketConfig\":{\"DefaultBindSecurityDescriptor\":"
		   "\"D:P(A;;FA;;;SY)(A;;FA;;;BA)\"}},\"VirtualSmb\":{\"DirectFileMappingInMB\":1024}}},"
		   "\"ShouldTerminateOnLastHandleClosed\":true}");
	cJSON_Delete(doc);
}

static void test_clone_document_golden(void)
{
	cJSON *doc = cJSON_CreateObject();
	struct lh_error err = { 0 };
	char *text;

	CU_ASSERT_EQUAL(lh_document_add(doc,
		"VirtualMachine/Devices/Scsi/df6d0690-79e5-55b6-a5ec-c1e2f77f580a/Attachments/0",
		"{\"Type\":\"VirtualDisk\",\"Path\":\"/clone/sandbox.vhdx\"}", &err), 0);
	CU_ASSERT_EQUAL(lh_document_add(doc,
		"VirtualMachine/Devices/Scsi/df6d0690-79e5-55b6-a5ec-c1e2f77f580a/Attachments/1",
		"{\"Type\":\"VirtualDisk\",\"Path\":\"/layers/a.vhd\",\"ReadOnly\":true}", &err), 0);
	CU_ASSERT_EQUAL(lh_document_add(doc, "VirtualMachine/Devices/VirtualPMem/Devices/0",
		"{\"HostPath\":\"/layers/b.vhd\",\"ReadOnly\":true,\"ImageFormat\":\"Vhd1\"}", &err), 0);
	CU_ASSERT_EQUAL(lh_document_add(doc, "VirtualMachine/Devices/VirtualSmb/Shares/-",
		"{\"Name\":\"s1\",\"Path\":\"/layers/c\",\"Options\":{\"ReadOnly\":true}}", &err), 0);
	CU_ASSERT_EQUAL(lh_document_add(doc, "VirtualMachine/RestoreState/TemplateSystemId",
		"\"uvm-template\"", &err), 0);
	CU_ASSERT_EQUAL(err.code, 0);
	text = cJSON_Print(doc);
	CU_ASSERT(golden_check("core/clone_document.json", text));
	free(text);
	cJSON_Delete(doc);
}

int main(void)
{
	static const struct cutest_case cases[] = {
		{ "objects created on the way", test_paths_created },
		{ "\"-\" appends", test_append },
		{ "EEXIST", test_eexist },
		{ "bad JSON", test_bad_json },
		{ "nothing changed on failure", test_nothing_changed_on_failure },
		{ "clone document golden", test_clone_document_golden },
		{ "keys in Go's order", test_normalize_go_order },
		{ "base documents", test_base_documents },
		{ NULL, NULL },
	};

	return cutest_run("document", cases, NULL);
}
