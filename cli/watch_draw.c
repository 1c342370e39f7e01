/*
 * flashline watch, the screen: a header, one tile per probe slot, the jobs,
 * and the live feed at the bottom, redrawn whole from the model each time
 * (a few thousand cells: cheaper to think about than partial updates, and
 * curses sends only what changed anyway).
 *
 * Meant to be read from two metres: a tile's state is a bold word on a
 * block of colour, so the colour alone says which fixture needs a hand.
 */
#include "watch.h"

#include <ctype.h>
#include <curses.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Colour pairs: blocks (text on a coloured background) and coloured text. */
enum {
    PAIR_BLOCK_GREY = 1,
    PAIR_BLOCK_GREEN,
    PAIR_BLOCK_YELLOW,
    PAIR_BLOCK_RED,
    PAIR_TEXT_GREY,
    PAIR_TEXT_GREEN,
    PAIR_TEXT_YELLOW,
    PAIR_TEXT_RED,
    PAIR_HEADER,
};

#define TILE_MIN_W 30
#define TILE_MAX_W 60
#define JOBS_MAX   4 /* job lines at most: the tiles and the feed matter more */
#define FEED_MIN   3

void watch_draw_init(void)
{
    if (!has_colors())
        return;
    start_color();
    /* The terminal's own background behind coloured text, where it has one. */
    short bg = use_default_colors() == OK ? -1 : COLOR_BLACK;
    /* Grey: the bright black of 16-colour terminals, else white (which most
     * 8-colour terminals show as light grey). */
    bool grey16 = COLORS >= 16;
    init_pair(PAIR_BLOCK_GREY, grey16 ? COLOR_WHITE : COLOR_BLACK, grey16 ? 8 : COLOR_WHITE);
    init_pair(PAIR_BLOCK_GREEN, COLOR_BLACK, COLOR_GREEN);
    init_pair(PAIR_BLOCK_YELLOW, COLOR_BLACK, COLOR_YELLOW);
    init_pair(PAIR_BLOCK_RED, COLOR_WHITE, COLOR_RED);
    init_pair(PAIR_TEXT_GREY, grey16 ? 8 : COLOR_WHITE, bg);
    init_pair(PAIR_TEXT_GREEN, COLOR_GREEN, bg);
    init_pair(PAIR_TEXT_YELLOW, COLOR_YELLOW, bg);
    init_pair(PAIR_TEXT_RED, COLOR_RED, bg);
    init_pair(PAIR_HEADER, COLOR_BLACK, COLOR_CYAN);
}

static attr_t block_attr(watch_tone t)
{
    if (!has_colors())
        return t == WATCH_GREY ? A_REVERSE : A_REVERSE | A_BOLD;
    switch (t) {
    case WATCH_GREEN:
        return COLOR_PAIR(PAIR_BLOCK_GREEN) | A_BOLD;
    case WATCH_YELLOW:
        return COLOR_PAIR(PAIR_BLOCK_YELLOW) | A_BOLD;
    case WATCH_RED:
        return COLOR_PAIR(PAIR_BLOCK_RED) | A_BOLD;
    case WATCH_GREY:
    case WATCH_PLAIN:
        break;
    }
    return COLOR_PAIR(PAIR_BLOCK_GREY) | A_BOLD;
}

static attr_t text_attr(watch_tone t)
{
    if (!has_colors())
        return t == WATCH_RED ? A_BOLD : A_NORMAL;
    switch (t) {
    case WATCH_GREEN:
        return COLOR_PAIR(PAIR_TEXT_GREEN);
    case WATCH_YELLOW:
        return COLOR_PAIR(PAIR_TEXT_YELLOW);
    case WATCH_RED:
        return COLOR_PAIR(PAIR_TEXT_RED) | A_BOLD;
    case WATCH_GREY:
        return COLOR_PAIR(PAIR_TEXT_GREY);
    case WATCH_PLAIN:
        break;
    }
    return A_NORMAL;
}

/* printf at (y, x) in attribute a, cut at w columns; returns the columns
 * written. */
__attribute__((format(printf, 5, 6))) static int put(int y, int x, int w, attr_t a, const char *fmt,
                                                     ...)
{
    if (w <= 0 || y < 0 || y >= LINES || x >= COLS)
        return 0;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    int n = (int)strlen(buf);
    if (n > w)
        n = w;
    if (n > COLS - x)
        n = COLS - x;
    attron(a);
    mvaddnstr(y, x, buf, n);
    attroff(a);
    return n;
}

static void fill(int y, int x, int w, attr_t a)
{
    if (y < 0 || y >= LINES || w <= 0)
        return;
    attron(a);
    mvhline(y, x, ' ', w);
    attroff(a);
}

