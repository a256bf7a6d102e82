/* SPDX-License-Identifier: MIT */
/*
 * Console (polled 16550), a small printf and the freestanding basics, from
 * the minimal guest's lib.c; plus the hypercall, time and lock helpers.
 *
 * printf supports %d %i %u %x %X %p %s %c %%, the flags '0' and '-', a
 * field width and the length modifiers l, ll and z.
 */
#include "chaos.h"

#define UART_SPIN_MAX     1000000  /* give up waiting for THRE, write anyway */
#define TSC_KHZ_FALLBACK  4000000  /* assume 4 GHz: bounded waits only grow */

struct fmt_out {
	char  *buf;     /* NULL: the UART */
	size_t size;
	size_t len;     /* characters produced, even past size */
};

struct fmt_spec {
	unsigned width;
	bool     zero;
	bool     left;
	int      longs; /* number of 'l' (z counts as one) */
};

static volatile int console_owner = -1;
static bool hc_vmmcall;

/* Set when an op wrote a byte to the UART's transmit register: our next
 * line starts on a fresh line of the console. */
volatile bool uart_dirty;

void uart_putc(char c)
{
	for (unsigned spin = 0; spin < UART_SPIN_MAX; spin++) {
		if (inb(UART_LSR) & UART_LSR_THRE)
			break;
		cpu_relax();
	}
	outb(UART_THR, (uint8_t)c);
}

/* Keeps lines from different vCPUs whole; nests on the owning vCPU. A
 * vCPU that holds it for over 5 s (stuck in an op) loses it: the
 * others must still be able to report. */
bool console_lock(void)
{
	int me = (int)this_vcpu(), free_slot;
	uint64_t start = rdtsc();

	if (console_owner == me)
		return false;
	for (;;) {
		free_slot = -1;
		if (__atomic_compare_exchange_n(&console_owner, &free_slot, me, false,
						__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			return true;
		if (rdtsc() - start > tsc_ticks_ms(5000)) {
			__atomic_store_n(&console_owner, me, __ATOMIC_SEQ_CST);
			return true;
		}
		cpu_relax();
	}
}

int console_lock_owner(void)
{
	return console_owner;
}

void console_release(unsigned vcpu)
{
	int mine = (int)vcpu;

	__atomic_compare_exchange_n(&console_owner, &mine, -1, false, __ATOMIC_RELEASE,
				    __ATOMIC_RELAXED);
}

void console_unlock(bool locked)
{
	if (locked)
		__atomic_store_n(&console_owner, -1, __ATOMIC_RELEASE);
}

static void fmt_put(struct fmt_out *o, char c)
{
	if (!o->buf)
		uart_putc(c);
	else if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void fmt_pad(struct fmt_out *o, char c, unsigned n)
{
	while (n--)
		fmt_put(o, c);
}

static void fmt_string(struct fmt_out *o, const char *s, const struct fmt_spec *sp)
{
	size_t n = strlen(s ? s : "(null)");
	unsigned pad = sp->width > n ? sp->width - (unsigned)n : 0;

	if (!s)
		s = "(null)";
	if (!sp->left)
		fmt_pad(o, ' ', pad);
	while (*s)
		fmt_put(o, *s++);
	if (sp->left)
		fmt_pad(o, ' ', pad);
}

static void fmt_number(struct fmt_out *o, uint64_t v, unsigned base, bool upper,
		       char sign, const struct fmt_spec *sp)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	unsigned n = 0, len, pad;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	len = n + (sign ? 1 : 0);
	pad = sp->width > len ? sp->width - len : 0;
	if (!sp->left && !sp->zero)
		fmt_pad(o, ' ', pad);
	if (sign)
		fmt_put(o, sign);
	if (!sp->left && sp->zero)
		fmt_pad(o, '0', pad);
	while (n)
		fmt_put(o, tmp[--n]);
	if (sp->left)
		fmt_pad(o, ' ', pad);
}

/* Parses flags, width and length; returns the conversion character. */
static const char *fmt_parse_spec(const char *f, struct fmt_spec *sp)
{
	*sp = (struct fmt_spec){ 0 };
	for (;; f++) {
		if (*f == '0')
			sp->zero = true;
		else if (*f == '-')
			sp->left = true;
		else
			break;
	}
	while (*f >= '0' && *f <= '9')
		sp->width = sp->width * 10 + (unsigned)(*f++ - '0');
	for (; *f == 'l' || *f == 'z'; f++)
		sp->longs += *f == 'l' ? 1 : 2;
	return f;
}

static uint64_t fmt_arg_unsigned(va_list *ap, int longs)
{
	return longs ? va_arg(*ap, unsigned long) : va_arg(*ap, unsigned int);
}

static void fmt_convert(struct fmt_out *o, char conv, const struct fmt_spec *sp, va_list *ap)
{
	int64_t sv;

	switch (conv) {
	case 'd':
	case 'i':
		sv = sp->longs ? va_arg(*ap, long) : va_arg(*ap, int);
		fmt_number(o, sv < 0 ? -(uint64_t)sv : (uint64_t)sv, 10, false,
			   sv < 0 ? '-' : 0, sp);
		break;
	case 'u':
		fmt_number(o, fmt_arg_unsigned(ap, sp->longs), 10, false, 0, sp);
		break;
	case 'x':
	case 'X':
		fmt_number(o, fmt_arg_unsigned(ap, sp->longs), 16, conv == 'X', 0, sp);
		break;
	case 'p':
		fmt_put(o, '0');
		fmt_put(o, 'x');
		fmt_number(o, (uintptr_t)va_arg(*ap, void *), 16, false, 0, sp);
		break;
	case 's':
		fmt_string(o, va_arg(*ap, const char *), sp);
		break;
	case 'c':
		fmt_put(o, (char)va_arg(*ap, int));
		break;
	default:        /* "%%" and anything unknown print as themselves */
		fmt_put(o, conv);
		break;
	}
}

static void fmt_run(struct fmt_out *o, const char *fmt, va_list ap)
{
	struct fmt_spec sp;
	va_list args;

	va_copy(args, ap);
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			fmt_put(o, *fmt);
			continue;
		}
		fmt = fmt_parse_spec(fmt + 1, &sp);
		if (!*fmt)
			break;
		fmt_convert(o, *fmt, &sp, &args);
	}
	va_end(args);
	if (o->buf && o->size)
		o->buf[o->len < o->size ? o->len : o->size - 1] = '\0';
}

