/* A small vsnprintf and the printk front end. */
#include <lib/printk.h>
#include <lib/string.h>
#include <stdbool.h>
#include <stdint.h>

struct out {
	char *buf;
	size_t size, len;
};

static void out_char(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void out_pad(struct out *o, char c, int n)
{
	while (n-- > 0)
		out_char(o, c);
}

struct spec {
	bool left, zero;
	int width, precision;
	int length;     /* 0 int, 1 long, 2 long long, 3 size_t */
};

static void out_number(struct out *o, const struct spec *sp, uint64_t v,
		       bool negative, unsigned base, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0, len;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	len = n + negative;
	if (!sp->left && !sp->zero)
		out_pad(o, ' ', sp->width - len);
	if (negative)
		out_char(o, '-');
	if (!sp->left && sp->zero)
		out_pad(o, '0', sp->width - len);
	while (n)
		out_char(o, tmp[--n]);
	if (sp->left)
		out_pad(o, ' ', sp->width - len);
}

static void out_string(struct out *o, const struct spec *sp, const char *s)
{
	int len;

	if (!s)
		s = "(null)";
	len = (int)strnlen(s, sp->precision >= 0 ? (size_t)sp->precision : SIZE_MAX);
	if (!sp->left)
		out_pad(o, ' ', sp->width - len);
	for (int i = 0; i < len; i++)
		out_char(o, s[i]);
	if (sp->left)
		out_pad(o, ' ', sp->width - len);
}

static const char *parse_spec(const char *f, struct spec *sp, va_list *ap)
{
	*sp = (struct spec){ .precision = -1 };
	for (;; f++) {
		if (*f == '-')
			sp->left = true;
		else if (*f == '0')
			sp->zero = true;
		else
			break;
	}
	if (*f == '*') {
		sp->width = va_arg(*ap, int);
		f++;
	}
	while (*f >= '0' && *f <= '9')
		sp->width = sp->width * 10 + (*f++ - '0');
	if (*f == '.') {
		sp->precision = 0;
		f++;
		if (*f == '*') {
			sp->precision = va_arg(*ap, int);
			f++;
		}
		while (*f >= '0' && *f <= '9')
			sp->precision = sp->precision * 10 + (*f++ - '0');
	}
	for (; *f == 'l'; f++)
		sp->length++;
	if (*f == 'z') {
		sp->length = 3;
		f++;
	}
	return f;
}

static uint64_t arg_unsigned(const struct spec *sp, va_list *ap)
{
	if (sp->length == 0)
		return va_arg(*ap, unsigned int);
	if (sp->length == 3)
		return va_arg(*ap, size_t);
	return va_arg(*ap, unsigned long long);
}

static int64_t arg_signed(const struct spec *sp, va_list *ap)
{
	if (sp->length == 0)
		return va_arg(*ap, int);
	return va_arg(*ap, long long);
}

static void format_one(struct out *o, const struct spec *sp, char conv, va_list *ap)
{
	int64_t sv;

	switch (conv) {
	case 'd':
	case 'i':
		sv = arg_signed(sp, ap);
		out_number(o, sp, sv < 0 ? -(uint64_t)sv : (uint64_t)sv, sv < 0, 10, false);
		break;
	case 'u':
		out_number(o, sp, arg_unsigned(sp, ap), false, 10, false);
		break;
	case 'x':
	case 'X':
		out_number(o, sp, arg_unsigned(sp, ap), false, 16, conv == 'X');
		break;
	case 'p':
		out_char(o, '0');
		out_char(o, 'x');
		out_number(o, sp, (uintptr_t)va_arg(*ap, void *), false, 16, false);
		break;
	case 's':
		out_string(o, sp, va_arg(*ap, const char *));
		break;
	case 'c':
		out_char(o, (char)va_arg(*ap, int));
		break;
	default:
		out_char(o, '%');
		if (conv)
			out_char(o, conv);
	}
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { .buf = buf, .size = size };
	struct spec sp;
	va_list args;

	va_copy(args, ap);
	for (const char *f = fmt; *f; f++) {
		if (*f != '%') {
			out_char(&o, *f);
			continue;
		}
		f = parse_spec(f + 1, &sp, &args);
		if (!*f)
			break;
		format_one(&o, &sp, *f, &args);
	}
	va_end(args);
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

static void (*sink)(const char *s, size_t len);

void printk_set_sink(void (*write)(const char *s, size_t len))
{
	sink = write;
}

void printk_write(const char *s, size_t len)
{
	if (sink)
		sink(s, len);
}

void vprintk(const char *fmt, va_list ap)
{
	char buf[512];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);

	printk_write(buf, n < (int)sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

void printk(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintk(fmt, ap);
	va_end(ap);
}
