/* SPDX-License-Identifier: Apache-2.0 */
/* Pure request helpers of the HTTP front end: path percent-decoding, bearer-token
 * extraction, constant-time token comparison, routing of the non-API paths, query lookup.
 * No h2o, no allocation: these take untrusted bytes and are fuzzed (fuzz_http_request). */
#include "apiserver/http/http.h"

#include <string.h>
#include <strings.h>

#include "lib/banned.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long http_path_decode(const char *path, size_t len, char *out, size_t outcap)
{
    size_t o = 0;

    if (outcap < len + 1)
        return -1;
    for (size_t i = 0; i < len; i++) {
        char c = path[i];
        if (c == '%') {
            if (i + 2 >= len)
                return -1;
            int hi = hexval(path[i + 1]), lo = hexval(path[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        if (c == '\0')
            return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    return (long)o;
}

int http_bearer_token(const char *hdr, size_t len, const char **tok, size_t *tok_len)
{
    size_t i = 0;

    while (i < len && (hdr[i] == ' ' || hdr[i] == '\t'))
        i++;
    if (len - i < 7 || strncasecmp(hdr + i, "bearer", 6) != 0 ||
        (hdr[i + 6] != ' ' && hdr[i + 6] != '\t'))
        return -1;
    i += 7;
    while (i < len && (hdr[i] == ' ' || hdr[i] == '\t'))
        i++;
    size_t end = len;
    while (end > i && (hdr[end - 1] == ' ' || hdr[end - 1] == '\t'))
        end--;
    if (end == i)
        return -1;
    *tok = hdr + i;
    *tok_len = end - i;
    return 0;
}

bool http_token_equal(const char *got, size_t got_len, const char *want)
{
    size_t want_len = strlen(want);
    unsigned char diff = got_len != want_len;

    /* Always walk the expected token so the time does not depend on the presented bytes. */
    for (size_t i = 0; i < want_len; i++)
        diff |= (unsigned char)(want[i] ^ (i < got_len ? got[i] : 0));
    return diff == 0 && want_len > 0;
}

static enum http_route health_route(const char *path, const char *name, enum http_route r,
                                    const char **check)
{
    size_t n = strlen(name);

    if (strncmp(path, name, n) != 0)
        return HTTP_ROUTE_API;
    if (path[n] == '\0')
        return r;
    if (path[n] == '/') {
        *check = path[n + 1] ? path + n + 1 : NULL;
        return r;
    }
    return HTTP_ROUTE_API;
}

enum http_route http_route_of(const char *path, const char **check)
{
    enum http_route r;

    *check = NULL;
    if (!strcmp(path, "/metrics"))
        return HTTP_ROUTE_METRICS;
    if ((r = health_route(path, "/healthz", HTTP_ROUTE_HEALTHZ, check)) != HTTP_ROUTE_API)
        return r;
    if ((r = health_route(path, "/livez", HTTP_ROUTE_LIVEZ, check)) != HTTP_ROUTE_API)
        return r;
    return health_route(path, "/readyz", HTTP_ROUTE_READYZ, check);
}

bool http_query_has(const char *query, size_t len, const char *name)
{
    size_t n = strlen(name), i = 0;

    while (i < len) {
        size_t j = i;
        while (j < len && query[j] != '&')
            j++;
        if (j - i >= n && !memcmp(query + i, name, n) && (j - i == n || query[i + n] == '='))
            return true;
        i = j + 1;
    }
    return false;
}

static const char *const method_names[HTTP_NMETHODS] = {"GET",   "HEAD",   "POST",    "PUT",
                                                        "PATCH", "DELETE", "OPTIONS", "OTHER"};

int http_method_index(const char *m, size_t len)
{
    for (int i = 0; i < HTTP_NMETHODS - 1; i++)
        if (strlen(method_names[i]) == len && !memcmp(method_names[i], m, len))
            return i;
    return HTTP_NMETHODS - 1;
}

const char *http_method_name(int idx)
{
    return idx >= 0 && idx < HTTP_NMETHODS ? method_names[idx] : "OTHER";
}
