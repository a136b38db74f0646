/*
 * _pghash: the SQLite side of the per-type hash checksum (see verify/pghash.py).
 *
 * PostgreSQL hashes a row of the target with its own per-type hash functions
 * (hashint8extended, hash_numeric_extended, hashtextextended, ...), one seed per
 * column, XOR of the columns, sum of the rows. This module computes the same
 * numbers from the SQLite source, reading the file through the SQLite C API
 * with the GIL released, and interpreting each raw SQLite value the way
 * verify/canonical.py does (adapt_sqlite + canonical). Where a value is not one
 * of the forms handled here with certainty, the Python ``fallback(column, raw)``
 * returns its canonical text (or None when the target type cannot hold it), and
 * that text is hashed; what even that cannot give is a *poisoned* row, which
 * makes its range differ so that bisection ends at the row-by-row comparison.
 *
 * The lookup3 hash (hash_bytes_extended, hash_bytes_uint32_extended) and the
 * per-type rules are a port of PostgreSQL 15's src/common/hashfn.c,
 * src/backend/access/hash/hashfunc.c and src/backend/utils/adt/numeric.c
 * (hash_numeric_extended). Those parts are
 *   Portions Copyright (c) 1996-2022, PostgreSQL Global Development Group
 *   Portions Copyright (c) 1994, Regents of the University of California
 * and used under the PostgreSQL Licence: "Permission to use, copy, modify, and
 * distribute this software and its documentation for any purpose, without fee,
 * and without a written agreement is hereby granted, provided that the above
 * copyright notice and this paragraph and the following two paragraphs appear in
 * all copies." (The lookup3 function itself is Bob Jenkins', public domain.)
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <sqlite3.h>

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "_pghash assumes a little-endian machine (PostgreSQL's hash reads words in native order)"
#endif

/* ---- lookup3, as in PostgreSQL's src/common/hashfn.c -------------------- */

#define rot(x, k) (((x) << (k)) | ((x) >> (32 - (k))))
#define mix(a, b, c) \
    { \
        a -= c; a ^= rot(c, 4); c += b; \
        b -= a; b ^= rot(a, 6); a += c; \
        c -= b; c ^= rot(b, 8); b += a; \
        a -= c; a ^= rot(c, 16); c += b; \
        b -= a; b ^= rot(a, 19); a += c; \
        c -= b; c ^= rot(b, 4); b += a; \
    }
#define final(a, b, c) \
    { \
        c ^= b; c -= rot(b, 14); \
        a ^= c; a -= rot(c, 11); \
        b ^= a; b -= rot(a, 25); \
        c ^= b; c -= rot(b, 16); \
        a ^= c; a -= rot(c, 4); \
        b ^= a; b -= rot(a, 14); \
        c ^= b; c -= rot(b, 24); \
    }

static inline uint32_t load32(const unsigned char *k)
{
    uint32_t v;
    memcpy(&v, k, 4);
    return v; /* little-endian: same words as PostgreSQL's aligned and unaligned paths */
}

/* hash_bytes_extended (= hash_any_extended) */
static uint64_t hash_bytes_ext(const unsigned char *k, size_t keylen, uint64_t seed)
{
    uint32_t a, b, c, len = (uint32_t) keylen;

    a = b = c = 0x9e3779b9 + len + 3923095;
    if (seed != 0) {
        a += (uint32_t) (seed >> 32);
        b += (uint32_t) seed;
        mix(a, b, c);
    }
    while (len >= 12) {
        a += load32(k);
        b += load32(k + 4);
        c += load32(k + 8);
        mix(a, b, c);
        k += 12;
        len -= 12;
    }
    switch (len) {
    case 11: c += ((uint32_t) k[10] << 24); /* fall through */
    case 10: c += ((uint32_t) k[9] << 16); /* fall through */
    case 9: c += ((uint32_t) k[8] << 8); /* fall through */
    case 8: b += ((uint32_t) k[7] << 24); /* fall through */
    case 7: b += ((uint32_t) k[6] << 16); /* fall through */
    case 6: b += ((uint32_t) k[5] << 8); /* fall through */
    case 5: b += k[4]; /* fall through */
    case 4: a += ((uint32_t) k[3] << 24); /* fall through */
    case 3: a += ((uint32_t) k[2] << 16); /* fall through */
    case 2: a += ((uint32_t) k[1] << 8); /* fall through */
    case 1: a += k[0];
    }
    final(a, b, c);
    return ((uint64_t) b << 32) | c;
}

/* hash_bytes_uint32_extended */
static uint64_t hash_uint32_ext(uint32_t k, uint64_t seed)
{
    uint32_t a, b, c;

    a = b = c = 0x9e3779b9 + (uint32_t) sizeof(uint32_t) + 3923095;
    if (seed != 0) {
        a += (uint32_t) (seed >> 32);
        b += (uint32_t) seed;
        mix(a, b, c);
    }
    a += k;
    final(a, b, c);
    return ((uint64_t) b << 32) | c;
}

/* hashint8extended; equals hashint4extended for values in the int4 range */
static uint64_t hash_int8(int64_t val, uint64_t seed)
{
    uint32_t lohalf = (uint32_t) val;
    uint32_t hihalf = (uint32_t) ((uint64_t) val >> 32);

    lohalf ^= (val >= 0) ? hihalf : ~hihalf;
    return hash_uint32_ext(lohalf, seed);
}

/* hashfloat8extended: 0 and -0 hash as the seed, every NaN as the one NaN */
static uint64_t hash_float8(double key, uint64_t seed)
{
    unsigned char bytes[8];

    if (key == 0.0)
        return seed;
    if (isnan(key)) {
        uint64_t nan_bits = UINT64_C(0x7ff8000000000000); /* get_float8_nan(): NAN on x86-64 */
        memcpy(bytes, &nan_bits, 8);
    } else
        memcpy(bytes, &key, 8);
    return hash_bytes_ext(bytes, 8, seed);
}

/* ---- results of interpreting one value --------------------------------- */

enum { H_OK = 0, H_UNSURE = 1, H_POISON = 2 };

#define NO_SCALE (-32768) /* an unconstrained numeric column */
#define EPOCH_MS 3 /* a time column whose numbers are epoch milliseconds (pghash.spec) */

enum {
    K_INT = 1, K_BOOL, K_FLOAT, K_FLOAT4, K_NUMERIC, K_TEXT, K_BYTEA, K_TIMESTAMP, K_DATE, K_JSON, K_UUID
};

typedef struct {
    int kind;
    int scale;        /* numeric: the column's scale, or NO_SCALE when unconstrained; time kinds: EPOCH_MS
                         when the column's numbers are epoch milliseconds */
    uint64_t seed;    /* the column's seed */
    uint64_t seed_neg; /* numeric: the seed of negative values (hash_numeric ignores the sign) */
} Col;

typedef struct {
    int type; /* SQLITE_INTEGER, SQLITE_FLOAT, SQLITE_TEXT, SQLITE_BLOB */
    int64_t i;
    double d;
    const unsigned char *p;
    size_t n;
} Val;

/* a growable byte buffer */
typedef struct {
    unsigned char *p;
    size_t len, cap;
    int oom;
} Buf;

static int buf_reserve(Buf *b, size_t more)
{
    if (b->len + more <= b->cap)
        return 1;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more)
        cap *= 2;
    unsigned char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return 0;
    }
    b->p = p;
    b->cap = cap;
    return 1;
}

static inline void buf_put(Buf *b, const void *s, size_t n)
{
    if (buf_reserve(b, n)) {
        memcpy(b->p + b->len, s, n);
        b->len += n;
    }
}

static inline void buf_ch(Buf *b, unsigned char c)
{
    if (buf_reserve(b, 1))
        b->p[b->len++] = c;
}

