/* Streaming JSON writer (include/lib/json.h); RFC 8259. */
#include <lib/json.h>
#include <lib/string.h>

static void put(struct json *j, const char *s, size_t len)
{
	j->put(j->ctx, s, len);
}

static void puts_(struct json *j, const char *s)
{
	put(j, s, strlen(s));
}

void json_init(struct json *j, void (*fn)(void *ctx, const char *s, size_t len), void *ctx)
{
	j->put = fn;
	j->ctx = ctx;
	j->depth = 0;
	j->need_comma = false;
}

/* The escape for byte c, or NULL when it goes out as it is. */
static const char *escape(uint8_t c, char *buf)
{
	static const char hex[] = "0123456789abcdef";

	switch (c) {
	case '"':  return "\\\"";
	case '\\': return "\\\\";
	case '\n': return "\\n";
	case '\r': return "\\r";
	case '\t': return "\\t";
	case '\b': return "\\b";
	case '\f': return "\\f";
	}
	if (c >= 0x20 && c < 0x7f)
		return NULL;
	memcpy(buf, "\\u00", 4);
	buf[4] = hex[c >> 4];
	buf[5] = hex[c & 15];
	buf[6] = '\0';
	return buf;
}

void json_str_chunk(struct json *j, const char *s, size_t len)
{
	size_t plain = 0;
	char buf[8];

	for (size_t i = 0; i < len; i++) {
		const char *e = escape((uint8_t)s[i], buf);

		if (!e)
			continue;
		put(j, s + plain, i - plain);
		puts_(j, e);
		plain = i + 1;
	}
	put(j, s + plain, len - plain);
}

/* The comma and "key": before a value. */
static void member(struct json *j, const char *key)
{
	if (j->need_comma)
		put(j, ",", 1);
	j->need_comma = true;
	if (key) {
		put(j, "\"", 1);
		json_str_chunk(j, key, strlen(key));
		put(j, "\":", 2);
	}
}

static void nest_open(struct json *j, const char *key, const char *bracket)
{
	member(j, key);
	puts_(j, bracket);
	j->depth++;
	j->need_comma = false;
}

static void nest_close(struct json *j, const char *bracket)
{
	puts_(j, bracket);
	if (j->depth)
		j->depth--;
	j->need_comma = j->depth > 0;
}

void json_object_begin(struct json *j, const char *key) { nest_open(j, key, "{"); }
void json_object_end(struct json *j) { nest_close(j, "}"); }
void json_array_begin(struct json *j, const char *key) { nest_open(j, key, "["); }
void json_array_end(struct json *j) { nest_close(j, "]"); }

void json_str_begin(struct json *j, const char *key)
{
	member(j, key);
	put(j, "\"", 1);
}

void json_str_end(struct json *j)
{
	put(j, "\"", 1);
}

void json_strn(struct json *j, const char *key, const char *s, size_t len)
{
	json_str_begin(j, key);
	json_str_chunk(j, s, len);
	json_str_end(j);
}

void json_str(struct json *j, const char *key, const char *s)
{
	json_strn(j, key, s, strlen(s));
}

void json_u64(struct json *j, const char *key, uint64_t v)
{
	char buf[24];
	unsigned n = sizeof(buf);

	do {
		buf[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	member(j, key);
	put(j, buf + n, sizeof(buf) - n);
}

void json_i64(struct json *j, const char *key, int64_t v)
{
	if (v >= 0) {
		json_u64(j, key, (uint64_t)v);
		return;
	}
	member(j, key);
	put(j, "-", 1);
	j->need_comma = false;          /* the digits belong to this member */
	json_u64(j, NULL, 0 - (uint64_t)v);
}

void json_bool(struct json *j, const char *key, bool v)
{
	member(j, key);
	puts_(j, v ? "true" : "false");
}
