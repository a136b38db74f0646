/*
 * Read one key range of a SQLite table and write the rows PostgreSQL's binary
 * COPY reads, without a Python object per value.
 *
 * Why: the pure-Python path (fastpath.py + typemap.py) costs about 3.5 us of
 * CPU per row and, on a 2-core machine, takes the CPU the server needs for its
 * COPY and index builds. This codec does the common, clean case in C and hands
 * everything else back to Python.
 *
 * The one rule: the codec accepts a value only when the Python converters
 * would accept it unchanged and send the very same bytes. Any value it is not
 * sure about (a storage class it does not expect, text that is not strict
 * UTF-8, a NUL, a JSON document with a \u0000 or a lone surrogate escape, a
 * timestamp in a form outside the small grammar below, a NULL in a NOT NULL
 * column, ...) makes its whole row *slow*: the row comes back as a Python
 * tuple, exactly as ``source.read_batches`` would have read it, and the
 * caller converts it with ``typemap`` (which rejects it with its reason, or
 * converts it). Being stricter than Python costs speed, never correctness;
 * being looser would be a bug, and the equivalence tests look for it.
 *
 * Kinds (see KIND_* and copy/compiled.py): int2/int4/int8 (INTEGER in range),
 * float8 (REAL; INTEGER of magnitude <= 2**53), bool (INTEGER 0/1),
 * text/varchar(n) (strict UTF-8, no NUL, at most n code points), timestamp
 * and timestamptz (ISO text YYYY-MM-DD[(T| )HH:MM[:SS[.f{1,6}]]][Z|+HH:MM],
 * naive = UTC; INTEGER epoch in the column's unit, or by its magnitude when
 * the unit is mixed), date (YYYY-MM-DD),
 * json/jsonb (strict RFC 8259 text, no surrounding blanks; jsonb: version
 * byte 1 then the text), uuid (8-4-4-4-12 hex text), bytea (BLOB or TEXT
 * bytes as stored), numeric (INTEGER, REAL, decimal text; see the numeric
 * section below).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sqlite3.h>
#include <stdint.h>
#include <string.h>

enum {
    KIND_INT2 = 1, KIND_INT4, KIND_INT8, KIND_FLOAT8, KIND_BOOL, KIND_TEXT, KIND_TIMESTAMPTZ, KIND_DATE,
    KIND_JSON, KIND_JSONB, KIND_UUID, KIND_BYTEA, KIND_TIMESTAMP, KIND_NUMERIC
};

typedef struct {
    int kind;
    long long arg;   /* text: max code points (-1 none); timestamp: epoch unit in us (1000000 s, 1000 ms,
                      * 0 mixed: by each number's magnitude);
                      * numeric: precision << 16 | scale (scale >= 0), -1 unconstrained */
    int not_null;
} ColSpec;

typedef struct {
    char *p;
    size_t len, cap;
} Buf;

typedef struct {
    PyObject_HEAD
    sqlite3 *db;
    sqlite3_stmt *stmt;
    int ncols;
    ColSpec *cols;
    PyObject *bad_utf8;
    long chunk_rows;
    size_t chunk_bytes;
    int done;
    Buf buf;
    /* read side, for the pre-flight (see "storage-class profile" below) */
    int extra;             /* trailing query columns only counted, never encoded */
    long long *classes;    /* (ncols + extra) x 5 storage-class counts, or NULL: not counted */
    int check_only;        /* keep no COPY bytes: only the slow rows are wanted */
    long long *epochs;     /* ncols x 2 epoch-number counts (seconds, milliseconds) of time columns, or NULL */
    double epoch_threshold; /* magnitude at and above which an epoch number is milliseconds */
} Reader;

/* ---- buffer ------------------------------------------------------------ */