int kprintf(const char *fmt, ...)
{
	struct fmt_out o = { .buf = NULL };
	bool locked = console_lock();
	va_list ap;

	if (uart_dirty) {
		uart_dirty = false;
		uart_putc('\n');
	}
	va_start(ap, fmt);
	fmt_run(&o, fmt, ap);
	va_end(ap);
	console_unlock(locked);
	return (int)o.len;
}

int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct fmt_out o = { .buf = buf, .size = size };

	fmt_run(&o, fmt, ap);
	return (int)o.len;
}

int ksnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = kvsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b || !*a)
			return (unsigned char)*a - (unsigned char)*b;
	}
	return 0;
}

char *strchr(const char *s, int c)
{
	for (;; s++) {
		if (*s == (char)c)
			return (char *)s;
		if (!*s)
			return NULL;
	}
}

void *memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;

	while (n--)
		*d++ = (unsigned char)c;
	return dst;
}

void *memcpy(void *dst, const void *src, size_t n)
{
	return memmove(dst, src, n);
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (d < s) {
		while (n--)
			*d++ = *s++;
	} else {
		while (n--)
			d[n] = s[n];
	}
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (; n; n--, x++, y++) {
		if (*x != *y)
			return *x - *y;
	}
	return 0;
}

/* Decimal only; false on an empty string, a stray character or overflow. */
bool parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return true;
}

uint64_t tsc_ticks_ms(uint64_t ms)
{
	return ms * (boot_info.tsc_khz ? boot_info.tsc_khz : TSC_KHZ_FALLBACK);
}

uint64_t tsc_to_ms(uint64_t ticks)
{
	return ticks / (boot_info.tsc_khz ? boot_info.tsc_khz : TSC_KHZ_FALLBACK);
}

/* Elapsed time as an unsigned difference: a guest TSC that an op moved
 * backwards ends the wait instead of stretching it. */
void spin_ms(uint64_t ms)
{
	uint64_t start = rdtsc(), ticks = tsc_ticks_ms(ms);

	while (rdtsc() - start < ticks)
		cpu_relax();
}

void spin_lock(volatile int *l)
{
	while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
		cpu_relax();
}

void spin_unlock(volatile int *l)
{
	__atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

/* Kestrel hypercalls (include/hv/hypercall.h): VMMCALL on SVM, VMCALL on
 * VMX, as CPUID 0x40000001 says. */
void hypercall_init(void);
void hypercall_init(void)
{
	struct cpuid_regs base = cpuid(HV_CPUID_LEAF_BASE, 0);

	boot_info.hv_detected = base.ebx == HV_CPUID_SIGNATURE_EBX &&
				base.ecx == HV_CPUID_SIGNATURE_ECX &&
				base.edx == HV_CPUID_SIGNATURE_EDX &&
				base.eax >= HV_CPUID_LEAF_FEATURES;
	if (boot_info.hv_detected)
		boot_info.hv_features = cpuid(HV_CPUID_LEAF_FEATURES, 0).edx;
	hc_vmmcall = boot_info.hv_features & HV_FEATURE_VMMCALL;
	boot_info.svm = hc_vmmcall;
}

long hypercall(unsigned long nr, unsigned long a1, unsigned long a2, unsigned long a3)
{
	long ret = (long)nr;

	site_reset();
	if (hc_vmmcall)
		asm volatile(FAULT_SITE("vmmcall")
			     : "+a"(ret) : "D"(a1), "S"(a2), "d"(a3) : "memory");
	else
		asm volatile(FAULT_SITE("vmcall")
			     : "+a"(ret) : "D"(a1), "S"(a2), "d"(a3) : "memory");
	return site_vector() < 0 ? ret : -0x7fff0000L;
}

void hv_poweroff(unsigned long status)
{
	hypercall(HV_HC_POWEROFF, status, 0, 0);
	kprintf("chaos: HV_HC_POWEROFF returned, halting\n");
	halt_forever();
}

void halt_forever(void)
{
	for (;;)
		asm volatile("cli; hlt" ::: "memory");
}