/* ---- strict UTF-8 (what Python's decoder accepts) ----------------------- */

static int utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i + 8 <= n) { /* ASCII, 8 bytes at a time */
        uint64_t w;
        memcpy(&w, s + i, 8);
        if (w & UINT64_C(0x8080808080808080))
            break;
        i += 8;
    }
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            if (i + 1 >= n || (s[i + 1] & 0xC0) != 0x80)
                return 0;
            i += 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            if (i + 2 >= n || (s[i + 1] & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80)
                return 0;
            if (c == 0xE0 && s[i + 1] < 0xA0)
                return 0; /* overlong */
            if (c == 0xED && s[i + 1] >= 0xA0)
                return 0; /* surrogate */
            i += 3;
        } else if (c >= 0xF0 && c <= 0xF4) {
            if (i + 3 >= n || (s[i + 1] & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80 || (s[i + 3] & 0xC0) != 0x80)
                return 0;
            if (c == 0xF0 && s[i + 1] < 0x90)
                return 0;
            if (c == 0xF4 && s[i + 1] >= 0x90)
                return 0;
            i += 4;
        } else
            return 0;
    }
    return 1;
}

static inline int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* decimal digits of u into d (at least 21 bytes); returns their count (printf is slower) */
static int u64_digits(uint64_t u, char *d)
{
    char t[24];
    int n = 0;
    do {
        t[n++] = (char) ('0' + u % 10);
        u /= 10;
    } while (u);
    for (int k = 0; k < n; k++)
        d[k] = t[n - 1 - k];
    return n;
}

/* ---- numeric ------------------------------------------------------------ */

/*
 * hash_numeric_extended of the value (-1)^neg * digits * 10^exp10 (digits: ASCII, may have
 * leading/trailing zeros). PostgreSQL stores base-10000 groups aligned on the decimal point,
 * strips leading and trailing zero groups and mixes the weight of the first group in; the
 * display scale and the sign are not hashed (the seed carries the sign, see pghash.py).
 */
static int numeric_hash(int neg, const char *d, size_t nd, long exp10, const Col *col, uint64_t *out)
{
    int16_t groups[260];
    size_t lo = 0, hi = nd;

    while (lo < hi && d[lo] == '0')
        lo++;
    while (hi > lo && d[hi - 1] == '0') {
        hi--;
        exp10++;
    }
    if (lo == hi) { /* zero: not negative in PostgreSQL's eyes */
        *out = col->seed - 1;
        return H_OK;
    }
    if (exp10 > 100000 || exp10 < -100000)
        return H_UNSURE;
    long p_first = exp10 + (long) (hi - lo) - 1, p_last = exp10;
    long w_first = p_first >= 0 ? p_first / 4 : -((-p_first + 3) / 4);
    long w_last = p_last >= 0 ? p_last / 4 : -((-p_last + 3) / 4);
    long count = w_first - w_last + 1;
    if (count > 256)
        return H_UNSURE;
    memset(groups, 0, sizeof(int16_t) * (size_t) count);
    static const int pow10i[4] = {1, 10, 100, 1000};
    for (size_t j = lo; j < hi; j++) {
        long p = p_first - (long) (j - lo);
        long w = p >= 0 ? p / 4 : -((-p + 3) / 4);
        groups[w_first - w] += (int16_t) ((d[j] - '0') * pow10i[p - 4 * w]);
    }
    uint64_t seed = neg ? col->seed_neg : col->seed;
    uint64_t h = hash_bytes_ext((const unsigned char *) groups, sizeof(int16_t) * (size_t) count, seed);
    *out = h ^ (uint64_t) (int64_t) w_first;
    return H_OK;
}

/*
 * "NaN", "Infinity", "-Infinity", or -?digits(.digits)?, as Decimal(text) then quantized at
 * max_frac fraction digits (NO_SCALE: normalized); unsure where that would round or, at a
 * scale, exceed Decimal's 28-digit context.
 */
static int numeric_text(const unsigned char *s, size_t n, const Col *col, int max_frac, uint64_t *out)
{
    char digits[1100];
    size_t nd = 0, i = 0;
    int neg = 0, frac = -1;

    if (n == 3 && memcmp(s, "NaN", 3) == 0) {
        *out = col->seed;
        return H_OK;
    }
    if (n == 8 && memcmp(s, "Infinity", 8) == 0) {
        *out = col->seed;
        return H_OK;
    }
    if (n == 9 && memcmp(s, "-Infinity", 9) == 0) {
        *out = col->seed_neg;
        return H_OK;
    }
    if (i < n && s[i] == '-') {
        neg = 1;
        i++;
    }
    if (i >= n || !is_digit(s[i]))
        return H_UNSURE;
    for (; i < n; i++) {
        if (is_digit(s[i])) {
            if (nd >= sizeof(digits))
                return H_UNSURE;
            digits[nd++] = (char) s[i];
            if (frac >= 0)
                frac++;
        } else if (s[i] == '.' && frac < 0 && i + 1 < n) {
            frac = 0;
        } else
            return H_UNSURE;
    }
    if (frac < 0)
        frac = 0;
    if (max_frac != NO_SCALE && frac > max_frac)
        return H_UNSURE; /* would need rounding at the column's scale */
    /* at a column's scale, significant digits must fit Decimal's 28-digit context of canonical.numeric_text's
       quantize; unconstrained, it reads any number of digits exactly, as PostgreSQL does */
    long lead = 0, sig;
    while (lead < (long) nd && digits[lead] == '0')
        lead++;
    sig = (long) nd - lead;
    if (max_frac != NO_SCALE && (max_frac < 0 || (sig > 0 && sig - frac + max_frac > 28)))
        return H_UNSURE;
    return numeric_hash(neg, digits, nd, -frac, col, out);
}

static const double pow10d[16] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13,
                                  1e14, 1e15};

/*
 * A double as Decimal(repr(x)) at a scale: n / 10**s with |n| < 10**15 that reads back as x
 * exactly (IEEE division of two exact values is correctly rounded) is, having at most 15
 * significant digits, the only such decimal, hence repr(x); then quantize needs no rounding.
 */
static int numeric_double(double x, const Col *col, uint64_t *out)
{
    char digits[32];

    if (!isfinite(x))
        return H_UNSURE;
    if (x == 0.0)
        return numeric_hash(0, "0", 1, 0, col, out);
    if (col->scale != NO_SCALE && (col->scale < 0 || col->scale > 15))
        return H_UNSURE;
    int s_lo = col->scale != NO_SCALE ? col->scale : 0, s_hi = col->scale != NO_SCALE ? col->scale : 15;
    for (int s = s_lo; s <= s_hi; s++) {
        double m = x * pow10d[s];
        if (!(fabs(m) < 1e15))
            return H_UNSURE;
        double n = nearbyint(m);
        if (n / pow10d[s] == x) {
            int len = u64_digits((uint64_t) fabs(n), digits);
            return numeric_hash(x < 0, digits, (size_t) len, -s, col, out);
        }
    }
    return H_UNSURE;
}

static int numeric_int(int64_t v, const Col *col, uint64_t *out)
{
    char digits[32];
    uint64_t u = v < 0 ? (uint64_t) 0 - (uint64_t) v : (uint64_t) v;
    int len = u64_digits(u, digits);

    if (col->scale != NO_SCALE && (col->scale < 0 || len + col->scale > 28))
        return H_UNSURE; /* quantize beyond 28 digits raises in Python: let it decide */
    return numeric_hash(v < 0, digits, (size_t) len, 0, col, out);
}

/* ---- timestamps --------------------------------------------------------- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned) (y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t) doe - 719468;
}

#define PG_EPOCH_DAYS 10957 /* 2000-01-01 in days since 1970-01-01 */
#define USECS_PER_DAY INT64_C(86400000000)
#define MIN_US ((days_from_civil(1, 1, 1) - PG_EPOCH_DAYS) * USECS_PER_DAY)
#define MAX_US ((days_from_civil(9999, 12, 31) - PG_EPOCH_DAYS + 1) * USECS_PER_DAY - 1)