static int buf_reserve(Buf *b, size_t extra) {
    if (b->len + extra <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 1 << 16;
    while (cap < b->len + extra) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

static inline void put_u16(Buf *b, uint16_t v) {
    b->p[b->len++] = (char)(v >> 8);
    b->p[b->len++] = (char)v;
}

static inline void put_u32(Buf *b, uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) b->p[b->len++] = (char)(v >> s);
}

static inline void put_u64(Buf *b, uint64_t v) {
    for (int s = 56; s >= 0; s -= 8) b->p[b->len++] = (char)(v >> s);
}

/* ---- checks ------------------------------------------------------------ */

/* Strict UTF-8 as Python's decoder reads it (no overlongs, no surrogates, <= U+10FFFF), no NUL.
 * Returns the number of code points, or -1. */
static long long utf8_chars(const unsigned char *s, size_t n) {
    long long chars = 0;
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            if (c == 0) return -1;
            i++;
        } else if (c >= 0xC2 && c <= 0xDF) {
            if (i + 1 >= n || (s[i + 1] & 0xC0) != 0x80) return -1;
            i += 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            if (i + 2 >= n) return -1;
            unsigned char c1 = s[i + 1];
            if ((c1 & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80) return -1;
            if (c == 0xE0 && c1 < 0xA0) return -1;   /* overlong */
            if (c == 0xED && c1 > 0x9F) return -1;   /* surrogate */
            i += 3;
        } else if (c >= 0xF0 && c <= 0xF4) {
            if (i + 3 >= n) return -1;
            unsigned char c1 = s[i + 1];
            if ((c1 & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80 || (s[i + 3] & 0xC0) != 0x80) return -1;
            if (c == 0xF0 && c1 < 0x90) return -1;   /* overlong */
            if (c == 0xF4 && c1 > 0x8F) return -1;   /* > U+10FFFF */
            i += 4;
        } else {
            return -1;
        }
        chars++;
    }
    return chars;
}

static inline int digits(const char *s, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int month_days(int y, int m) {
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : d[m - 1];
}

/* Days from 2000-01-01 to y-m-d (proleptic Gregorian), as PostgreSQL counts them. */
static long long days_from_2000(int y, int m, int d) {
    /* days from civil, Howard Hinnant's algorithm, relative to 1970 then shifted */
    long long yy = y - (m <= 2);
    long long era = (yy >= 0 ? yy : yy - 399) / 400;
    long long yoe = yy - era * 400;
    long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468 - 10957;
}

static int parse_date(const char *s, int *y, int *m, int *d) {
    if (s[4] != '-' || s[7] != '-') return -1;
    if (digits(s, 4, y) || digits(s + 5, 2, m) || digits(s + 8, 2, d)) return -1;
    if (*y < 1 || *m < 1 || *m > 12 || *d < 1 || *d > month_days(*y, *m)) return -1;
    return 0;
}

/* The accepted subset of datetime.fromisoformat: microseconds since 2000-01-01 00:00 UTC (naive = UTC). */
static int parse_timestamp(const char *s, size_t n, int64_t *out) {
    int y, mo, d, hh = 0, mi = 0, ss = 0, us = 0, off = 0;
    if (n < 10 || parse_date(s, &y, &mo, &d)) return -1;
    size_t i = 10;
    if (i < n) {
        if ((s[i] != 'T' && s[i] != ' ') || n < i + 6) return -1;
        if (digits(s + i + 1, 2, &hh) || s[i + 3] != ':' || digits(s + i + 4, 2, &mi)) return -1;
        if (hh > 23 || mi > 59) return -1;
        i += 6;
        if (i < n && s[i] == ':') {
            if (n < i + 3 || digits(s + i + 1, 2, &ss) || ss > 59) return -1;
            i += 3;
            if (i < n && s[i] == '.') {
                size_t j = i + 1;
                int nd = 0;
                while (j < n && s[j] >= '0' && s[j] <= '9' && nd < 7) { us = us * 10 + (s[j] - '0'); j++; nd++; }
                if (nd < 1 || nd > 6) return -1;
                for (int k = nd; k < 6; k++) us *= 10;
                i = j;
            }
        }
        if (i < n) {
            if (s[i] == 'Z') {
                i++;
            } else if (s[i] == '+' || s[i] == '-') {
                int oh, om;
                if (n != i + 6 || digits(s + i + 1, 2, &oh) || s[i + 3] != ':' || digits(s + i + 4, 2, &om))
                    return -1;
                if (oh > 23 || om > 59) return -1;
                off = (oh * 60 + om) * 60 * (s[i] == '-' ? -1 : 1);
                i += 6;
            } else {
                return -1;
            }
        }
        if (i != n) return -1;
    }
    int64_t secs = (int64_t)days_from_2000(y, mo, d) * 86400 + hh * 3600 + mi * 60 + ss - off;
    *out = secs * 1000000 + us;
    return 0;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int parse_uuid(const char *s, size_t n, unsigned char *out) {
    if (n != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-') return -1;
    int k = 0;
    for (size_t i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) continue;
        int hi = hexval(s[i]), lo = hexval(s[i + 1]);
        if (hi < 0 || lo < 0) return -1;
        out[k++] = (unsigned char)(hi << 4 | lo);
        i++;
    }
    return 0;
}

/* ---- strict JSON (what json.JSONDecoder.scan_once accepts whole, minus NaN/Infinity) ---- */

typedef struct {
    const unsigned char *s;
    size_t n, i;
    int depth;
} Json;

static int json_value(Json *j);

static inline void json_ws(Json *j) {
    while (j->i < j->n) {
        unsigned char c = j->s[j->i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') j->i++;
        else break;
    }
}

static int json_string(Json *j) {
    if (j->i >= j->n || j->s[j->i] != '"') return -1;
    j->i++;
    while (j->i < j->n) {
        unsigned char c = j->s[j->i];
        if (c == '"') { j->i++; return 0; }
        if (c < 0x20) return -1;
        if (c == '\\') {
            if (j->i + 1 >= j->n) return -1;
            unsigned char e = j->s[j->i + 1];
            if (e == 'u') {
                if (j->i + 5 >= j->n) return -1;
                int v = 0;
                for (int k = 2; k < 6; k++) {
                    int h = hexval((char)j->s[j->i + k]);
                    if (h < 0) return -1;
                    v = v << 4 | h;
                }
                j->i += 6;
                if (v >= 0xDC00 && v <= 0xDFFF) return -1;  /* a lone low surrogate: let Python and the server judge */
                if (v >= 0xD800 && v <= 0xDBFF) {           /* a high one counts only as a pair: \uD83C\uDF89 */
                    int lo = 0;
                    if (j->i + 6 > j->n || j->s[j->i] != '\\' || j->s[j->i + 1] != 'u') return -1;
                    for (int k = 2; k < 6; k++) {
                        int h = hexval((char)j->s[j->i + k]);
                        if (h < 0) return -1;
                        lo = lo << 4 | h;
                    }
                    if (lo < 0xDC00 || lo > 0xDFFF) return -1;
                    j->i += 6;
                }
                continue;
            }
            if (!strchr("\"\\/bfnrt", e) || e == 0) return -1;
            j->i += 2;
            continue;
        }
        j->i++;
    }
    return -1;
}

static int json_number(Json *j) {
    size_t i = j->i;
    const unsigned char *s = j->s;
    if (i < j->n && s[i] == '-') i++;
    if (i >= j->n) return -1;
    if (s[i] == '0') i++;
    else if (s[i] >= '1' && s[i] <= '9') { while (i < j->n && s[i] >= '0' && s[i] <= '9') i++; }
    else return -1;
    if (i < j->n && s[i] == '.') {
        i++;
        if (i >= j->n || s[i] < '0' || s[i] > '9') return -1;
        while (i < j->n && s[i] >= '0' && s[i] <= '9') i++;
    }
    if (i < j->n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < j->n && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= j->n || s[i] < '0' || s[i] > '9') return -1;
        while (i < j->n && s[i] >= '0' && s[i] <= '9') i++;
    }
    if (i - j->i > 1000) return -1;  /* Python refuses integers of over 4300 digits: let it say so */
    j->i = i;
    return 0;
}

static int json_lit(Json *j, const char *w) {
    size_t k = strlen(w);
    if (j->i + k > j->n || memcmp(j->s + j->i, w, k) != 0) return -1;
    j->i += k;
    return 0;
}

static int json_value(Json *j) {
    if (j->i >= j->n) return -1;
    unsigned char c = j->s[j->i];
    if (c == '"') return json_string(j);
    if (c == '{' || c == '[') {
        if (++j->depth > 200) return -1;
        j->i++;
        json_ws(j);
        unsigned char close = c == '{' ? '}' : ']';
        if (j->i < j->n && j->s[j->i] == close) { j->i++; j->depth--; return 0; }
        for (;;) {
            if (c == '{') {
                if (json_string(j)) return -1;
                json_ws(j);
                if (j->i >= j->n || j->s[j->i] != ':') return -1;
                j->i++;
                json_ws(j);
            }
            if (json_value(j)) return -1;
            json_ws(j);
            if (j->i >= j->n) return -1;
            if (j->s[j->i] == ',') { j->i++; json_ws(j); continue; }
            if (j->s[j->i] == close) { j->i++; j->depth--; return 0; }
            return -1;
        }
    }
    if (c == 't') return json_lit(j, "true");
    if (c == 'f') return json_lit(j, "false");
    if (c == 'n') return json_lit(j, "null");
    return json_number(j);
}

static int json_ok(const unsigned char *s, size_t n, int jsonb) {
    if (n == 0) return 0;
    Json j = {s, n, 0, 0};
    if (json_value(&j) || j.i != n) return 0;
    if (jsonb) {
        for (size_t i = 0; i + 6 <= n; i++)
            if (s[i] == '\\' && memcmp(s + i, "\\u0000", 6) == 0) return 0;
    }
    return 1;
}

/* ---- numeric (encode side) ----------------------------------------------
 * typemap.to_decimal, value for value: INTEGER -> Decimal(v); REAL ->
 * Decimal(repr(v)) (the shortest decimal that reads back as the double, in
 * repr's fixed or exponent form, so 3.0 is "3.0" with one decimal); TEXT ->
 * Decimal(text.strip()) when it matches typemap._NUM_RE. Then its
 * numeric(p, s) checks, and psycopg's Decimal binary dumper's bytes.
 * Everything the codec is not sure about goes back to Python, which then
 * rejects it with its own reason or converts it: NaN and infinities,
 * non-ASCII text (Python's \d and \s take other Unicode digits and spaces),
 * more than NUM_MAX_DIGITS digits, a value Python would reject, more than 28
 * digits with zeros beyond the scale (rare: not worth a second rule), a scale or weight
 * psycopg's dumper refuses, and powers of two among REALs (their shortest
 * decimal is the one case where a nearest-first search may differ from repr;
 * those between 2**-20 and 2**52 are safe and taken).
 */

#define NUM_MAX_DIGITS 1000
#define NUM_MAX_DSCALE 0x3FFF
#define NUM_MAX_WEIGHT 32767
#define NUM_CONTEXT_PREC 28   /* zeros beyond the scale are taken up to this many digits; longer goes to Python */

typedef struct {
    int neg;
    int n;               /* digits in d: no leading zeros, except "0" itself */
    long long exp;       /* value = (-1)^neg * d * 10^exp, as Decimal.as_tuple() */
    unsigned char d[NUM_MAX_DIGITS + 24];
} Dec;

static inline long long floordiv4(long long a) { return a >= 0 ? a / 4 : -((-a + 3) / 4); }
static inline long long mod4(long long a) { return a - 4 * floordiv4(a); }

static int dec_from_int(sqlite3_int64 v, Dec *x) {
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    unsigned char tmp[24];
    int k = 0;
    do { tmp[k++] = (unsigned char)(u % 10); u /= 10; } while (u);
    x->neg = v < 0;
    x->n = k;
    for (int i = 0; i < k; i++) x->d[i] = tmp[k - 1 - i];
    x->exp = 0;
    return 0;
}

/* Digits and decimal exponent of "%.*e" output, whatever the locale's decimal point. */
static int sci_digits(const char *s, unsigned char *dg, int *n, int *e10) {
    int k = 0;
    const char *p = s;
    for (; *p && *p != 'e' && *p != 'E'; p++)
        if (*p >= '0' && *p <= '9') dg[k++] = (unsigned char)(*p - '0');
    if (!*p || k == 0) return -1;
    *e10 = atoi(p + 1);
    *n = k;
    return 0;
}

static const double POW10[16] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13,
                                 1e14, 1e15};

/* The shortest decimal of a without printf: the first scale s (only `scale` when it is >= 0) at which
 * n = round(a * 10**s) < 10**15 reads back, n / 10**s == a (IEEE division of two exact values is
 * correctly rounded, so this is strtod's answer). Such a decimal has at most 15 significant digits and
 * 15-digit decimals lie further apart than a double's rounding interval: it is the only one that reads
 * back, hence repr's. Its digits, trailing zeros dropped, as sci_digits gives them; -1 when none is found
 * (the printf search decides). A price into numeric(12, 2) costs one multiply and one divide, not the
 * printf/strtod pairs of the search (~2 us a value). */
static int fast_digits(double a, int scale, unsigned char *dg, int *n, int *e10) {
    int lo = scale >= 0 ? scale : 0, hi = scale >= 0 ? scale : 15;
    if (lo > 15) return -1;
    for (int s = lo; s <= hi; s++) {
        double m = a * POW10[s];
        if (!(m < 1e15)) return -1;
        double r = nearbyint(m);
        if (r == 0.0 || r / POW10[s] != a) continue;
        uint64_t u = (uint64_t)r;
        unsigned char tmp[24];
        int k = 0;
        while (u) { tmp[k++] = (unsigned char)(u % 10); u /= 10; }
        for (int i = 0; i < k; i++) dg[i] = tmp[k - 1 - i];
        *n = k;
        *e10 = k - 1 - s;
        return 0;
    }
    return -1;
}

static int dec_from_double(double v, int scale, Dec *x) {
    if (!isfinite(v)) return -1;
    x->neg = signbit(v) != 0;
    double a = fabs(v);
    if (a == 0.0) {                      /* repr: "0.0" / "-0.0" */
        x->n = 1; x->d[0] = 0; x->exp = -1;
        return 0;
    }
    int e2;
    /* A power of two has a narrower rounding interval below than above, so the nearest candidate of a length
     * may fail where a farther one above reads back. Between 2**-20 and 2**52 no shorter candidate can read
     * back (an integer's neighbours are <= 0.5 away; 5**k * 10**-k is >= 5 * 10**-k from any shorter one). */
    if (frexp(a, &e2) == 0.5 && (e2 - 1 < -20 || e2 - 1 > 52)) return -1;
    char s[64], t[64];
    unsigned char dg[24];
    int n = 0, e10 = 0, found = fast_digits(a, scale, dg, &n, &e10) == 0;
    for (int p = 0; p <= 16 && !found; p++) {
        snprintf(s, sizeof s, "%.*e", p, a);
        if (sci_digits(s, dg, &n, &e10)) return -1;
        /* read back without a decimal point: "DDDDe<E-p>" is locale-proof */
        int k = 0;
        for (int i = 0; i < n; i++) t[k++] = (char)('0' + dg[i]);
        snprintf(t + k, sizeof t - (size_t)k, "e%d", e10 - (n - 1));
        if (strtod(t, NULL) == a) found = 1;
    }
    if (!found) return -1;
    while (n > 1 && dg[n - 1] == 0) n--;
    int decpt = e10 + 1;                 /* value = 0.D * 10^decpt */
    memcpy(x->d, dg, (size_t)n);
    x->n = n;
    if (decpt > -4 && decpt <= 16 && decpt >= n) {   /* repr "DDD00.0" */
        int z = decpt - n + 1;
        memset(x->d + n, 0, (size_t)z);
        x->n = n + z;
        x->exp = -1;
    } else {
        x->exp = (long long)decpt - n;
    }
    return 0;
}

static inline int num_space(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* typemap._NUM_RE on ASCII text: \s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s* */
static int dec_from_text(const unsigned char *s, size_t n, Dec *x) {
    size_t i = 0;
    while (i < n && num_space(s[i])) i++;
    x->neg = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) x->neg = s[i++] == '-';
    int k = 0, int_digits = 0, frac_digits = 0, started = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9') {
        int_digits++;
        if (s[i] != '0' || started) {
            if (k >= NUM_MAX_DIGITS) return -1;
            x->d[k++] = (unsigned char)(s[i] - '0');
            started = 1;
        }
        i++;
    }
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            frac_digits++;
            if (s[i] != '0' || started) {
                if (k >= NUM_MAX_DIGITS) return -1;
                x->d[k++] = (unsigned char)(s[i] - '0');
                started = 1;
            }
            i++;
        }
    }
    if (int_digits + frac_digits == 0) return -1;
    long long e = 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        int eneg = 0, ed = 0;
        if (i < n && (s[i] == '+' || s[i] == '-')) eneg = s[i++] == '-';
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (++ed > 9) return -1;     /* beyond any scale psycopg sends: Python decides */
            e = e * 10 + (s[i] - '0');
            i++;
        }
        if (ed == 0) return -1;
        if (eneg) e = -e;
    }
    while (i < n && num_space(s[i])) i++;
    if (i != n) return -1;
    if (!started) x->d[k++] = 0;
    x->n = k;
    x->exp = e - frac_digits;
    return 0;
}

