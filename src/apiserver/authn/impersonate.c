/* SPDX-License-Identifier: Apache-2.0 */
/* Impersonation headers -> a new user, as upstream's endpoints/filters/impersonation.go
 * (see impersonate.h). Pure: no I/O, no transport types. */
#include "apiserver/authn/impersonate.h"
#include "lib/buf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/banned.h"

#define SA_PREFIX "system:serviceaccount:"
#define AUTH_GROUP "authentication.k8s.io"
#define AUTH_GV "authentication.k8s.io/v1"

void authn_user_release(struct authn_user *u)
{
    if (!u)
        return;
    free(u->name);
    free(u->uid);
    for (size_t i = 0; u->groups && u->groups[i]; i++)
        free(u->groups[i]);
    free(u->groups);
    for (size_t i = 0; i < u->nextra; i++) {
        free(u->extra_keys[i]);
        free(u->extra_vals[i]);
    }
    free(u->extra_keys);
    free(u->extra_vals);
    memset(u, 0, sizeof(*u));
}

void authn_imp_release(struct authn_imp *imp)
{
    for (size_t i = 0; i < imp->n; i++) {
        free(imp->reqs[i].ns);
        free(imp->reqs[i].name);
        free(imp->reqs[i].key);
    }
    free(imp->reqs);
    memset(imp, 0, sizeof(*imp));
}

/* ---- names ---------------------------------------------------------------------------- */