static int num2(const unsigned char *s, int *v)
{
    if (!is_digit(s[0]) || !is_digit(s[1]))
        return 0;
    *v = (s[0] - '0') * 10 + (s[1] - '0');
    return 1;
}

static int parse_date(const unsigned char *s, int *y, int *m, int *d)
{
    int a, b;
    if (!num2(s, &a) || !num2(s + 2, &b) || s[4] != '-' || !num2(s + 5, m) || s[7] != '-' || !num2(s + 8, d))
        return 0;
    *y = a * 100 + b;
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (*y < 1 || *m < 1 || *m > 12 || *d < 1 || *d > mdays[*m - 1])
        return 0;
    int leap = (*y % 4 == 0 && *y % 100 != 0) || *y % 400 == 0;
    if (*m == 2 && *d == 29 && !leap)
        return 0;
    return 1;
}

/*
 * ISO text as datetime.fromisoformat reads it, in the forms handled here: YYYY-MM-DD, or
 * YYYY-MM-DD[T ]HH:MM:SS[.f{1,6}][Z|+HH|+HH:MM|-...]; no zone is UTC. Microseconds since
 * 2000-01-01 UTC. Anything else (or out of datetime's range) is unsure.
 */
static int parse_timestamp(const unsigned char *s, size_t n, int64_t *us)
{
    int y, mo, d, h = 0, mi = 0, se = 0, frac = 0, off = 0;
    size_t i;

    if (n < 10 || !parse_date(s, &y, &mo, &d))
        return H_UNSURE;
    if (n > 10) {
        if (n < 19 || (s[10] != 'T' && s[10] != ' '))
            return H_UNSURE;
        if (!num2(s + 11, &h) || s[13] != ':' || !num2(s + 14, &mi) || s[16] != ':' || !num2(s + 17, &se))
            return H_UNSURE;
        if (h > 23 || mi > 59 || se > 59)
            return H_UNSURE;
        i = 19;
        if (i < n && s[i] == '.') {
            int nd = 0;
            i++;
            while (i < n && is_digit(s[i]) && nd < 7) {
                frac = frac * 10 + (s[i] - '0');
                nd++;
                i++;
            }
            if (nd == 0 || nd > 6)
                return H_UNSURE;
            for (; nd < 6; nd++)
                frac *= 10;
        }
        if (i < n) {
            if (s[i] == 'Z' && i + 1 == n) {
                i++;
            } else if (s[i] == '+' || s[i] == '-') {
                int sign = s[i] == '-' ? -1 : 1, oh, om = 0;
                if (i + 3 > n || !num2(s + i + 1, &oh))
                    return H_UNSURE;
                i += 3;
                if (i < n) {
                    if (i + 3 != n || s[i] != ':' || !num2(s + i + 1, &om))
                        return H_UNSURE;
                    i += 3;
                }
                if (oh > 23 || om > 59)
                    return H_UNSURE;
                off = sign * (oh * 3600 + om * 60);
            } else
                return H_UNSURE;
        }
        if (i != n)
            return H_UNSURE;
    }
    int64_t days = days_from_civil(y, (unsigned) mo, (unsigned) d) - PG_EPOCH_DAYS;
    int64_t v = days * USECS_PER_DAY + ((int64_t) h * 3600 + mi * 60 + se - off) * INT64_C(1000000) + frac;
    if (v < MIN_US || v > MAX_US)
        return H_UNSURE; /* Python raises OverflowError: let it say so */
    *us = v;
    return H_OK;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* ---- JSON to PostgreSQL's jsonb text ------------------------------------ */

typedef struct {
    size_t koff, klen, voff, vlen, order;
    int ksrc; /* 1: the key's bytes are at koff in the document (no escape), 0: decoded at koff in out */
} Member;

/* buffers reused from row to row (no malloc per document once warm) */
typedef struct {
    Buf out;     /* the canonical text being built (also holds decoded keys while parsing) */
    Buf raw;     /* a string value being decoded */
    Buf asm_;    /* an object being assembled in key order */
    Member *ms;  /* members of the objects being parsed, innermost last */
    size_t ms_len, ms_cap;
    Member *tmp; /* merge sort scratch */
    size_t tmp_cap;
    int oom;
} Scratch;

typedef struct {
    const unsigned char *s;
    size_t n, i;
    int depth;
    Scratch *sc;
} JP;

static void scratch_free(Scratch *sc)
{
    free(sc->out.p);
    free(sc->raw.p);
    free(sc->asm_.p);
    free(sc->ms);
    free(sc->tmp);
}

static void jws(JP *p)
{
    while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r'))
        p->i++;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int read_u4(JP *p, unsigned *u)
{
    if (p->i + 4 > p->n)
        return 0;
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        int h = hexval(p->s[p->i + k]);
        if (h < 0)
            return 0;
        v = v * 16 + (unsigned) h;
    }
    p->i += 4;
    *u = v;
    return 1;
}

/* a JSON string (after the opening quote), decoded into out as UTF-8 */
static int jstring_raw(JP *p, Buf *out)
{
    while (p->i < p->n) {
        unsigned char c = p->s[p->i];
        if (c == '"') {
            p->i++;
            return H_OK;
        }
        if (c < 0x20)
            return H_UNSURE; /* json.loads (strict) refuses it: Python decides */
        if (c != '\\') {
            size_t j = p->i;
            while (j < p->n && p->s[j] != '"' && p->s[j] != '\\' && p->s[j] >= 0x20)
                j++;
            buf_put(out, p->s + p->i, j - p->i);
            p->i = j;
            continue;
        }
        if (++p->i >= p->n)
            return H_UNSURE;
        c = p->s[p->i++];
        switch (c) {
        case '"': buf_ch(out, '"'); break;
        case '\\': buf_ch(out, '\\'); break;
        case '/': buf_ch(out, '/'); break;
        case 'b': buf_ch(out, '\b'); break;
        case 'f': buf_ch(out, '\f'); break;
        case 'n': buf_ch(out, '\n'); break;
        case 'r': buf_ch(out, '\r'); break;
        case 't': buf_ch(out, '\t'); break;
        case 'u': {
            unsigned u, lo;
            if (!read_u4(p, &u))
                return H_UNSURE;
            if (u == 0)
                return H_UNSURE; /* jsonb cannot hold \u0000 */
            if (u >= 0xD800 && u <= 0xDBFF) {
                if (p->i + 2 > p->n || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u')
                    return H_UNSURE; /* lone surrogate */
                p->i += 2;
                if (!read_u4(p, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                    return H_UNSURE;
                u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
            } else if (u >= 0xDC00 && u <= 0xDFFF)
                return H_UNSURE;
            unsigned char enc[4];
            size_t k;
            if (u < 0x80) {
                enc[0] = (unsigned char) u;
                k = 1;
            } else if (u < 0x800) {
                enc[0] = (unsigned char) (0xC0 | (u >> 6));
                enc[1] = (unsigned char) (0x80 | (u & 0x3F));
                k = 2;
            } else if (u < 0x10000) {
                enc[0] = (unsigned char) (0xE0 | (u >> 12));
                enc[1] = (unsigned char) (0x80 | ((u >> 6) & 0x3F));
                enc[2] = (unsigned char) (0x80 | (u & 0x3F));
                k = 3;
            } else {
                enc[0] = (unsigned char) (0xF0 | (u >> 18));
                enc[1] = (unsigned char) (0x80 | ((u >> 12) & 0x3F));
                enc[2] = (unsigned char) (0x80 | ((u >> 6) & 0x3F));
                enc[3] = (unsigned char) (0x80 | (u & 0x3F));
                k = 4;
            }
            buf_put(out, enc, k);
            break;
        }
        default:
            return H_UNSURE;
        }
    }
    return H_UNSURE;
}

/* a decoded string as json.dumps(ensure_ascii=False) and jsonb's escape_json print it */
static void jstring_out(Buf *out, const unsigned char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    buf_ch(out, '"');
    size_t start = 0;
    for (size_t j = 0; j < n; j++) {
        unsigned char c = s[j];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        buf_put(out, s + start, j - start);
        start = j + 1;
        switch (c) {
        case '"': buf_put(out, "\\\"", 2); break;
        case '\\': buf_put(out, "\\\\", 2); break;
        case '\n': buf_put(out, "\\n", 2); break;
        case '\r': buf_put(out, "\\r", 2); break;
        case '\t': buf_put(out, "\\t", 2); break;
        case '\b': buf_put(out, "\\b", 2); break;
        case '\f': buf_put(out, "\\f", 2); break;
        default: {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            buf_put(out, e, 6);
        }
        }
    }
    buf_put(out, s + start, n - start);
    buf_ch(out, '"');
}

/* a JSON number as canonical.jsonb_text prints it: int(), or format(Decimal(literal), "f") */
static int jnumber(JP *p, Buf *out)
{
    const unsigned char *s = p->s;
    size_t i = p->i, n = p->n;
    int neg = 0;
    if (i < n && s[i] == '-') {
        neg = 1;
        i++;
    }
    size_t ib = i;
    if (i < n && s[i] == '0')
        i++;
    else if (i < n && s[i] >= '1' && s[i] <= '9')
        while (i < n && is_digit(s[i]))
            i++;
    else
        return H_UNSURE; /* also -Infinity */
    size_t ie = i, fb = i, fe = i;
    int has_frac = 0, has_exp = 0;
    long e = 0;
    if (i + 1 < n && s[i] == '.' && is_digit(s[i + 1])) {
        has_frac = 1;
        fb = ++i;
        while (i < n && is_digit(s[i]))
            i++;
        fe = i;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        int eneg = 0;
        if (j < n && (s[j] == '+' || s[j] == '-')) {
            eneg = s[j] == '-';
            j++;
        }
        if (j < n && is_digit(s[j])) {
            has_exp = 1;
            while (j < n && is_digit(s[j])) {
                if (e > 100000)
                    return H_UNSURE;
                e = e * 10 + (s[j] - '0');
                j++;
            }
            if (eneg)
                e = -e;
            i = j;
        }
    }
    p->i = i;
    size_t nint = ie - ib, nfrac = fe - fb;
    if (!has_frac && !has_exp) {
        if (nint > 4000)
            return H_UNSURE; /* Python's int() digit limit */
        int zero = nint == 1 && s[ib] == '0';
        if (neg && !zero)
            buf_ch(out, '-');
        buf_put(out, s + ib, nint);
        return H_OK;
    }
    /* Decimal's coefficient: the int then the fraction digits, leading zeros dropped; its exponent */
    size_t ncd = nint + nfrac, lead = 0;
    while (lead + 1 < ncd && (lead < nint ? s[ib + lead] : s[fb + lead - nint]) == '0')
        lead++;
    ncd -= lead;
#define CD(k) ((lead + (k)) < nint ? s[ib + lead + (k)] : s[fb + lead + (k) - nint])
    long ex = e - (long) nfrac;
    int zero = ncd == 1 && CD(0) == '0';
    if (ex > 10000 || ex < -10000 || ncd > 10000)
        return H_UNSURE;
    if (neg && !zero)
        buf_ch(out, '-');
    if (ex >= 0) {
        for (size_t k = 0; k < ncd; k++)
            buf_ch(out, CD(k));
        if (!zero)
            for (long k = 0; k < ex; k++)
                buf_ch(out, '0');
    } else {
        size_t k = (size_t) -ex;
        if (ncd > k) {
            for (size_t q = 0; q < ncd - k; q++)
                buf_ch(out, CD(q));
            buf_ch(out, '.');
            for (size_t q = ncd - k; q < ncd; q++)
                buf_ch(out, CD(q));
        } else {
            buf_put(out, "0.", 2);
            for (size_t z = 0; z < k - ncd; z++)
                buf_ch(out, '0');
            for (size_t q = 0; q < ncd; q++)
                buf_ch(out, CD(q));
        }
    }
#undef CD
    return H_OK;
}

static int member_cmp(const Member *a, const Member *b, const unsigned char *const *base)
{
    if (a->klen != b->klen)
        return a->klen < b->klen ? -1 : 1;
    int r = memcmp(base[a->ksrc] + a->koff, base[b->ksrc] + b->koff, a->klen);
    if (r)
        return r;
    return a->order < b->order ? -1 : (a->order > b->order ? 1 : 0);
}

/* insertion sort on small arrays, merge sort beyond (order breaks ties: stable) */
static void sort_members(Member *m, size_t n, const unsigned char *const *base, Member *tmp)
{
    if (n < 16) {
        for (size_t i = 1; i < n; i++) {
            Member x = m[i];
            size_t j = i;
            while (j > 0 && member_cmp(&m[j - 1], &x, base) > 0) {
                m[j] = m[j - 1];
                j--;
            }
            m[j] = x;
        }
        return;
    }
    size_t h = n / 2;
    sort_members(m, h, base, tmp);
    sort_members(m + h, n - h, base, tmp);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = member_cmp(&m[i], &m[j], base) <= 0 ? m[i++] : m[j++];
    while (i < h)
        tmp[k++] = m[i++];
    while (j < n)
        tmp[k++] = m[j++];
    memcpy(m, tmp, n * sizeof(Member));
}

static int jvalue(JP *p, Buf *out);

static int jobject(JP *p, Buf *out)
{
    Scratch *sc = p->sc;
    size_t start = out->len, first_member = sc->ms_len, nm = 0;
    p->i++; /* { */
    jws(p);
    if (p->i < p->n && p->s[p->i] == '}') {
        p->i++;
        buf_put(out, "{}", 2);
        return H_OK;
    }
    for (;;) {
        int rc;
        jws(p);
        if (p->i >= p->n || p->s[p->i] != '"')
            return H_UNSURE;
        p->i++;
        if (sc->ms_len == sc->ms_cap) {
            size_t cap = sc->ms_cap ? 2 * sc->ms_cap : 64;
            Member *m2 = realloc(sc->ms, cap * sizeof(Member));
            if (!m2)
                return H_UNSURE;
            sc->ms = m2;
            sc->ms_cap = cap;
        }
        Member x;
        x.order = nm;
        size_t j = p->i;
        while (j < p->n && p->s[j] != '"' && p->s[j] != '\\' && p->s[j] >= 0x20)
            j++;
        if (j < p->n && p->s[j] == '"') { /* no escape: sort and print the document's own bytes */
            x.ksrc = 1;
            x.koff = p->i;
            x.klen = j - p->i;
            p->i = j + 1;
        } else {
            x.ksrc = 0;
            x.koff = out->len;
            if ((rc = jstring_raw(p, out)) != H_OK)
                return rc;
            x.klen = out->len - x.koff;
        }
        jws(p);
        if (p->i >= p->n || p->s[p->i] != ':')
            return H_UNSURE;
        p->i++;
        jws(p);
        x.voff = out->len;
        if ((rc = jvalue(p, out)) != H_OK)
            return rc;
        x.vlen = out->len - x.voff;
        sc->ms[sc->ms_len++] = x;
        nm++;
        jws(p);
        if (p->i < p->n && p->s[p->i] == ',') {
            p->i++;
            continue;
        }
        if (p->i < p->n && p->s[p->i] == '}') {
            p->i++;
            break;
        }
        return H_UNSURE;
    }
    Member *m = sc->ms + first_member;
    if (nm > sc->tmp_cap) {
        Member *t2 = realloc(sc->tmp, nm * sizeof(Member));
        if (!t2)
            return H_UNSURE;
        sc->tmp = t2;
        sc->tmp_cap = nm;
    }
    if (out->oom)
        return H_UNSURE;
    const unsigned char *base[2] = {out->p, p->s};
    sort_members(m, nm, base, sc->tmp);
    Buf *t = &sc->asm_;
    t->len = 0;
    buf_ch(t, '{');
    int first = 1;
    for (size_t k = 0; k < nm; k++) {
        /* duplicate keys: the last one wins (the highest order sorts last among equals) */
        if (k + 1 < nm && m[k].klen == m[k + 1].klen &&
            memcmp(base[m[k].ksrc] + m[k].koff, base[m[k + 1].ksrc] + m[k + 1].koff, m[k].klen) == 0)
            continue;
        if (!first)
            buf_put(t, ", ", 2);
        first = 0;
        if (m[k].ksrc) {
            buf_ch(t, '"');
            buf_put(t, base[1] + m[k].koff, m[k].klen);
            buf_ch(t, '"');
        } else
            jstring_out(t, base[0] + m[k].koff, m[k].klen);
        buf_put(t, ": ", 2);
        buf_put(t, out->p + m[k].voff, m[k].vlen);
    }
    buf_ch(t, '}');
    sc->ms_len = first_member;
    if (t->oom)
        return H_UNSURE;
    out->len = start;
    buf_put(out, t->p, t->len);
    return H_OK;
}

static int jarray(JP *p, Buf *out)
{
    p->i++; /* [ */
    buf_ch(out, '[');
    jws(p);
    if (p->i < p->n && p->s[p->i] == ']') {
        p->i++;
        buf_ch(out, ']');
        return H_OK;
    }
    for (int first = 1;; first = 0) {
        if (!first)
            buf_put(out, ", ", 2);
        jws(p);
        int rc = jvalue(p, out);
        if (rc != H_OK)
            return rc;
        jws(p);
        if (p->i < p->n && p->s[p->i] == ',') {
            p->i++;
            continue;
        }
        if (p->i < p->n && p->s[p->i] == ']') {
            p->i++;
            buf_ch(out, ']');
            return H_OK;
        }
        return H_UNSURE;
    }
}

static int jvalue(JP *p, Buf *out)
{
    if (p->i >= p->n)
        return H_UNSURE;
    unsigned char c = p->s[p->i];
    int rc;
    if (c == '{' || c == '[') {
        if (++p->depth > 200)
            return H_UNSURE;
        rc = c == '{' ? jobject(p, out) : jarray(p, out);
        p->depth--;
        return rc;
    }
    if (c == '"') {
        /* no escape and no control character: the text prints as it is */
        size_t j = p->i + 1;
        while (j < p->n && p->s[j] != '"' && p->s[j] != '\\' && p->s[j] >= 0x20)
            j++;
        if (j < p->n && p->s[j] == '"') {
            buf_put(out, p->s + p->i, j + 1 - p->i);
            p->i = j + 1;
            return H_OK;
        }
        Buf *raw = &p->sc->raw;
        raw->len = 0;
        p->i++;
        rc = jstring_raw(p, raw);
        if (rc == H_OK && !raw->oom)
            jstring_out(out, raw->p ? raw->p : (const unsigned char *) "", raw->len);
        return raw->oom ? H_UNSURE : rc;
    }
    if (c == '-' || is_digit(c))
        return jnumber(p, out);
    if (p->n - p->i >= 4 && memcmp(p->s + p->i, "true", 4) == 0) {
        p->i += 4;
        buf_put(out, "true", 4);
        return H_OK;
    }
    if (p->n - p->i >= 5 && memcmp(p->s + p->i, "false", 5) == 0) {
        p->i += 5;
        buf_put(out, "false", 5);
        return H_OK;
    }
    if (p->n - p->i >= 4 && memcmp(p->s + p->i, "null", 4) == 0) {
        p->i += 4;
        buf_put(out, "null", 4);
        return H_OK;
    }
    return H_UNSURE; /* NaN, Infinity, garbage: Python decides */
}

/* JSON text (valid UTF-8) to jsonb's text form in sc->out */
static int json_canonical(const unsigned char *s, size_t n, Scratch *sc)
{
    JP p = {s, n, 0, 0, sc};
    sc->out.len = 0;
    sc->ms_len = 0;
    jws(&p);
    int rc = jvalue(&p, &sc->out);
    if (rc != H_OK)
        return rc;
    jws(&p);
    if (p.i != n || sc->out.oom)
        return H_UNSURE;
    return H_OK;
}

/* ---- one value ---------------------------------------------------------- */

static int parse_int64(const unsigned char *s, size_t n, int64_t *v)
{
    size_t i = 0;
    int neg = 0;
    uint64_t u = 0;
    if (n && s[0] == '-') {
        neg = 1;
        i = 1;
    }
    if (i >= n || n - i > 19)
        return 0;
    for (; i < n; i++) {
        if (!is_digit(s[i]))
            return 0;
        u = u * 10 + (uint64_t) (s[i] - '0');
    }
    if (neg ? u > (uint64_t) INT64_MAX + 1 : u > (uint64_t) INT64_MAX)
        return 0;
    *v = neg ? (int64_t) (0 - u) : (int64_t) u;
    return 1;
}

static int parse_uuid(const unsigned char *s, size_t n, unsigned char out[16])
{
    if (n != 36)
        return 0;
    int k = 0;
    for (size_t i = 0; i < 36;) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
            i++;
            continue;
        }
        int a = hexval(s[i]), b = hexval(s[i + 1]);
        if (a < 0 || b < 0)
            return 0;
        out[k++] = (unsigned char) (a * 16 + b);
        i += 2;
    }
    return 1;
}

static uint64_t hash_hex(const unsigned char *s, size_t n, uint64_t seed, Buf *scratch)
{
    static const char hex[] = "0123456789abcdef";
    scratch->len = 0;
    if (!buf_reserve(scratch, 2 * n + 1))
        return 0;
    for (size_t j = 0; j < n; j++) {
        scratch->p[2 * j] = (unsigned char) hex[s[j] >> 4];
        scratch->p[2 * j + 1] = (unsigned char) hex[s[j] & 15];
    }
    return hash_bytes_ext(scratch->p, 2 * n, seed);
}

/* a raw SQLite value, read as canonical.adapt_sqlite + canonical would; H_UNSURE: ask Python */
static int hash_raw(const Col *c, const Val *v, Scratch *sc, uint64_t *out)
{
    switch (c->kind) {
    case K_INT:
        if (v->type == SQLITE_INTEGER) {
            *out = hash_int8(v->i, c->seed);
            return H_OK;
        }
        if (v->type == SQLITE_FLOAT && v->d == nearbyint(v->d) && v->d >= -9223372036854775808.0 &&
            v->d < 9223372036854775808.0) {
            *out = hash_int8((int64_t) v->d, c->seed);
            return H_OK;
        }
        if (v->type == SQLITE_TEXT) {
            int64_t x;
            if (parse_int64(v->p, v->n, &x)) {
                *out = hash_int8(x, c->seed);
                return H_OK;
            }
        }
        return H_UNSURE;
    case K_BOOL:
        if ((v->type == SQLITE_INTEGER && (v->i == 0 || v->i == 1)) ||
            (v->type == SQLITE_FLOAT && (v->d == 0.0 || v->d == 1.0))) {
            *out = hash_int8(v->type == SQLITE_INTEGER ? v->i : (int64_t) v->d, c->seed);
            return H_OK;
        }
        return H_UNSURE;
    case K_FLOAT:
    case K_FLOAT4: {
        double x;
        if (v->type == SQLITE_INTEGER)
            x = (double) v->i;
        else if (v->type == SQLITE_FLOAT)
            x = v->d;
        else
            return H_UNSURE;
        if (c->kind == K_FLOAT4) {
            float f = (float) x;
            if (isinf(f) && !isinf(x))
                return H_UNSURE; /* struct.pack("f") overflows: Python says so */
            x = (double) f;
        }
        *out = hash_float8(x, c->seed);
        return H_OK;
    }
    case K_NUMERIC:
        if (v->type == SQLITE_INTEGER)
            return numeric_int(v->i, c, out);
        if (v->type == SQLITE_FLOAT)
            return numeric_double(v->d, c, out);
        if (v->type == SQLITE_TEXT)
            return numeric_text(v->p, v->n, c, c->scale, out);
        return H_UNSURE;
    case K_TEXT:
        if (v->type == SQLITE_TEXT || v->type == SQLITE_BLOB) {
            *out = hash_bytes_ext(v->p, v->n, c->seed);
            return H_OK; /* UTF-8 checked by the caller */
        }
        if (v->type == SQLITE_INTEGER) {
            char t[32];
            int len = 0;
            if (v->i < 0)
                t[len++] = '-';
            len += u64_digits(v->i < 0 ? (uint64_t) 0 - (uint64_t) v->i : (uint64_t) v->i, t + len);
            *out = hash_bytes_ext((const unsigned char *) t, (size_t) len, c->seed);
            return H_OK;
        }
        return H_UNSURE;
    case K_BYTEA:
        if (v->type == SQLITE_BLOB || v->type == SQLITE_TEXT) {
            *out = hash_hex(v->p, v->n, c->seed, &sc->raw);
            return sc->raw.oom ? H_UNSURE : H_OK;
        }
        return H_UNSURE;
    case K_TIMESTAMP:
    case K_DATE: {
        /* numbers are epoch seconds, or milliseconds where the column's unit says so (scale EPOCH_MS), as
           the copy reads them (copy.typemap.parse_moment); a date is only a plain date or a midnight epoch */
        int64_t us;
        if (v->type == SQLITE_TEXT) {
            if ((c->kind == K_DATE && v->n != 10) || parse_timestamp(v->p, v->n, &us) != H_OK)
                return H_UNSURE;
        } else if (v->type == SQLITE_INTEGER && c->scale == EPOCH_MS && v->i > -100000000000000LL &&
                   v->i < 100000000000000LL) {
            us = v->i * INT64_C(1000) - INT64_C(946684800000000);
            if (us < MIN_US || us > MAX_US)
                return H_UNSURE;
        } else if (v->type == SQLITE_INTEGER && c->scale != EPOCH_MS && v->i > -100000000000LL &&
                   v->i < 100000000000LL) {
            us = (v->i - INT64_C(946684800)) * INT64_C(1000000);
            if (us < MIN_US || us > MAX_US)
                return H_UNSURE;
        } else if (v->type == SQLITE_INTEGER && c->scale != EPOCH_MS && v->i > -100000000000000LL &&
                   v->i < 100000000000000LL) {
            /* at or above MS_THRESHOLD in a column not decided as milliseconds: each number by its own
               magnitude (an undecided or mixed column; a column decided as seconds holds none) */
            us = v->i * INT64_C(1000) - INT64_C(946684800000000);
            if (us < MIN_US || us > MAX_US)
                return H_UNSURE;
        } else
            return H_UNSURE;
        if (c->kind == K_DATE && floor_div(us, USECS_PER_DAY) * USECS_PER_DAY != us)
            return H_UNSURE; /* a time of day: the copy rejects it (timestamp_not_date) */
        if (c->kind == K_DATE)
            *out = hash_int8(floor_div(us, USECS_PER_DAY), c->seed);
        else
            *out = hash_int8(us, c->seed);
        return H_OK;
    }
    case K_JSON:
        if (v->type != SQLITE_TEXT)
            return H_UNSURE;
        if (json_canonical(v->p, v->n, sc) != H_OK)
            return H_UNSURE;
        *out = hash_bytes_ext(sc->out.p, sc->out.len, c->seed);
        return H_OK;
    case K_UUID: {
        unsigned char u[16];
        if (v->type == SQLITE_BLOB && v->n == 16) {
            *out = hash_bytes_ext(v->p, 16, c->seed);
            return H_OK;
        }
        if (v->type == SQLITE_TEXT && parse_uuid(v->p, v->n, u)) {
            *out = hash_bytes_ext(u, 16, c->seed);
            return H_OK;
        }
        return H_UNSURE;
    }
    }
    return H_POISON;
}

/* the canonical text Python printed for a value (canonical.canonical), hashed; anything else: poison */
static int hash_canonical(const Col *c, const unsigned char *s, size_t n, uint64_t *out)
{
    int64_t x;
    switch (c->kind) {
    case K_INT:
        if (!parse_int64(s, n, &x))
            return H_POISON;
        *out = hash_int8(x, c->seed);
        return H_OK;
    case K_BOOL:
        if (n != 1 || (s[0] != '0' && s[0] != '1'))
            return H_POISON;
        *out = hash_int8(s[0] - '0', c->seed);
        return H_OK;
    case K_FLOAT:
    case K_FLOAT4: {
        char t[64];
        double d;
        if (n == 3 && memcmp(s, "NaN", 3) == 0)
            d = NAN;
        else if (n == 8 && memcmp(s, "Infinity", 8) == 0)
            d = INFINITY;
        else if (n == 9 && memcmp(s, "-Infinity", 9) == 0)
            d = -INFINITY;
        else {
            if (n == 0 || n >= sizeof t)
                return H_POISON;
            for (size_t j = 0; j < n; j++)
                if (!(is_digit(s[j]) || s[j] == '-' || s[j] == '+' || s[j] == '.' || s[j] == 'e'))
                    return H_POISON;
            memcpy(t, s, n);
            t[n] = 0;
            char *end;
            d = strtod(t, &end);
            if (end != t + n)
                return H_POISON;
        }
        *out = hash_float8(d, c->seed);
        return H_OK;
    }
    case K_NUMERIC: {
        int rc = numeric_text(s, n, c, NO_SCALE, out);
        return rc == H_OK ? H_OK : H_POISON;
    }
    case K_TEXT:
    case K_BYTEA: /* canonical bytea is its lowercase hex: what PostgreSQL hashes */
    case K_JSON:  /* canonical json is jsonb's text: what PostgreSQL hashes */
        *out = hash_bytes_ext(s, n, c->seed);
        return H_OK;
    case K_TIMESTAMP:
    case K_DATE: {
        int64_t us;
        if (parse_timestamp(s, n, &us) != H_OK)
            return H_POISON;
        *out = hash_int8(c->kind == K_DATE ? floor_div(us, USECS_PER_DAY) : us, c->seed);
        return H_OK;
    }
    case K_UUID: {
        unsigned char u[16];
        if (!parse_uuid(s, n, u))
            return H_POISON;
        *out = hash_bytes_ext(u, 16, c->seed);
        return H_OK;
    }
    }
    return H_POISON;
}

/* ask Python's fallback(column, raw) for the canonical text; called with the GIL held */
static int hash_by_python(PyObject *fallback, int col_index, const Col *c, const Val *v, uint64_t *out)
{
    PyObject *raw = NULL, *res;
    switch (v->type) {
    case SQLITE_INTEGER: raw = PyLong_FromLongLong(v->i); break;
    case SQLITE_FLOAT: raw = PyFloat_FromDouble(v->d); break;
    case SQLITE_TEXT: raw = PyUnicode_DecodeUTF8((const char *) v->p, (Py_ssize_t) v->n, "strict"); break;
    case SQLITE_BLOB: raw = PyBytes_FromStringAndSize((const char *) v->p, (Py_ssize_t) v->n); break;
    }
    if (!raw)
        return -1;
    res = PyObject_CallFunction(fallback, "iO", col_index, raw);
    Py_DECREF(raw);
    if (!res)
        return -1;
    int rc = H_POISON;
    if (PyUnicode_Check(res)) {
        Py_ssize_t len;
        const char *s = PyUnicode_AsUTF8AndSize(res, &len);
        if (s)
            rc = hash_canonical(c, (const unsigned char *) s, (size_t) len, out);
        else
            PyErr_Clear(); /* lone surrogates: no target value can equal it */
    }
    Py_DECREF(res);
    return rc;
}

/* ---- Python API --------------------------------------------------------- */

static int parse_spec(PyObject *spec, Col **cols, Py_ssize_t *ncols)
{
    PyObject *seq = PySequence_Fast(spec, "spec must be a sequence");
    if (!seq)
        return 0;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    Col *c = calloc(n ? (size_t) n : 1, sizeof(Col));
    if (!c) {
        Py_DECREF(seq);
        PyErr_NoMemory();
        return 0;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned long long seed, seed_neg;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i), "iiKK", &c[i].kind, &c[i].scale, &seed, &seed_neg)) {
            free(c);
            Py_DECREF(seq);
            return 0;
        }
        if (c[i].kind < K_INT || c[i].kind > K_UUID) {
            PyErr_SetString(PyExc_ValueError, "unknown kind");
            free(c);
            Py_DECREF(seq);
            return 0;
        }
        c[i].seed = seed;
        c[i].seed_neg = seed_neg;
    }
    Py_DECREF(seq);
    *cols = c;
    *ncols = n;
    return 1;
}

