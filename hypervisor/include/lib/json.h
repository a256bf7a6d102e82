/*
 * A streaming JSON writer: objects, arrays, strings and numbers go straight
 * to a sink, with no buffer to overflow. Strings may hold any bytes (guest
 * output is hostile): '"', '\\' and control characters are escaped, and
 * bytes 0x7f-0xff become \u007f-\u00ff (one code point per byte, so the
 * output is always ASCII and valid UTF-8, and a reader gets the bytes back
 * by encoding the string as Latin-1). Pure: no hypervisor state.
 */
#ifndef LIB_JSON_H
#define LIB_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json {
	void (*put)(void *ctx, const char *s, size_t len);
	void *ctx;
	unsigned depth;
	bool need_comma;          /* a value already written at this level */
};

void json_init(struct json *j, void (*put)(void *ctx, const char *s, size_t len), void *ctx);
/* key is the member's name inside an object, NULL inside an array or at
 * the top level. */
void json_object_begin(struct json *j, const char *key);
void json_object_end(struct json *j);
void json_array_begin(struct json *j, const char *key);
void json_array_end(struct json *j);
void json_str(struct json *j, const char *key, const char *s);
void json_strn(struct json *j, const char *key, const char *s, size_t len);
void json_u64(struct json *j, const char *key, uint64_t v);
void json_i64(struct json *j, const char *key, int64_t v);
void json_bool(struct json *j, const char *key, bool v);
/* A string written in parts: begin, any number of chunks, end. */
void json_str_begin(struct json *j, const char *key);
void json_str_chunk(struct json *j, const char *s, size_t len);
void json_str_end(struct json *j);

#endif
