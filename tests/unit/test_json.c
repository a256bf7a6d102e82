/* The JSON writer: structure, numbers, and strings of arbitrary bytes that
 * a strict decoder (written here from RFC 8259, section 7) turns back into
 * the same bytes, with only printable ASCII on the wire. */
// UNIT-SOURCES: hypervisor/lib/json.c hypervisor/lib/string.c
#include <lib/json.h>
#include <string.h>
#include "unit.h"

static char out[8192];
static size_t out_len;

static void sink(void *ctx, const char *s, size_t len)
{
	(void)ctx;
	if (out_len + len < sizeof(out)) {
		memcpy(out + out_len, s, len);
		out_len += len;
	}
	out[out_len] = '\0';
}

static void reset(struct json *j)
{
	out_len = 0;
	out[0] = '\0';
	json_init(j, sink, NULL);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes one JSON string at s (which starts at its opening quote) into
 * bytes, each \u escape at most 0xff; returns its length, or -1 if it is not a
 * valid string or leaves anything outside printable ASCII unescaped. */
static long decode(const char *s, unsigned char *bytes)
{
	static const char simple[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
	long n = 0;

	if (*s++ != '"')
		return -1;
	for (; *s != '"'; s++) {
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return -1;
		if (*s != '\\') {
			bytes[n++] = (unsigned char)*s;
			continue;
		}
		s++;
		if (*s == 'u') {
			if (s[1] != '0' || s[2] != '0' || hexval(s[3]) < 0 || hexval(s[4]) < 0)
				return -1;
			bytes[n++] = (unsigned char)(hexval(s[3]) << 4 | hexval(s[4]));
			s += 4;
			continue;
		}
		const char *e = strchr(simple, *s);

		if (!*s || !e || (e - simple) % 2)
			return -1;
		bytes[n++] = (unsigned char)e[1];
	}
	return s[1] == '\0' ? n : -1;
}

static void test_every_byte(void)
{
	struct json j;
	char all[256];
	unsigned char back[256];

	for (unsigned i = 0; i < 256; i++)
		all[i] = (char)i;
	reset(&j);
	json_strn(&j, NULL, all, sizeof(all));
	CHECK_EQ(decode(out, back), 256);
	CHECK(!memcmp(all, back, sizeof(all)));
	for (unsigned i = 0; i < 256; i++) {
		char one = (char)i;

		reset(&j);
		json_strn(&j, NULL, &one, 1);
		CHECK_MSG(decode(out, back) == 1 && back[0] == i, "byte %#x -> %s", i, out);
	}
}

static void test_escapes(void)
{
	struct json j;

	reset(&j);
	json_str(&j, NULL, "a\"b\\c\n\x01\x7f\xff\t");
	CHECK_MSG(!strcmp(out, "\"a\\\"b\\\\c\\n\\u0001\\u007f\\u00ff\\t\""), "%s", out);
	reset(&j);
	json_object_begin(&j, NULL);
	json_str(&j, "k\"ey", "");
	json_object_end(&j);
	CHECK_MSG(!strcmp(out, "{\"k\\\"ey\":\"\"}"), "%s", out);
	/* A string in chunks is one string: the escapes do not depend on the cut. */
	reset(&j);
	json_str_begin(&j, NULL);
	json_str_chunk(&j, "x\"", 2);
	json_str_chunk(&j, "", 0);
	json_str_chunk(&j, "\\y", 2);
	json_str_end(&j);
	CHECK_MSG(!strcmp(out, "\"x\\\"\\\\y\""), "%s", out);
}

static void test_structure(void)
{
	struct json j;

	reset(&j);
	json_object_begin(&j, NULL);
	json_str(&j, "type", "reply");
	json_u64(&j, "zero", 0);
	json_u64(&j, "max", UINT64_MAX);
	json_i64(&j, "neg", INT64_MIN);
	json_i64(&j, "pos", 7);
	json_bool(&j, "ok", true);
	json_array_begin(&j, "vms");
	json_object_begin(&j, NULL);
	json_u64(&j, "id", 1);
	json_bool(&j, "f", false);
	json_object_end(&j);
	json_object_begin(&j, NULL);
	json_object_end(&j);
	json_array_end(&j);
	json_array_begin(&j, "empty");
	json_array_end(&j);
	json_u64(&j, "after", 3);
	json_object_end(&j);
	CHECK_MSG(!strcmp(out, "{\"type\":\"reply\",\"zero\":0,\"max\":18446744073709551615,"
			  "\"neg\":-9223372036854775808,\"pos\":7,\"ok\":true,"
			  "\"vms\":[{\"id\":1,\"f\":false},{}],\"empty\":[],\"after\":3}"),
		  "%s", out);
	/* A second top-level object starts without a comma. */
	reset(&j);
	json_object_begin(&j, NULL);
	json_object_end(&j);
	json_object_begin(&j, NULL);
	json_object_end(&j);
	CHECK_MSG(!strcmp(out, "{}{}"), "%s", out);
}

int main(void)
{
	test_every_byte();
	test_escapes();
	test_structure();
	return unit_finish("test_json");
}