/* to_decimal's numeric(p, s) checks: 0 when Python accepts the value unchanged, -1 otherwise (or unsure). */
static int dec_fits(const Dec *x, long long arg) {
    if (arg < 0) return 0;
    long long p = arg >> 16, sc = arg & 0xFFFF;
    if (-x->exp > sc) {
        /* Python rejects a nonzero digit beyond the scale; zeros there are accepted as they are */
        long long extra = -x->exp - sc;
        if (x->n > NUM_CONTEXT_PREC) return -1;
        for (long long j = 0; j < extra && j < x->n; j++)
            if (x->d[x->n - 1 - j]) return -1;
    }
    long long adjusted = x->exp + x->n - 1;
    if (adjusted + 1 > p - sc) return -1;
    return 0;
}

/* psycopg's dump_decimal_to_numeric_binary, field length included; -1 when it would refuse. */
static int put_numeric(Buf *b, const Dec *x) {
    int nz = x->n;
    while (nz > 0 && x->d[nz - 1] == 0) nz--;
    long long nd = x->n, dscale;
    if (x->exp <= 0) {
        dscale = -x->exp;
    } else {
        dscale = 0;
        nd += mod4(x->exp);
    }
    if (dscale > NUM_MAX_DSCALE) return -1;
    if (nz == 0) {
        if (buf_reserve(b, 12)) return -2;
        put_u32(b, 8); put_u16(b, 0); put_u16(b, 0); put_u16(b, 0); put_u16(b, (uint16_t)dscale);
        return 0;
    }
    long long wi = 0, m = mod4(nd - dscale);
    if (m) { wi = 4 - m; nd += wi; }
    long long weight = floordiv4(nd + x->exp) - 1;
    if (weight > NUM_MAX_WEIGHT || weight < -NUM_MAX_WEIGHT) return -1;
    long long tmp = nz + wi;
    int npg = (int)(tmp / 4 + (tmp % 4 != 0));
    if (buf_reserve(b, 12 + 2 * (size_t)npg)) return -2;
    put_u32(b, (uint32_t)(8 + 2 * npg));
    put_u16(b, (uint16_t)npg);
    put_u16(b, (uint16_t)(int16_t)weight);
    put_u16(b, x->neg ? 0x4000 : 0);
    put_u16(b, (uint16_t)dscale);
    static const int W[4] = {1000, 100, 10, 1};
    int pg = 0, w = (int)wi;
    for (int i = 0; i < nz; i++) {
        pg += W[w] * x->d[i];
        if (++w >= 4) { put_u16(b, (uint16_t)pg); pg = w = 0; }
    }
    if (pg) put_u16(b, (uint16_t)pg);
    return 0;
}