static void upper(const char *s, char *out, size_t size)
{
    size_t i = 0;
    for (; s[i] && i + 1 < size; i++)
        out[i] = (char)toupper((unsigned char)s[i]);
    out[i] = '\0';
}

static void ago(time_t then, time_t now, char *buf, size_t size)
{
    long long d = (long long)(now - then);
    if (d < 0)
        d = 0;
    if (d < 60)
        snprintf(buf, size, "%llds ago", d);
    else if (d < 3600)
        snprintf(buf, size, "%lldm ago", d / 60);
    else if (d < 86400)
        snprintf(buf, size, "%lldh ago", d / 3600);
    else
        snprintf(buf, size, "%lldd ago", d / 86400);
}

/* A bar of w cells, the done part solid. */
static void bar(int y, int x, int w, long long percent, watch_tone tone)
{
    if (w <= 0 || y >= LINES)
        return;
    if (percent < 0)
        percent = 0;
    if (percent > 100)
        percent = 100;
    int done = (int)(percent * w / 100);
    move(y, x);
    attr_t solid = has_colors() ? text_attr(tone) | A_REVERSE : A_REVERSE;
    for (int i = 0; i < w && x + i < COLS; i++)
        addch(i < done ? (' ' | solid) : ('.' | A_DIM));
}

/* ---- tiles ------------------------------------------------------------------------ */

static void tile(json_t *p, int y, int x, int h, int w, time_t now)
{
    watch_tone tone = watch_probe_tone(p);
    const char *serial = watch_str(p, "serial", "?");
    const char *kind = watch_str(p, "kind", "");
    const char *chip = watch_str(p, "chip", "no chip");
    char state[32];
    upper(watch_str(p, "state", "?"), state, sizeof state);
    int band = h >= 7 ? 2 : 1;
    attr_t ba = block_attr(tone);
    for (int r = 0; r < band; r++)
        fill(y + r, x, w, ba);
    /* The serial first, so that "SERIAL STATE" reads as one phrase. */
    int used = put(y, x, w, ba, " %s  %s", watch_short_serial(serial), state);
    int klen = (int)strlen(kind);
    if (used + klen + 2 <= w)
        put(y, x + w - klen - 1, klen, ba, "%s", kind);
    long long job = watch_int(p, "job", -1);
    char jobtext[32] = "";
    if (job >= 0)
        snprintf(jobtext, sizeof jobtext, "  job %lld", job);
    int row = y + 1;
    if (band == 2)
        put(row++, x, w, ba, " %s%s", chip, jobtext);

    /* The lines under the band, most important first: as many as fit. */
    int end = y + h;
    const char *reason = watch_str(p, "quarantine_reason", NULL);
    if (reason && row < end)
        put(row++, x, w, text_attr(WATCH_RED), " ! %s", reason);
    if (row < end) {
        long long unit = watch_int(p, "unit", -1);
        if (unit >= 0) {
            long long pc = watch_int(p, "progress", 0);
            int n = put(row, x, w, A_BOLD, " unit %lld ", unit);
            int bw = w - n - 6;
            if (bw >= 4) {
                bar(row, x + n, bw, pc, WATCH_GREEN);
                put(row, x + n + bw, 6, A_BOLD, " %3lld%%", pc);
            }
        } else {
            put(row, x, w, text_attr(WATCH_GREY), " no unit");
        }
        row++;
    }
    if (row < end) {
        const char *last = watch_str(p, "last_result", NULL);
        time_t t;
        if (last && watch_parse_iso(watch_str(p, "last_at", NULL), &t)) {
            char clock[16], since[32], up[16];
            watch_clock(json_object_get(p, "last_at"), clock, sizeof clock);
            ago(t, now, since, sizeof since);
            upper(last, up, sizeof up);
            watch_tone lt = strcmp(last, "ok") == 0       ? WATCH_GREEN
                            : strcmp(last, "failed") == 0 ? WATCH_RED
                                                          : WATCH_YELLOW;
            int n = put(row, x, w, A_NORMAL, " last ");
            n += put(row, x + n, w - n, text_attr(lt) | A_BOLD, "%s", up);
            put(row, x + n, w - n, A_NORMAL, " %s (%s)", clock, since);
        } else {
            put(row, x, w, text_attr(WATCH_GREY), " no unit yet");
        }
        row++;
    }
    if (band == 1 && row < end)
        put(row++, x, w, A_NORMAL, " %s %s%s", kind, chip, jobtext);
    if (row < end)
        put(row++, x, w, A_NORMAL, " ok %lld  failed %lld", watch_int(p, "units_ok", 0),
            watch_int(p, "units_failed", 0));
    if (row < end && strlen(serial) > 8)
        put(row++, x, w, text_attr(WATCH_GREY), " %s", serial);
}

