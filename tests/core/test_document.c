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
		{ NULL, NULL },
	};

	return cutest_run("document", cases, NULL);
}