static int encode_numeric(sqlite3_stmt *st, int col, int t, long long arg, Buf *b) {
    Dec x;
    int bad;
    if (t == SQLITE_INTEGER) bad = dec_from_int(sqlite3_column_int64(st, col), &x);
    else if (t == SQLITE_FLOAT) bad = dec_from_double(sqlite3_column_double(st, col), arg >= 0 ? (int)(arg & 0xFFFF) : -1, &x);
    else if (t == SQLITE_TEXT) bad = dec_from_text(sqlite3_column_text(st, col), (size_t)sqlite3_column_bytes(st, col), &x);
    else return -1;
    if (bad || dec_fits(&x, arg)) return -1;
    return put_numeric(b, &x);
}

/* ---- one value, one row ------------------------------------------------ */

#define EPOCH_2000 946684800LL
#define MIN_UNIX (-62135596800LL)   /* 0001-01-01T00:00:00Z */
#define MAX_UNIX (253402300799LL)   /* 9999-12-31T23:59:59Z */
#define MIN_UNIX_US ((MIN_UNIX - EPOCH_2000) * 1000000LL)
#define MAX_UNIX_US ((MAX_UNIX - EPOCH_2000) * 1000000LL + 999999LL)
#define MS_THRESHOLD 100000000000LL  /* typemap.MS_THRESHOLD: epoch numbers this large are milliseconds */