/* Lays the tiles out in at most avail rows from top; *used is the rows
 * taken. Returns how many tiles did not fit. */
static size_t tiles(const watch_model *m, int top, int avail, int *used, time_t now)
{
    size_t n = json_array_size(m->probes);
    *used = 0;
    if (n == 0) {
        if (avail > 0) {
            put(top, 1, COLS - 2, text_attr(WATCH_YELLOW) | A_BOLD, "flashlined sees no ST-LINK");
            *used = 1;
        }
        return 0;
    }
    int ncols = (COLS + 1) / (TILE_MIN_W + 1);
    if (ncols < 1)
        ncols = 1;
    if ((size_t)ncols > n)
        ncols = (int)n;
    int w = (COLS - (ncols - 1)) / ncols;
    if (w > TILE_MAX_W)
        w = TILE_MAX_W;
    int rows = (int)((n + (size_t)ncols - 1) / (size_t)ncols);
    /* The tallest tile that lets every one be seen, with a blank line
     * between rows of tiles if there is room for one (each tile starts
     * with its coloured band, so they stay apart without); on a small
     * terminal, as many as fit. */
    static const int heights[] = {8, 7, 6, 5, 4, 3, 2};
    int h = 0, gap = 0;
    for (size_t k = 0; k < sizeof heights / sizeof heights[0] && !h; k++)
        for (int g = 1; g >= 0 && !h; g--)
            if (rows * heights[k] + (rows - 1) * g <= avail) {
                h = heights[k];
                gap = g;
            }
    if (!h)
        h = 2;
    size_t shown = 0;
    for (int r = 0; r < rows; r++) {
        int y = top + r * (h + gap);
        if (y + h > top + avail)
            break;
        for (int c = 0; c < ncols; c++) {
            size_t i = (size_t)r * (size_t)ncols + (size_t)c;
            if (i >= n)
                break;
            tile(json_array_get(m->probes, i), y, c * (w + 1), h, w, now);
            shown++;
        }
        *used = y + h - top;
    }
    return n - shown;
}

/* ---- jobs ------------------------------------------------------------------------- */

static bool active(json_t *job)
{
    const char *s = watch_str(job, "state", "");
    return strcmp(s, "running") == 0 || strcmp(s, "paused") == 0;
}

/* Running and paused jobs first, then the latest finished ones to fill. */
static size_t pick_jobs(const watch_model *m, json_t **out, size_t max)
{
    size_t n = 0, i;
    json_t *j;
    json_array_foreach(m->jobs, i, j) if (n < max && active(j)) out[n++] = j;
    json_array_foreach(m->jobs, i, j) if (n < max && !active(j)) out[n++] = j;
    return n;
}

static void job_line(json_t *j, int y, time_t now)
{
    const char *state = watch_str(j, "state", "?");
    watch_tone tone = strcmp(state, "running") == 0  ? WATCH_GREEN
                      : strcmp(state, "paused") == 0 ? WATCH_YELLOW
                                                     : WATCH_GREY;
    char up[16], count[24], yield[16], rate[24];
    upper(state, up, sizeof up);
    long long c = watch_int(j, "count", -1);
    snprintf(count, sizeof count, c >= 0 ? "%lld" : "cont", c);
    double yv = watch_job_yield(j), rv = watch_job_rate(j, now);
    if (yv >= 0)
        snprintf(yield, sizeof yield, "%.1f%%", yv);
    else
        snprintf(yield, sizeof yield, "-");
    if (rv >= 0)
        snprintf(rate, sizeof rate, "%.0f", rv);
    else
        snprintf(rate, sizeof rate, "-");
    const char *what = watch_str(j, "chip", watch_str(j, "family", "-"));
    int x = put(y, 1, COLS - 1, A_BOLD, "#%-4lld %-16.16s ", watch_int(j, "id", 0),
                watch_str(j, "name", ""));
    x += 1 + put(y, 1 + x, COLS - 1 - x, text_attr(tone) | A_BOLD, "%-9s", up);
    x += put(y, 1 + x, COLS - 1 - x, A_NORMAL, " %-12.12s ", what);
    x += put(y, 1 + x, COLS - 1 - x, A_BOLD, "ok %lld/%s", watch_int(j, "ok", 0), count);
    long long failed = watch_int(j, "failed", 0);
    x += put(y, 1 + x, COLS - 1 - x, failed ? text_attr(WATCH_RED) : A_NORMAL, "  failed %lld",
             failed);
    /* The figures a supervisor asks for first come first: a narrow
     * terminal cuts the rest. */
    x += put(y, 1 + x, COLS - 1 - x, A_NORMAL,
             "  yield %s  %s units/h  in flight %lld  interrupted %lld", yield, rate,
             watch_int(j, "in_flight", 0), watch_int(j, "interrupted", 0));
    int bw = COLS - 1 - x - 4;
    if (c > 0 && bw >= 10) {
        if (bw > 40)
            bw = 40;
        bar(y, 1 + x + 2, bw, watch_int(j, "ok", 0) * 100 / c, tone);
    }
}