static PyObject *int128_to_py(__int128 v)
{
    int neg = v < 0;
    unsigned __int128 u = neg ? (unsigned __int128) 0 - (unsigned __int128) v : (unsigned __int128) v;
    PyObject *hi = PyLong_FromUnsignedLongLong((unsigned long long) (u >> 64));
    PyObject *lo = PyLong_FromUnsignedLongLong((unsigned long long) u);
    PyObject *sh = PyLong_FromLong(64), *r = NULL, *t = NULL;
    if (hi && lo && sh && (t = PyNumber_Lshift(hi, sh)))
        r = PyNumber_Or(t, lo);
    Py_XDECREF(t);
    Py_XDECREF(hi);
    Py_XDECREF(lo);
    Py_XDECREF(sh);
    if (r && neg) {
        PyObject *m = PyNumber_Negative(r);
        Py_DECREF(r);
        r = m;
    }
    return r;
}

static void raise_sqlite(sqlite3 *db, const char *what)
{
    PyObject *mod = PyImport_ImportModule("sqlite3");
    PyObject *exc = mod ? PyObject_GetAttrString(mod, "OperationalError") : NULL;
    PyErr_Clear();
    PyErr_Format(exc ? exc : PyExc_RuntimeError, "%s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
    Py_XDECREF(exc);
    Py_XDECREF(mod);
}

/* through sqlite3_value: one API exit per column instead of two or three */
static int val_from_column(sqlite3_stmt *st, int i, Val *v)
{
    sqlite3_value *sv = sqlite3_column_value(st, i);
    v->type = sqlite3_value_type(sv);
    switch (v->type) {
    case SQLITE_INTEGER: v->i = sqlite3_value_int64(sv); break;
    case SQLITE_FLOAT: v->d = sqlite3_value_double(sv); break;
    case SQLITE_TEXT:
        v->p = sqlite3_value_text(sv);
        v->n = (size_t) sqlite3_value_bytes(sv);
        if (!v->p)
            v->p = (const unsigned char *) "";
        break;
    case SQLITE_BLOB:
        v->p = sqlite3_value_blob(sv);
        v->n = (size_t) sqlite3_value_bytes(sv);
        if (!v->p)
            v->p = (const unsigned char *) "";
        break;
    default: return 0; /* NULL */
    }
    return 1;
}

/* text that is not UTF-8 is a marker in canonical.py, never equal to a target value */
static int needs_utf8(const Col *c, const Val *v)
{
    return v->type == SQLITE_TEXT || (v->type == SQLITE_BLOB && (c->kind == K_TEXT || c->kind == K_JSON));
}

PyDoc_STRVAR(summary_doc,
"summary(path, sql, params, spec, nulls, fallback, stop=None, per_row=False)\n"
"-> (rows, hashsum, poisoned, python_calls) or, per_row, a list of row hashes (None: poisoned).\n\n"
"Runs ``sql`` (one column per spec entry) on the SQLite file ``path`` opened read-only, with\n"
"integer ``params``; spec is (kind, scale, seed, seed_neg) per column, nulls the hash of NULL\n"
"per column (signed 64-bit). ``stop()`` is polled every 65,536 rows; true interrupts.");

static PyObject *py_summary(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"path", "sql", "params", "spec", "nulls", "fallback", "stop", "per_row", NULL};
    const char *path, *sqltext;
    PyObject *params, *spec, *nulls, *fallback, *stop = Py_None, *result = NULL, *rowlist = NULL;
    int per_row = 0;
    Col *cols = NULL;
    Py_ssize_t ncols = 0;
    uint64_t *nullh = NULL;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    Scratch scratch = {0};

    if (!PyArg_ParseTupleAndKeywords(args, kw, "ssOOOO|Op", kwlist, &path, &sqltext, &params, &spec, &nulls,
                                     &fallback, &stop, &per_row))
        return NULL;
    if (!parse_spec(spec, &cols, &ncols))
        return NULL;
    nullh = calloc(ncols ? (size_t) ncols : 1, sizeof(uint64_t));
    if (!nullh || PySequence_Size(nulls) != ncols) {
        PyErr_SetString(PyExc_ValueError, "nulls must have one entry per column");
        goto out;
    }
    for (Py_ssize_t i = 0; i < ncols; i++) {
        PyObject *x = PySequence_GetItem(nulls, i);
        if (!x)
            goto out;
        nullh[i] = (uint64_t) PyLong_AsLongLong(x);
        Py_DECREF(x);
        if (PyErr_Occurred())
            goto out;
    }
    if (per_row && !(rowlist = PyList_New(0)))
        goto out;

    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL); /* one thread per handle */
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, sqltext, -1, &st, NULL);
    Py_END_ALLOW_THREADS
    if (rc != SQLITE_OK) {
        raise_sqlite(db, "prepare");
        goto out;
    }
    if (sqlite3_column_count(st) != ncols) {
        PyErr_SetString(PyExc_ValueError, "the statement must return one column per spec entry");
        goto out;
    }
    Py_ssize_t np = PySequence_Size(params);
    if (np < 0)
        goto out;
    for (Py_ssize_t i = 0; i < np; i++) {
        PyObject *x = PySequence_GetItem(params, i);
        if (!x)
            goto out;
        if (PyUnicode_Check(x)) {
            /* a key boundary of a text or uuid key (verify/keyed.py): bound as UTF-8 text, copied by SQLite */
            Py_ssize_t len;
            const char *s = PyUnicode_AsUTF8AndSize(x, &len);
            if (!s || len > INT_MAX) {
                if (s)
                    PyErr_SetString(PyExc_ValueError, "text parameter too long");
                Py_DECREF(x);
                goto out;
            }
            sqlite3_bind_text(st, (int) i + 1, s, (int) len, SQLITE_TRANSIENT);
            Py_DECREF(x);
            continue;
        }
        long long pv = PyLong_AsLongLong(x);
        Py_DECREF(x);
        if (PyErr_Occurred())
            goto out;
        sqlite3_bind_int64(st, (int) i + 1, pv);
    }

    __int128 sum = 0;
    long long rows = 0, poisoned = 0, pycalls = 0;
    int failed = 0, interrupted = 0;
    PyThreadState *ts = PyEval_SaveThread();
    for (;;) {
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
            break;
        rows++;
        if ((rows & 0xFFFF) == 0 && stop != Py_None) {
            PyEval_RestoreThread(ts);
            PyObject *r = PyObject_CallNoArgs(stop);
            int t = r ? PyObject_IsTrue(r) : -1;
            Py_XDECREF(r);
            ts = PyEval_SaveThread();
            if (t != 0) {
                interrupted = t > 0;
                failed = t < 0;
                break;
            }
        }
        uint64_t row = 0;
        int poison = 0;
        for (int i = 0; i < ncols && !poison; i++) {
            Val v;
            uint64_t h = 0;
            if (!val_from_column(st, i, &v)) {
                row ^= nullh[i];
                continue;
            }
            int hr;
            if (needs_utf8(&cols[i], &v) && !utf8_valid(v.p, v.n))
                hr = H_POISON;
            else
                hr = hash_raw(&cols[i], &v, &scratch, &h);
            if (hr == H_UNSURE) {
                PyEval_RestoreThread(ts);
                pycalls++;
                hr = hash_by_python(fallback, i, &cols[i], &v, &h);
                ts = PyEval_SaveThread();
                if (hr < 0) {
                    failed = 1;
                    break;
                }
            }
            if (hr == H_POISON)
                poison = 1;
            else
                row ^= h;
        }
        if (failed)
            break;
        if (poison)
            poisoned++;
        else
            sum += (__int128) (int64_t) row;
        if (per_row) {
            PyEval_RestoreThread(ts);
            PyObject *x = poison ? (Py_INCREF(Py_None), Py_None) : PyLong_FromLongLong((long long) (int64_t) row);
            if (!x || PyList_Append(rowlist, x) < 0)
                failed = 1;
            Py_XDECREF(x);
            ts = PyEval_SaveThread();
            if (failed)
                break;
        }
    }
    PyEval_RestoreThread(ts);
    if (failed)
        goto out;
    if (interrupted) {
        PyObject *mod = PyImport_ImportModule("sqlite3");
        PyObject *exc = mod ? PyObject_GetAttrString(mod, "OperationalError") : NULL;
        PyErr_Clear();
        PyErr_SetString(exc ? exc : PyExc_RuntimeError, "interrupted");
        Py_XDECREF(exc);
        Py_XDECREF(mod);
        goto out;
    }
    if (rc != SQLITE_DONE) {
        raise_sqlite(db, "step");
        goto out;
    }
    if (scratch.out.oom || scratch.raw.oom || scratch.asm_.oom) {
        PyErr_NoMemory();
        goto out;
    }
    if (per_row) {
        result = rowlist;
        rowlist = NULL;
    } else {
        PyObject *s = int128_to_py(sum);
        if (s)
            result = Py_BuildValue("LNLL", rows, s, poisoned, pycalls);
    }