/* Append the field (length + bytes) for column c of the current row; 0 ok, -1 slow. */
static int encode_value(Reader *r, int c, Buf *b) {
    const ColSpec *cs = &r->cols[c];
    sqlite3_stmt *st = r->stmt;
    int col = c + 1;
    int t = sqlite3_column_type(st, col);
    if (t == SQLITE_NULL) {
        if (cs->not_null) return -1;
        if (buf_reserve(b, 4)) return -2;
        put_u32(b, 0xFFFFFFFFu);
        return 0;
    }
    switch (cs->kind) {
    case KIND_INT2: case KIND_INT4: case KIND_INT8: {
        if (t != SQLITE_INTEGER) return -1;
        sqlite3_int64 v = sqlite3_column_int64(st, col);
        if (buf_reserve(b, 12)) return -2;
        if (cs->kind == KIND_INT2) {
            if (v < -32768 || v > 32767) return -1;
            put_u32(b, 2); put_u16(b, (uint16_t)v);
        } else if (cs->kind == KIND_INT4) {
            if (v < INT32_MIN || v > INT32_MAX) return -1;
            put_u32(b, 4); put_u32(b, (uint32_t)v);
        } else {
            put_u32(b, 8); put_u64(b, (uint64_t)v);
        }
        return 0;
    }
    case KIND_FLOAT8: {
        double d;
        if (t == SQLITE_FLOAT) {
            d = sqlite3_column_double(st, col);
        } else if (t == SQLITE_INTEGER) {
            sqlite3_int64 v = sqlite3_column_int64(st, col);
            if (v > (1LL << 53) || v < -(1LL << 53)) return -1;
            d = (double)v;
        } else {
            return -1;
        }
        uint64_t bits;
        memcpy(&bits, &d, 8);
        if (buf_reserve(b, 12)) return -2;
        put_u32(b, 8); put_u64(b, bits);
        return 0;
    }
    case KIND_NUMERIC:
        return encode_numeric(st, col, t, cs->arg, b);
    case KIND_BOOL: {
        if (t != SQLITE_INTEGER) return -1;
        sqlite3_int64 v = sqlite3_column_int64(st, col);
        if (v != 0 && v != 1) return -1;
        if (buf_reserve(b, 5)) return -2;
        put_u32(b, 1); b->p[b->len++] = (char)v;
        return 0;
    }
    case KIND_BYTEA: {
        if (t != SQLITE_BLOB && t != SQLITE_TEXT) return -1;
        const void *p = t == SQLITE_BLOB ? sqlite3_column_blob(st, col) : (const void *)sqlite3_column_text(st, col);
        size_t n = (size_t)sqlite3_column_bytes(st, col);
        if (buf_reserve(b, 4 + n)) return -2;
        put_u32(b, (uint32_t)n);
        if (n) memcpy(b->p + b->len, p, n);
        b->len += n;
        return 0;
    }
    default:
        break;
    }
    if ((cs->kind == KIND_TIMESTAMPTZ || cs->kind == KIND_TIMESTAMP) && t == SQLITE_INTEGER) {
        sqlite3_int64 v = sqlite3_column_int64(st, col);
        int64_t us;
        /* arg 0: the column's unit is "mixed", each number read by its own magnitude (typemap.parse_moment) */
        if (cs->arg == 1000 || (cs->arg == 0 && (v >= MS_THRESHOLD || v <= -MS_THRESHOLD))) {
            if (v < MIN_UNIX * 1000 || v > MAX_UNIX * 1000 + 999) return -1;
            us = (v - EPOCH_2000 * 1000) * 1000;
        } else {
            if (v < MIN_UNIX || v > MAX_UNIX) return -1;
            us = (v - EPOCH_2000) * 1000000;
        }
        if (buf_reserve(b, 12)) return -2;
        put_u32(b, 8); put_u64(b, (uint64_t)us);
        return 0;
    }
    if (t != SQLITE_TEXT) return -1;
    const unsigned char *s = sqlite3_column_text(st, col);
    size_t n = (size_t)sqlite3_column_bytes(st, col);
    switch (cs->kind) {
    case KIND_TEXT: case KIND_JSON: case KIND_JSONB: {
        long long chars = utf8_chars(s, n);
        if (chars < 0) return -1;
        if (cs->kind == KIND_TEXT && cs->arg >= 0 && chars > cs->arg) return -1;
        if (cs->kind != KIND_TEXT && !json_ok(s, n, cs->kind == KIND_JSONB)) return -1;
        int head = cs->kind == KIND_JSONB;
        if (buf_reserve(b, 4 + 1 + n)) return -2;
        put_u32(b, (uint32_t)(n + head));
        if (head) b->p[b->len++] = 1;
        memcpy(b->p + b->len, s, n);
        b->len += n;
        return 0;
    }
    case KIND_TIMESTAMPTZ: case KIND_TIMESTAMP: {
        int64_t us;
        if (parse_timestamp((const char *)s, n, &us)) return -1;
        /* a naive target gets the UTC time as a Python datetime, which must stay within years 1..9999 */
        if (cs->kind == KIND_TIMESTAMP && (us < MIN_UNIX_US || us > MAX_UNIX_US)) return -1;
        if (buf_reserve(b, 12)) return -2;
        put_u32(b, 8); put_u64(b, (uint64_t)us);
        return 0;
    }
    case KIND_DATE: {
        int y, m, d;
        if (n != 10 || parse_date((const char *)s, &y, &m, &d)) return -1;
        if (buf_reserve(b, 8)) return -2;
        put_u32(b, 4); put_u32(b, (uint32_t)(int32_t)days_from_2000(y, m, d));
        return 0;
    }
    case KIND_UUID: {
        unsigned char u[16];
        if (parse_uuid((const char *)s, n, u)) return -1;
        if (buf_reserve(b, 20)) return -2;
        put_u32(b, 16);
        memcpy(b->p + b->len, u, 16);
        b->len += 16;
        return 0;
    }
    default:
        return -1;
    }
}