static bool dns_label(const char *s, size_t n)
{
    if (n == 0 || n > 63 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
            return false;
    return true;
}

static bool dns_subdomain(const char *s, size_t n)
{
    size_t start = 0;

    if (n == 0 || n > 253)
        return false;
    for (size_t i = 0; i <= n; i++)
        if (i == n || s[i] == '.') {
            if (!dns_label(s + start, i - start))
                return false;
            start = i + 1;
        }
    return true;
}

int authn_split_sa_username(const char *user, char *ns, size_t nslen, char *name, size_t namelen)
{
    const char *rest, *colon;

    if (strncmp(user, SA_PREFIX, strlen(SA_PREFIX)))
        return -1;
    rest = user + strlen(SA_PREFIX);
    if (!(colon = strchr(rest, ':')) || strchr(colon + 1, ':'))
        return -1;
    if (!dns_label(rest, (size_t)(colon - rest)) || !dns_subdomain(colon + 1, strlen(colon + 1)))
        return -1;
    if ((size_t)(colon - rest) >= nslen || strlen(colon + 1) >= namelen)
        return -1;
    snprintf(ns, nslen, "%.*s", (int)(colon - rest), rest);
    snprintf(name, namelen, "%s", colon + 1);
    return 0;
}

/* ---- headers -------------------------------------------------------------------------- */

static bool name_is(const struct authn_header *h, const char *want)
{
    return h->name_len == strlen(want) && !strncasecmp(h->name, want, h->name_len);
}

static void add_req(struct authn_imp *imp, enum authn_imp_kind kind, char *ns, char *name,
                    char *key)
{
    imp->reqs = ck_realloc(imp->reqs, (imp->n + 1) * sizeof(*imp->reqs));
    imp->reqs[imp->n++] = (struct authn_imp_req){.kind = kind, .ns = ns, .name = name, .key = key};
}

static int hexval(char c)
{
    if (isdigit((unsigned char)c))
        return c - '0';
    return isxdigit((unsigned char)c) ? tolower((unsigned char)c) - 'a' + 10 : -1;
}

/* Lower-cased, then percent-decoded (upstream's unescapeExtraKey: kept as is when malformed). */
static char *extra_key(const char *s, size_t n)
{
    char *low = ck_strndup(s, n), *out = ck_malloc(n + 1);
    size_t o = 0;

    for (size_t i = 0; i < n; i++)
        low[i] = (char)tolower((unsigned char)low[i]);
    for (size_t i = 0; i < n; i++) {
        if (low[i] != '%') {
            out[o++] = low[i];
            continue;
        }
        if (i + 2 >= n) {
            free(out);
            return low;
        }
        int a = hexval(low[i + 1]), b = hexval(low[i + 2]);
        if (a < 0 || b < 0) {
            free(out);
            return low;
        }
        out[o++] = (char)(a * 16 + b);
        i += 2;
    }
    out[o] = '\0';
    free(low);
    return out;
}

/* Go's %v of an ObjectReference: {Kind Namespace Name UID APIVersion ResourceVersion FieldPath} */
static void describe(const struct authn_imp_req *r, struct ck_buf *b)
{
    static const char *const kinds[] = {"User", "ServiceAccount", "Group", "UserExtra", "UID"};
    bool auth = r->kind == AUTHN_IMP_EXTRA || r->kind == AUTHN_IMP_UID;

    ck_buf_appendf(b, "{%s %s %s  %s  %s}", kinds[r->kind], r->ns ? r->ns : "", r->name,
                   auth ? AUTH_GV : "", r->key ? r->key : "");
}

int authn_impersonation_parse(const struct authn_header *h, size_t nh, struct authn_imp *imp,
                              char *msg, size_t msglen)
{
    static const char extra[] = "impersonate-extra-";
    const char *user = NULL, *uid = NULL;
    size_t user_len = 0, uid_len = 0;
    bool others = false;

    memset(imp, 0, sizeof(*imp));
    for (size_t i = 0; i < nh; i++) {
        if (name_is(&h[i], "impersonate-user") && !user) {
            user = h[i].value;
            user_len = h[i].value_len;
        } else if (name_is(&h[i], "impersonate-uid") && !uid) {
            uid = h[i].value;
            uid_len = h[i].value_len;
        }
    }
    if (user && user_len) {
        char *u = ck_strndup(user, user_len), ns[64], name[254];
        if (authn_split_sa_username(u, ns, sizeof(ns), name, sizeof(name)) == 0) {
            add_req(imp, AUTHN_IMP_SERVICEACCOUNT, ck_strdup(ns), ck_strdup(name), NULL);
            free(u);
        } else {
            add_req(imp, AUTHN_IMP_USER, NULL, u, NULL);
        }
    }
    for (size_t i = 0; i < nh; i++)
        if (name_is(&h[i], "impersonate-group")) {
            add_req(imp, AUTHN_IMP_GROUP, NULL, ck_strndup(h[i].value, h[i].value_len), NULL);
            imp->groups_given = others = true;
        }
    for (size_t i = 0; i < nh; i++)
        if (h[i].name_len > sizeof(extra) - 1 &&
            !strncasecmp(h[i].name, extra, sizeof(extra) - 1)) {
            add_req(imp, AUTHN_IMP_EXTRA, NULL, ck_strndup(h[i].value, h[i].value_len),
                    extra_key(h[i].name + sizeof(extra) - 1, h[i].name_len - (sizeof(extra) - 1)));
            others = true;
        }
    if (uid && uid_len) {
        add_req(imp, AUTHN_IMP_UID, NULL, ck_strndup(uid, uid_len), NULL);
        others = true;
    }
    if (others && !(user && user_len)) {
        struct ck_buf b = CK_BUF_INIT(1 << 16);
        ck_buf_appends(&b, "requested [");
        for (size_t i = 0; i < imp->n; i++) {
            if (i)
                ck_buf_appendc(&b, ' ');
            describe(&imp->reqs[i], &b);
        }
        ck_buf_appends(&b, "] without impersonating a user");
        snprintf(msg, msglen, "%s", b.data ? b.data : "");
        ck_buf_release(&b);
        authn_imp_release(imp);
        return -1;
    }
    return 0;
}

/* ---- decision and the new user -------------------------------------------------------- */

bool authn_may_impersonate_masters(void *arg, const struct authn_user *who,
                                   const struct authn_imp_req *what, char *reason, size_t reasonlen)
{
    (void)arg;
    (void)what;
    if (reasonlen)
        reason[0] = '\0';
    for (size_t i = 0; who->groups && who->groups[i]; i++)
        if (!strcmp(who->groups[i], "system:masters"))
            return true;
    return false;
}

static void forbidden(const struct authn_user *who, const struct authn_imp_req *r,
                      const char *reason, struct ck_err *err)
{
    static const char *const res[] = {"users", "serviceaccounts", "groups", "userextras", "uids"};
    bool auth = r->kind == AUTHN_IMP_EXTRA || r->kind == AUTHN_IMP_UID;
    const char *group = auth ? AUTH_GROUP : "";
    char resource[512], qualified[512], scope[512];

    snprintf(resource, sizeof(resource), "%s%s%s", res[r->kind], r->key ? "/" : "",
             r->key ? r->key : "");
    snprintf(qualified, sizeof(qualified), "%s%s%s", res[r->kind], *group ? "." : "", group);
    if (r->ns)
        snprintf(scope, sizeof(scope), "in the namespace \"%s\"", r->ns);
    else
        snprintf(scope, sizeof(scope), "at the cluster scope");
    ck_err_set(err, CK_R_FORBIDDEN,
               "%s \"%s\" is forbidden: User \"%s\" cannot impersonate resource \"%s\" in API "
               "group \"%s\" %s%s%s",
               qualified, r->name, who->name ? who->name : "", resource, group, scope,
               reason && *reason ? ": " : "", reason ? reason : "");
    snprintf(err->kind, sizeof(err->kind), "%s", res[r->kind]);
    snprintf(err->group, sizeof(err->group), "%s", group);
    snprintf(err->name, sizeof(err->name), "%s", r->name);
}

static void add_group(char ***groups, size_t *n, const char *g)
{
    *groups = ck_realloc(*groups, (*n + 2) * sizeof(**groups));
    (*groups)[(*n)++] = ck_strdup(g);
    (*groups)[*n] = NULL;
}

int authn_impersonate(const struct authn_user *who, const struct authn_imp *imp,
                      authn_may_impersonate_fn may, void *arg, struct authn_user *out,
                      struct ck_err *err)
{
    size_t ng = 0;
    bool has_auth = false, has_unauth = false;

    memset(out, 0, sizeof(*out));
    if (!may)
        may = authn_may_impersonate_masters;
    for (size_t i = 0; i < imp->n; i++) {
        const struct authn_imp_req *r = &imp->reqs[i];
        char reason[1024] = "";

        if (!may(arg, who, r, reason, sizeof(reason))) {
            authn_user_release(out);
            forbidden(who, r, reason, err);
            return -1;
        }
        switch (r->kind) {
        case AUTHN_IMP_SERVICEACCOUNT:
            free(out->name);
            out->name = ck_asprintf(SA_PREFIX "%s:%s", r->ns, r->name);
            if (!imp->groups_given) {
                char *g = ck_asprintf("system:serviceaccounts:%s", r->ns);
                add_group(&out->groups, &ng, "system:serviceaccounts");
                add_group(&out->groups, &ng, g);
                free(g);
            }
            break;
        case AUTHN_IMP_USER:
            free(out->name);
            out->name = ck_strdup(r->name);
            break;
        case AUTHN_IMP_GROUP:
            add_group(&out->groups, &ng, r->name);
            break;
        case AUTHN_IMP_EXTRA:
            out->extra_keys = ck_realloc(out->extra_keys, (out->nextra + 1) * sizeof(char *));
            out->extra_vals = ck_realloc(out->extra_vals, (out->nextra + 1) * sizeof(char *));
            out->extra_keys[out->nextra] = ck_strdup(r->key);
            out->extra_vals[out->nextra++] = ck_strdup(r->name);
            break;
        case AUTHN_IMP_UID:
            free(out->uid);
            out->uid = ck_strdup(r->name);
            break;
        }
    }
    if (!out->name)
        out->name = ck_strdup("");
    for (size_t i = 0; i < ng; i++) {
        has_auth |= !strcmp(out->groups[i], "system:authenticated");
        has_unauth |= !strcmp(out->groups[i], "system:unauthenticated");
    }
    if (strcmp(out->name, "system:anonymous")) {
        if (!has_auth && !has_unauth)
            add_group(&out->groups, &ng, "system:authenticated");
    } else if (!has_unauth) {
        add_group(&out->groups, &ng, "system:unauthenticated");
    }
    return 0;
}