out:
    Py_XDECREF(rowlist);
    if (st)
        sqlite3_finalize(st);
    if (db)
        sqlite3_close(db);
    scratch_free(&scratch);
    free(cols);
    free(nullh);
    return result;
}

PyDoc_STRVAR(hash_value_doc,
"hash_value(kind, scale, seed, seed_neg, raw, fallback) -> int | None\n\n"
"The hash of one raw value (int, float, str or bytes, as SQLite's storage classes) the way\n"
"summary() computes it; None when poisoned. For tests.");

static PyObject *py_hash_value(PyObject *self, PyObject *args)
{
    Col c;
    unsigned long long seed, seed_neg;
    PyObject *raw, *fallback;
    Val v = {0};
    Scratch scratch = {0};
    uint64_t h = 0;

    if (!PyArg_ParseTuple(args, "iiKKOO", &c.kind, &c.scale, &seed, &seed_neg, &raw, &fallback))
        return NULL;
    c.seed = seed;
    c.seed_neg = seed_neg;
    if (PyLong_Check(raw)) {
        v.type = SQLITE_INTEGER;
        v.i = PyLong_AsLongLong(raw);
        if (PyErr_Occurred())
            return NULL;
    } else if (PyFloat_Check(raw)) {
        v.type = SQLITE_FLOAT;
        v.d = PyFloat_AS_DOUBLE(raw);
    } else if (PyUnicode_Check(raw)) {
        Py_ssize_t len;
        const char *s = PyUnicode_AsUTF8AndSize(raw, &len);
        if (!s)
            return NULL;
        v.type = SQLITE_TEXT;
        v.p = (const unsigned char *) s;
        v.n = (size_t) len;
    } else if (PyBytes_Check(raw)) {
        v.type = SQLITE_BLOB;
        v.p = (const unsigned char *) PyBytes_AS_STRING(raw);
        v.n = (size_t) PyBytes_GET_SIZE(raw);
    } else {
        PyErr_SetString(PyExc_TypeError, "raw must be int, float, str or bytes");
        return NULL;
    }
    int hr;
    if (needs_utf8(&c, &v) && !utf8_valid(v.p, v.n))
        hr = H_POISON;
    else
        hr = hash_raw(&c, &v, &scratch, &h);
    scratch_free(&scratch);
    if (hr == H_UNSURE)
        hr = hash_by_python(fallback, 0, &c, &v, &h);
    if (hr < 0)
        return NULL;
    if (hr == H_POISON)
        Py_RETURN_NONE;
    return PyLong_FromLongLong((long long) (int64_t) h);
}