/* The current row as source.read_batches gives it: (key, *columns), text as str or BadUtf8. */
static PyObject *row_tuple(Reader *r) {
    PyObject *row = PyTuple_New(r->ncols + 1);
    if (!row) return NULL;
    for (int i = 0; i <= r->ncols; i++) {
        PyObject *v;
        switch (sqlite3_column_type(r->stmt, i)) {
        case SQLITE_INTEGER:
            v = PyLong_FromLongLong(sqlite3_column_int64(r->stmt, i));
            break;
        case SQLITE_FLOAT:
            v = PyFloat_FromDouble(sqlite3_column_double(r->stmt, i));
            break;
        case SQLITE_TEXT: {
            const char *s = (const char *)sqlite3_column_text(r->stmt, i);
            Py_ssize_t n = sqlite3_column_bytes(r->stmt, i);
            v = PyUnicode_DecodeUTF8(s, n, NULL);
            if (!v && PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
                PyErr_Clear();
                v = PyObject_CallFunction(r->bad_utf8, "y#", s, n);
            }
            break;
        }
        case SQLITE_BLOB: {
            const char *p = sqlite3_column_blob(r->stmt, i);
            v = PyBytes_FromStringAndSize(p ? p : "", sqlite3_column_bytes(r->stmt, i));
            break;
        }
        default:
            v = Py_NewRef(Py_None);
        }
        if (!v) { Py_DECREF(row); return NULL; }
        PyTuple_SET_ITEM(row, i, v);
    }
    return row;
}

/* ---- storage-class profile (read side, for the pre-flight) --------------
 *
 * The pre-flight reports, per source column, how many values of each SQLite
 * storage class it holds. Counting them here, on the read the prediction
 * already makes, saves a second pass over the table (one typeof() per value
 * in SQL). Counted before encode_value touches the row: sqlite3_column_type
 * is only meaningful before any conversion of the value.
 */

#define N_CLASSES 5   /* SQLITE_INTEGER 1, SQLITE_FLOAT 2, SQLITE_TEXT 3, SQLITE_BLOB 4, SQLITE_NULL 5 */

static void profile_row(Reader *r) {
    int n = r->ncols + r->extra;
    for (int c = 0; c < n; c++) {
        int t = sqlite3_column_type(r->stmt, c + 1);
        if (t >= 1 && t <= N_CLASSES) r->classes[(size_t)c * N_CLASSES + (size_t)(t - 1)]++;
    }
}

