/* Guest output lines for the console (include/core/guest_line.h). */
#include <core/console.h>
#include <core/guest_line.h>

static void emit(struct guest_line *l, bool end_of_line)
{
	console_guest_output(l->vm, l->line, l->len, end_of_line);
	l->len = 0;
	if (end_of_line)
		l->col = 0;
}

/* What the operator's terminal gets for byte c. */
static char visible(struct guest_line *l, uint8_t c)
{
	if (c == '\b') {
		if (!l->col)
			return '?';
		l->col--;
		return '\b';
	}
	l->col++;
	return (c >= 0x20 && c < 0x7f) || c == '\t' ? (char)c : '?';
}

void guest_line_putc(struct guest_line *l, uint8_t c)
{
	if (c == '\r')
		return;
	if (c == '\n') {
		emit(l, true);
		return;
	}
	l->line[l->len++] = visible(l, c);
	if (l->len == GUEST_LINE_MAX)
		emit(l, true);
	else if (console_has_focus(l->vm))
		emit(l, false);
}

void guest_line_flush(struct guest_line *l)
{
	if (l->len)
		emit(l, true);
}

void guest_line_show_partial(struct guest_line *l)
{
	if (l->len)
		emit(l, false);
}