PyDoc_STRVAR(json_text_doc, "json_text(text) -> str | None: jsonb's text form as computed here (None: unsure).");

static PyObject *py_json_text(PyObject *self, PyObject *arg)
{
    Py_ssize_t len;
    const char *s = PyUnicode_AsUTF8AndSize(arg, &len);
    Scratch sc = {0};
    if (!s)
        return NULL;
    int rc = json_canonical((const unsigned char *) s, (size_t) len, &sc);
    Buf out = sc.out;
    PyObject *r;
    if (rc != H_OK)
        r = (Py_INCREF(Py_None), Py_None);
    else
        r = PyUnicode_DecodeUTF8(out.p ? (const char *) out.p : "", (Py_ssize_t) out.len, "strict");
    scratch_free(&sc);
    return r;
}

static PyMethodDef methods[] = {
    {"summary", (PyCFunction) (void (*)(void)) py_summary, METH_VARARGS | METH_KEYWORDS, summary_doc},
    {"hash_value", py_hash_value, METH_VARARGS, hash_value_doc},
    {"json_text", py_json_text, METH_O, json_text_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_pghash",
    "PostgreSQL 15's per-type hash functions over a SQLite source (see verify/pghash.py).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__pghash(void)
{
    PyObject *m = PyModule_Create(&module);
    if (m) {
        PyModule_AddIntConstant(m, "NO_SCALE", NO_SCALE);
        PyModule_AddIntConstant(m, "K_INT", K_INT);
        PyModule_AddIntConstant(m, "K_BOOL", K_BOOL);
        PyModule_AddIntConstant(m, "K_FLOAT", K_FLOAT);
        PyModule_AddIntConstant(m, "K_FLOAT4", K_FLOAT4);
        PyModule_AddIntConstant(m, "K_NUMERIC", K_NUMERIC);
        PyModule_AddIntConstant(m, "K_TEXT", K_TEXT);
        PyModule_AddIntConstant(m, "K_BYTEA", K_BYTEA);
        PyModule_AddIntConstant(m, "K_TIMESTAMP", K_TIMESTAMP);
        PyModule_AddIntConstant(m, "K_DATE", K_DATE);
        PyModule_AddIntConstant(m, "K_JSON", K_JSON);
        PyModule_AddIntConstant(m, "K_UUID", K_UUID);
    }
    return m;
}