/* ---- epoch units of time columns (read side, for the pre-flight) ---------
 *
 * A time column's numbers are read as epoch seconds or milliseconds by the
 * column's unit, which source.epoch_counts decides with one SQL scan per
 * column. Counted here, on the read the prediction already makes, by the
 * same rule: integers and reals, and text that starts with a digit and holds
 * only digits and dots (up to a NUL, where SQLite's GLOB stops), at their
 * absolute value as CAST(x AS REAL) reads it (sqlite3_column_double uses the
 * same conversion); zero counts as neither. Before encode_value, like the
 * profile: sqlite3_column_type is only meaningful before any conversion.
 */

static int epoch_text(const unsigned char *s, int n) {
    if (n < 1 || s[0] < '0' || s[0] > '9') return 0;
    for (int i = 1; i < n && s[i]; i++)
        if ((s[i] < '0' || s[i] > '9') && s[i] != '.') return 0;
    return 1;
}

static void epoch_row(Reader *r) {
    for (int c = 0; c < r->ncols; c++) {
        int k = r->cols[c].kind;
        if (k != KIND_TIMESTAMPTZ && k != KIND_TIMESTAMP && k != KIND_DATE) continue;
        int t = sqlite3_column_type(r->stmt, c + 1);
        if (t == SQLITE_TEXT) {
            if (!epoch_text(sqlite3_column_text(r->stmt, c + 1), sqlite3_column_bytes(r->stmt, c + 1))) continue;
        } else if (t != SQLITE_INTEGER && t != SQLITE_FLOAT) {
            continue;
        }
        double a = fabs(sqlite3_column_double(r->stmt, c + 1));
        if (a >= r->epoch_threshold) r->epochs[2 * c + 1]++;
        else if (a > 0) r->epochs[2 * c]++;
    }
}

/* [(seconds, milliseconds), ...] per codec column (zeros for other kinds); None when not counted. */
static PyObject *Reader_epochs(Reader *r, PyObject *Py_UNUSED(ignored)) {
    if (!r->epochs) Py_RETURN_NONE;
    PyObject *out = PyList_New(r->ncols);
    if (!out) return NULL;
    for (int c = 0; c < r->ncols; c++) {
        PyObject *t = Py_BuildValue("(LL)", r->epochs[2 * c], r->epochs[2 * c + 1]);
        if (!t) { Py_DECREF(out); return NULL; }
        PyList_SET_ITEM(out, c, t);
    }
    return out;
}

/* [(integer, real, text, blob, null), ...] per query column after the key; None when not counted. */
static PyObject *Reader_profile(Reader *r, PyObject *Py_UNUSED(ignored)) {
    if (!r->classes) Py_RETURN_NONE;
    int n = r->ncols + r->extra;
    PyObject *out = PyList_New(n);
    if (!out) return NULL;
    for (int c = 0; c < n; c++) {
        const long long *k = r->classes + (size_t)c * N_CLASSES;
        PyObject *t = Py_BuildValue("(LLLLL)", k[0], k[1], k[2], k[3], k[4]);
        if (!t) { Py_DECREF(out); return NULL; }
        PyList_SET_ITEM(out, c, t);
    }
    return out;
}

/* ---- the Python type ---------------------------------------------------- */

static void reader_close(Reader *r) {
    if (r->stmt) { sqlite3_finalize(r->stmt); r->stmt = NULL; }
    if (r->db) { sqlite3_close(r->db); r->db = NULL; }
    r->done = 1;
}

static void Reader_dealloc(Reader *r) {
    reader_close(r);
    free(r->cols);
    free(r->buf.p);
    free(r->classes);
    free(r->epochs);
    Py_XDECREF(r->bad_utf8);
    Py_TYPE(r)->tp_free((PyObject *)r);
}

static int Reader_init(Reader *r, PyObject *args, PyObject *kw) {
    static char *names[] = {"uri", "query", "lo", "hi", "columns", "bad_utf8", "chunk_rows", "chunk_bytes",
                            "extra", "profile", "check_only", "epoch_threshold", NULL};
    const char *uri, *query;
    long long lo, hi;
    PyObject *columns, *bad_utf8;
    long chunk_rows = 5000;
    Py_ssize_t chunk_bytes = 1 << 20;
    int extra = 0, profile = 0, check_only = 0;
    double epoch_threshold = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "ssLLOO|lnippd", names, &uri, &query, &lo, &hi, &columns, &bad_utf8,
                                     &chunk_rows, &chunk_bytes, &extra, &profile, &check_only, &epoch_threshold))
        return -1;
    if (extra < 0) {
        PyErr_SetString(PyExc_ValueError, "extra must be >= 0");
        return -1;
    }
    PyObject *seq = PySequence_Fast(columns, "columns must be a sequence of (kind, arg, not_null)");
    if (!seq) return -1;
    Py_ssize_t nc = PySequence_Fast_GET_SIZE(seq);
    r->cols = calloc(nc ? nc : 1, sizeof(ColSpec));
    if (!r->cols) { Py_DECREF(seq); PyErr_NoMemory(); return -1; }
    for (Py_ssize_t i = 0; i < nc; i++) {
        ColSpec *cs = &r->cols[i];
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i), "iLp", &cs->kind, &cs->arg, &cs->not_null)) {
            Py_DECREF(seq);
            return -1;
        }
        if (cs->kind < KIND_INT2 || cs->kind > KIND_NUMERIC) {
            Py_DECREF(seq);
            PyErr_Format(PyExc_ValueError, "unknown column kind %d", cs->kind);
            return -1;
        }
    }
    Py_DECREF(seq);
    r->ncols = (int)nc;
    r->extra = extra;
    r->check_only = check_only;
    if (profile) {
        r->classes = calloc((size_t)(r->ncols + extra ? r->ncols + extra : 1) * N_CLASSES, sizeof(long long));
        if (!r->classes) { PyErr_NoMemory(); return -1; }
    }
    if (epoch_threshold > 0) {
        r->epochs = calloc((size_t)(r->ncols ? r->ncols : 1) * 2, sizeof(long long));
        if (!r->epochs) { PyErr_NoMemory(); return -1; }
        r->epoch_threshold = epoch_threshold;
    }
    r->bad_utf8 = Py_NewRef(bad_utf8);
    r->chunk_rows = chunk_rows > 0 ? chunk_rows : 5000;
    r->chunk_bytes = chunk_bytes > 0 ? (size_t)chunk_bytes : 1 << 20;
    /* one thread at a time per reader: no mutex around every sqlite3_column_* call */
    int rc = sqlite3_open_v2(uri, &r->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(r->db, query, -1, &r->stmt, NULL);
    if (rc == SQLITE_OK && sqlite3_column_count(r->stmt) != r->ncols + 1 + r->extra) {
        PyErr_SetString(PyExc_ValueError, "query must return the key, one column per column spec, then the extra ones");
        reader_close(r);
        return -1;
    }
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(r->stmt, 1, lo);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(r->stmt, 2, hi);
    if (rc != SQLITE_OK) {
        PyErr_Format(PyExc_OSError, "sqlite: %s", r->db ? sqlite3_errmsg(r->db) : "cannot open");
        reader_close(r);
        return -1;
    }
    return 0;
}

