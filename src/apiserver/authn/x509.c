/* SPDX-License-Identifier: Apache-2.0 */
/* User info from a verified client certificate (see x509.h). */
#include "apiserver/authn/x509.h"
#include "lib/buf.h"

#include <openssl/objects.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

static char *entry_text(X509_NAME_ENTRY *e)
{
    unsigned char *s = NULL;
    int n = ASN1_STRING_to_UTF8(&s, X509_NAME_ENTRY_get_data(e));
    if (n < 0)
        return NULL;
    char *out = ck_strndup((const char *)s, (size_t)n);
    OPENSSL_free(s);
    return out;
}

void authn_add_authenticated(struct authn_user *u)
{
    size_t n = 0;
    for (; u->groups && u->groups[n]; n++)
        if (!strcmp(u->groups[n], "system:authenticated"))
            return;
    u->groups = ck_realloc(u->groups, (n + 2) * sizeof(*u->groups));
    u->groups[n] = ck_strdup("system:authenticated");
    u->groups[n + 1] = NULL;
}

int authn_x509_user(X509 *leaf, struct authn_user *out)
{
    X509_NAME *subj = leaf ? X509_get_subject_name(leaf) : NULL;
    char *cn = NULL;
    size_t ng = 0;

    memset(out, 0, sizeof(*out));
    if (!subj)
        return -1;
    /* Go's pkix.Name keeps the last CN and every O, in order */
    for (int i = 0; i < X509_NAME_entry_count(subj); i++) {
        X509_NAME_ENTRY *e = X509_NAME_get_entry(subj, i);
        int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
        if (nid == NID_commonName) {
            free(cn);
            cn = entry_text(e);
        } else if (nid == NID_organizationName) {
            char *o = entry_text(e);
            if (!o)
                continue;
            out->groups = ck_realloc(out->groups, (ng + 2) * sizeof(*out->groups));
            out->groups[ng++] = o;
            out->groups[ng] = NULL;
        }
    }
    if (!cn || !*cn) {
        free(cn);
        authn_user_release(out);
        memset(out, 0, sizeof(*out));
        return -1;
    }
    out->name = cn;
    authn_add_authenticated(out);
    return 0;
}