/* ---- the screen ------------------------------------------------------------------- */

static void section(int y, const char *title)
{
    if (y < 0 || y >= LINES)
        return;
    attron(A_DIM);
    mvhline(y, 0, ACS_HLINE, COLS);
    attroff(A_DIM);
    put(y, 2, COLS - 2, A_BOLD, " %s ", title);
}

static void header(const watch_model *m, const char *socket, time_t now)
{
    struct tm tm;
    char clock[16] = "";
    if (localtime_r(&now, &tm))
        strftime(clock, sizeof clock, "%H:%M:%S", &tm);
    if (m->problem[0]) {
        attr_t a = block_attr(WATCH_RED);
        fill(0, 0, COLS, a);
        put(0, 0, COLS, a, " FLASHLINE  %s  DAEMON UNREACHABLE: %s", clock, m->problem);
        return;
    }
    attr_t a = has_colors() ? COLOR_PAIR(PAIR_HEADER) | A_BOLD : A_REVERSE | A_BOLD;
    fill(0, 0, COLS, a);
    size_t running = 0, i;
    json_t *j;
    json_array_foreach(m->jobs, i, j) running += active(j);
    int x = put(0, 0, COLS, a, " FLASHLINE  %s  %zu probe%s  %zu job%s active  %s", clock,
                json_array_size(m->probes), json_array_size(m->probes) == 1 ? "" : "s", running,
                running == 1 ? "" : "s", m->stream_live ? "live" : "events reconnecting");
    int sl = (int)strlen(socket);
    if (x + sl + 3 <= COLS)
        put(0, COLS - sl - 1, sl, a, "%s", socket);
}

void watch_draw(const watch_model *m, const char *socket, time_t now)
{
    erase();
    if (LINES < 6 || COLS < 20) {
        put(0, 0, COLS, A_BOLD, "terminal too small");
        refresh();
        return;
    }
    header(m, socket, now);
    json_t *jobs[JOBS_MAX];
    size_t njobs = pick_jobs(m, jobs, JOBS_MAX);
    int job_rows = 1 + (njobs ? (int)njobs : 1);
    /* Rows: header, a blank, tiles, a blank, jobs (title and lines), feed
     * (title and at least FEED_MIN lines), footer. */
    int avail = LINES - 4 - job_rows - (1 + FEED_MIN);
    if (avail < 2) {
        job_rows = 2;
        njobs = njobs ? 1 : 0;
        avail = LINES - 4 - job_rows - 2;
    }
    int used;
    size_t hidden = tiles(m, 2, avail > 0 ? avail : 0, &used, now);

    /* The jobs right under the tiles, the feed taking what is left: on a
     * big screen, more history. */
    int y = 2 + used + 1;
    section(y++, "JOBS");
    if (!njobs)
        put(y++, 1, COLS - 1, text_attr(WATCH_GREY), "no job yet");
    for (size_t k = 0; k < njobs; k++)
        job_line(jobs[k], y++, now);
    section(y++, "EVENTS");
    int feed_rows = LINES - 1 - y;
    size_t show = m->feed_len < (size_t)(feed_rows > 0 ? feed_rows : 0)
                      ? m->feed_len
                      : (size_t)(feed_rows > 0 ? feed_rows : 0);
    for (size_t k = 0; k < show; k++) {
        const watch_feed_line *l =
            &m->feed[(m->feed_head + m->feed_len - show + k) % WATCH_FEED_MAX];
        put(y++, 1, COLS - 1, text_attr(l->tone), "%s", l->text);
    }
    if (!m->feed_len && feed_rows > 0)
        put(y, 1, COLS - 1, text_attr(WATCH_GREY), "waiting for events");

    char refreshed[16] = "-";
    struct tm tm;
    if (m->refreshed && localtime_r(&m->refreshed, &tm))
        strftime(refreshed, sizeof refreshed, "%H:%M:%S", &tm);
    char more[96] = "";
    if (hidden)
        snprintf(more, sizeof more, "   %zu probe%s not shown: enlarge the terminal", hidden,
                 hidden == 1 ? "" : "s");
    fill(LINES - 1, 0, COLS, A_REVERSE);
    put(LINES - 1, 0, COLS, A_REVERSE, " q quit   r refresh   refreshed %s%s", refreshed, more);
    refresh();
}