static PyObject *Reader_iternext(Reader *r) {
    if (r->done) return NULL;
    PyObject *slow = PyList_New(0);
    if (!slow) return NULL;
    Buf *b = &r->buf;
    b->len = 0;
    long rows = 0;
    int rc = SQLITE_ROW, err = 0;
    PyThreadState *ts = PyEval_SaveThread();
    while (rows < r->chunk_rows && b->len < r->chunk_bytes) {
        rc = sqlite3_step(r->stmt);
        if (rc != SQLITE_ROW) break;
        rows++;
        if (r->classes) profile_row(r);
        if (r->epochs) epoch_row(r);
        size_t start = b->len;
        int bad = buf_reserve(b, 2) ? -2 : 0;
        if (!bad) put_u16(b, (uint16_t)r->ncols);
        for (int c = 0; c < r->ncols && !bad; c++) bad = encode_value(r, c, b);
        if (bad == -2) { err = 1; break; }
        if (bad) {
            b->len = start;
            PyEval_RestoreThread(ts);
            PyObject *row = row_tuple(r);
            int fail = !row || PyList_Append(slow, row) < 0;
            Py_XDECREF(row);
            if (fail) { Py_DECREF(slow); return NULL; }
            ts = PyEval_SaveThread();
        }
        if (r->check_only) b->len = start;
    }
    PyEval_RestoreThread(ts);
    if (err) { Py_DECREF(slow); return PyErr_NoMemory(); }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        PyErr_Format(PyExc_OSError, "sqlite: %s", sqlite3_errmsg(r->db));
        Py_DECREF(slow);
        reader_close(r);
        return NULL;
    }
    if (rc == SQLITE_DONE) reader_close(r);
    if (rows == 0) { Py_DECREF(slow); return NULL; }
    PyObject *data = PyBytes_FromStringAndSize(b->p, (Py_ssize_t)b->len);
    if (!data) { Py_DECREF(slow); return NULL; }
    return Py_BuildValue("(NlN)", data, rows, slow);
}

static PyObject *Reader_close(Reader *r, PyObject *Py_UNUSED(ignored)) {
    reader_close(r);
    Py_RETURN_NONE;
}

static PyMethodDef Reader_methods[] = {
    {"close", (PyCFunction)Reader_close, METH_NOARGS, "Finalize the statement and close the SQLite file."},
    {"profile", (PyCFunction)Reader_profile, METH_NOARGS,
     "Storage-class counts so far, [(integer, real, text, blob, null), ...] per column after the key "
     "(None unless profile=True)."},
    {"epochs", (PyCFunction)Reader_epochs, METH_NOARGS,
     "Epoch numbers so far, [(seconds, milliseconds), ...] per column spec, counted in time columns only "
     "(None unless epoch_threshold > 0)."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ReaderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "migrations_ops.copy._rowcodec.RangeReader",
    .tp_basicsize = sizeof(Reader),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "RangeReader(uri, query, lo, hi, columns, bad_utf8, chunk_rows=5000, chunk_bytes=1MiB, extra=0, "
              "profile=False, check_only=False, epoch_threshold=0)\n"
              "Iterate (binary COPY tuples, rows read, slow rows) over one key range; extra: trailing query "
              "columns only counted by profile; check_only: no COPY bytes kept (empty), only the slow rows; "
              "epoch_threshold > 0: count time columns' epoch numbers below and at or above it (epochs()).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Reader_init,
    .tp_dealloc = (destructor)Reader_dealloc,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)Reader_iternext,
    .tp_methods = Reader_methods,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_rowcodec", "SQLite rows to PostgreSQL binary COPY tuples, in C.", -1, NULL,
};

PyMODINIT_FUNC PyInit__rowcodec(void) {
    if (PyType_Ready(&ReaderType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    if (PyModule_AddObjectRef(m, "RangeReader", (PyObject *)&ReaderType) < 0) { Py_DECREF(m); return NULL; }
    return m;
}
