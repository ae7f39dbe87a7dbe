/* SPDX-License-Identifier: Apache-2.0 */
/* Service allocation: spec.clusterIP(s) from --service-cluster-ip-range and
 * spec.ports[].nodePort from --service-node-port-range, chosen as upstream's allocators do
 * (a random free value of the upper, dynamic block first) against the Services in the cache
 * under s->alloc_mu. Each value is also a store key written in the Service's own txn
 * (created absent-only, deleted on release), so that API servers sharing one store cannot
 * hand out one value twice: a value another server took meanwhile fails the txn and is
 * chosen again; an asked-for one is a 422 "provided ... is already allocated". At start the
 * keys are repaired from the stored Services, as upstream's repair loops do. */
#include "apiserver/endpoints/alloc_int.h"
#include "apiserver/endpoints/write_int.h"
#include "lib/log.h"

#include <inttypes.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

int eng_alloc_init(struct api_server *s, struct ck_err *err)
{
    char msg[400];
    struct eng_svcalloc *sa = ck_calloc(1, sizeof(*sa));
    const struct api_opts *o = &s->cache.opts;
    s->sa = sa;
    pthread_mutex_init(&sa->mu, NULL);
    pthread_cond_init(&sa->cv, NULL);
    if (svc_ip_range_parse(o->service_cidr ? o->service_cidr : SVC_DEFAULT_CIDR, &sa->ips, msg,
                           sizeof(msg)) < 0)
        return ck_err_set(err, CK_R_BAD_REQUEST, "%s", msg);
    if (svc_port_range_parse(o->service_node_port_range ? o->service_node_port_range
                                                        : SVC_DEFAULT_NODEPORTS,
                             &sa->ports, msg, sizeof(msg)) < 0)
        return ck_err_set(err, CK_R_BAD_REQUEST, "%s", msg);
    return 0;
}

static uint64_t rand64(void)
{
    uint64_t v;
    if (RAND_bytes((unsigned char *)&v, sizeof(v)) != 1)
        ck_fatal("RAND_bytes failed");
    return v;
}

/* ---- plans -------------------------------------------------------------------------- */

static struct eng_svc_key *key_push(struct eng_svc_key **v, size_t *n, size_t *cap)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        *v = ck_realloc(*v, *cap * sizeof(**v));
    }
    struct eng_svc_key *k = &(*v)[(*n)++];
    memset(k, 0, sizeof(*k));
    return k;
}

static bool key_in(const struct eng_svc_key *v, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].key, key) == 0)
            return true;
    return false;
}

void eng_svc_plan_release(struct eng_svc_plan *p)
{
    free(p->add);
    free(p->del);
    free(p->taken);
    json_decref(p->orig_spec);
    memset(p, 0, sizeof(*p));
}

static void ip_key(uint32_t ip, char out[96])
{
    char t[16];
    svc_ip_text(ip, t);
    snprintf(out, 96, ENG_KEY_SVCIPS "%s", t);
}

static void port_key(long port, char out[96])
{
    snprintf(out, 96, ENG_KEY_NODEPORTS "%ld", port);
}

static bool wants_nodeports(json_t *spec)
{
    const char *t = json_string_value(json_object_get(spec, "type"));
    return t && (strcmp(t, "NodePort") == 0 || strcmp(t, "LoadBalancer") == 0);
}

/* The keys a stored Service holds: its clusterIP and its nodePorts. */
static void held_keys(json_t *svc, struct eng_svc_key **v, size_t *n, size_t *cap)
{
    json_t *spec = json_object_get(svc, "spec");
    const char *t = json_string_value(json_object_get(spec, "type"));
    if (!json_is_object(spec) || (t && strcmp(t, "ExternalName") == 0))
        return;
    uint32_t ip;
    char k[96];
    if (svc_ip_parse(json_string_value(json_object_get(spec, "clusterIP")), &ip)) {
        ip_key(ip, k);
        snprintf(key_push(v, n, cap)->key, 96, "%s", k);
    }
    if (!wants_nodeports(spec))
        return;
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(spec, "ports"), i, p)
    {
        json_int_t np = json_integer_value(json_object_get(p, "nodePort"));
        if (np <= 0 || np > 65535)
            continue;
        port_key((long)np, k);
        if (!key_in(*v, *n, k))
            snprintf(key_push(v, n, cap)->key, 96, "%s", k);
    }
}

/* ---- choosing values ---------------------------------------------------------------- */

struct used {
    uint8_t *ips, *ports; /* bitmaps over the ranges' offsets */
};

/* Marks the values of every Service but skip_key, and the plan's known-taken keys. */
static void collect_used(struct api_server *s, const char *skip_key, const struct eng_svc_plan *p,
                         struct used *u)
{
    const struct eng_svcalloc *sa = s->sa;
    const struct reg_resource *svc = reg_find("", "v1", "services");
    int fip = reg_field_index(svc, "spec.clusterIP"), ftype = reg_field_index(svc, "spec.type");
    pthread_rwlock_rdlock(&s->cache.mu);
    struct eng_cursor cur;
    eng_table_first(&s->cache.tables[svc->idx], &cur);
    for (struct eng_obj *o; (o = eng_cursor_obj(&cur)); eng_cursor_next(&cur)) {
        if (skip_key && strcmp(o->key, skip_key) == 0)
            continue;
        uint32_t v;
        if (svc_ip_parse(o->fields[fip], &v) && svc_ip_offset(&sa->ips, v) >= 0)
            svc_bit_set(u->ips, (uint32_t)svc_ip_offset(&sa->ips, v));
        if (strcmp(o->fields[ftype], "NodePort") && strcmp(o->fields[ftype], "LoadBalancer"))
            continue;
        json_t *j = eng_obj_json(o);
        size_t k;
        json_t *pp;
        json_array_foreach(json_object_get(json_object_get(j, "spec"), "ports"), k, pp)
        {
            json_int_t np = json_integer_value(json_object_get(pp, "nodePort"));
            if (np >= sa->ports.base && np - sa->ports.base < sa->ports.size)
                svc_bit_set(u->ports, (uint32_t)(np - sa->ports.base));
        }
        json_decref(j);
    }
    pthread_rwlock_unlock(&s->cache.mu);
    for (size_t i = 0; i < p->ntaken; i++) {
        const char *k = p->taken[i].key;
        uint32_t v;
        if (strncmp(k, ENG_KEY_SVCIPS, strlen(ENG_KEY_SVCIPS)) == 0 &&
            svc_ip_parse(k + strlen(ENG_KEY_SVCIPS), &v) && svc_ip_offset(&sa->ips, v) >= 0)
            svc_bit_set(u->ips, (uint32_t)svc_ip_offset(&sa->ips, v));
        if (strncmp(k, ENG_KEY_NODEPORTS, strlen(ENG_KEY_NODEPORTS)) == 0) {
            long np = strtol(k + strlen(ENG_KEY_NODEPORTS), NULL, 10);
            if (np >= sa->ports.base && np - sa->ports.base < sa->ports.size)
                svc_bit_set(u->ports, (uint32_t)(np - sa->ports.base));
        }
    }
}

/* Go's %#v of the clusterIPs ([]string{"a", "b"}), for upstream's Invalid value. */
static void ips_gostring(json_t *spec, char *out, size_t n)
{
    size_t off = (size_t)snprintf(out, n, "[]string{");
    json_t *ips = json_object_get(spec, "clusterIPs");
    size_t i;
    json_t *v;
    json_array_foreach(ips, i, v)
    {
        if (off < n)
            off += (size_t)snprintf(out + off, n - off, "%s\"%s\"", i ? ", " : "",
                                    json_string_value(v) ? json_string_value(v) : "");
    }
    if (off < n)
        snprintf(out + off, n - off, "}");
}

static int ip_invalid(struct eng_svc_plan *p, json_t *spec, const char *ip, const char *why,
                      struct ck_err *err)
{
    char gv[200], d[400];
    ips_gostring(spec, gv, sizeof(gv));
    snprintf(d, sizeof(d), "Invalid value: %s: failed to allocate IP %s: %s", gv, ip, why);
    eng_invalid(err, p->res, p->name, "spec.clusterIPs", "FieldValueInvalid", d);
    return -1;
}

static int alloc_ip(struct api_server *s, json_t *spec, json_t *old_spec, struct used *u,
                    struct eng_svc_plan *p, struct ck_err *err)
{
    const struct svc_ip_range *r = &s->sa->ips;
    const char *want = json_string_value(json_object_get(spec, "clusterIP"));
    if (want && strcmp(want, "None") == 0) {
        json_object_set_new(spec, "clusterIPs", json_pack("[s]", "None"));
        return 0;
    }
    const char *had = json_string_value(json_object_get(old_spec, "clusterIP"));
    if (want && *want && had && strcmp(want, had) == 0)
        return 0; /* kept: the Service holds it already */
    char k[96], txt[16], why[200];
    if (want && *want) {
        if (!json_is_array(json_object_get(spec, "clusterIPs")) ||
            !json_array_size(json_object_get(spec, "clusterIPs")))
            json_object_set_new(spec, "clusterIPs", json_pack("[s]", want));
        uint32_t v = 0;
        if (!svc_ip_parse(want, &v))
            return 0; /* not an IPv4 address: validation reports it */
        int64_t off = svc_ip_offset(r, v);
        if (off < 0) {
            snprintf(why, sizeof(why),
                     "the provided IP (%s) is not in the valid range. The range of valid IPs is "
                     "%s",
                     want, r->cidr);
            return ip_invalid(p, spec, want, why, err);
        }
        if (svc_bit(u->ips, (uint32_t)off))
            return ip_invalid(p, spec, want, "provided IP is already allocated", err);
        struct eng_svc_key *a = key_push(&p->add, &p->nadd, &p->capadd);
        ip_key(v, a->key);
        snprintf(a->field, sizeof(a->field), "spec.clusterIPs");
        char gv[200];
        ips_gostring(spec, gv, sizeof(gv));
        snprintf(a->detail, sizeof(a->detail),
                 "Invalid value: %s: failed to allocate IP %s: provided IP is already allocated",
                 gv, want);
        return 0;
    }
    int64_t off = svc_pick(u->ips, r->max, r->offset, rand64(), rand64());
    if (off < 0)
        return ck_err_set(err, CK_R_INTERNAL, "failed to allocate a serviceIP: range is full");
    svc_ip_text(r->first + (uint32_t)off, txt);
    json_object_set_new(spec, "clusterIP", json_string(txt));
    json_object_set_new(spec, "clusterIPs", json_pack("[s]", txt));
    struct eng_svc_key *a = key_push(&p->add, &p->nadd, &p->capadd);
    ip_key(r->first + (uint32_t)off, k);
    snprintf(a->key, sizeof(a->key), "%s", k);
    a->automatic = true;
    return 0;
}

/* The nodePort an update keeps for a port that leaves it unset (upstream's
 * patchAllocatedValues): the old port with the same port number and protocol. */
static json_int_t old_nodeport(json_t *old_spec, json_t *port)
{
    if (!old_spec || !wants_nodeports(old_spec))
        return 0;
    const char *proto = json_string_value(json_object_get(port, "protocol"));
    json_int_t num = json_integer_value(json_object_get(port, "port"));
    size_t i;
    json_t *o;
    json_array_foreach(json_object_get(old_spec, "ports"), i, o)
    {
        const char *op = json_string_value(json_object_get(o, "protocol"));
        if (json_integer_value(json_object_get(o, "port")) == num &&
            strcmp(op ? op : "TCP", proto ? proto : "TCP") == 0)
            return json_integer_value(json_object_get(o, "nodePort"));
    }
    return 0;
}

static int alloc_ports(struct api_server *s, json_t *spec, json_t *old_spec,
                       const struct eng_svc_key *held, size_t nheld, struct used *u,
                       struct eng_svc_plan *p, struct ck_err *err)
{
    const struct svc_port_range *r = &s->sa->ports;
    size_t k;
    json_t *port;
    json_array_foreach(json_object_get(spec, "ports"), k, port)
    {
        json_int_t np = json_integer_value(json_object_get(port, "nodePort"));
        char f[48], d[320], key[96];
        snprintf(f, sizeof(f), "spec.ports[%zu].nodePort", k);
        if (!np && (np = old_nodeport(old_spec, port)) > 0)
            json_object_set_new(port, "nodePort", json_integer(np));
        if (np) {
            port_key((long)np, key);
            if (key_in(held, nheld, key) || key_in(p->add, p->nadd, key))
                continue; /* the Service's own (another protocol of one port shares it) */
            if (np < r->base || np - r->base >= r->size) {
                snprintf(d, sizeof(d),
                         "Invalid value: %lld: provided port is not in the valid range. The "
                         "range of valid ports is %s",
                         (long long)np, r->text);
                eng_invalid(err, p->res, p->name, f, "FieldValueInvalid", d);
                return -1;
            }
            snprintf(d, sizeof(d), "Invalid value: %lld: provided port is already allocated",
                     (long long)np);
            if (svc_bit(u->ports, (uint32_t)(np - r->base))) {
                eng_invalid(err, p->res, p->name, f, "FieldValueInvalid", d);
                return -1;
            }
            svc_bit_set(u->ports, (uint32_t)(np - r->base));
            struct eng_svc_key *a = key_push(&p->add, &p->nadd, &p->capadd);
            snprintf(a->key, sizeof(a->key), "%s", key);
            snprintf(a->field, sizeof(a->field), "%s", f);
            snprintf(a->detail, sizeof(a->detail), "%s", d);
            continue;
        }
        int64_t off =
            svc_pick(u->ports, (uint32_t)r->size, (uint32_t)r->offset, rand64(), rand64());
        if (off < 0)
            return ck_err_set(err, CK_R_INTERNAL, "failed to allocate a nodePort: range is full");
        svc_bit_set(u->ports, (uint32_t)off);
        json_object_set_new(port, "nodePort", json_integer(r->base + off));
        struct eng_svc_key *a = key_push(&p->add, &p->nadd, &p->capadd);
        port_key((long)(r->base + off), a->key);
        a->automatic = true;
    }
    return 0;
}

/* upstream's dropTypeDependentFields: a type change drops the values the old type needed
 * and the new one does not, when the request left them as they were. */
static void drop_type_dependent(json_t *spec, json_t *old_spec)
{
    if (!old_spec)
        return;
    if (wants_nodeports(old_spec) && !wants_nodeports(spec)) {
        size_t i;
        json_t *pt;
        bool same = true;
        json_array_foreach(json_object_get(spec, "ports"), i, pt)
        {
            json_int_t np = json_integer_value(json_object_get(pt, "nodePort"));
            if (np && np != old_nodeport(old_spec, pt))
                same = false;
        }
        json_array_foreach(json_object_get(spec, "ports"), i, pt)
        {
            if (same)
                json_object_del(pt, "nodePort");
        }
    }
    const char *t = json_string_value(json_object_get(spec, "type"));
    const char *ot = json_string_value(json_object_get(old_spec, "type"));
    if (t && strcmp(t, "ExternalName") == 0 && (!ot || strcmp(ot, "ExternalName") != 0) &&
        json_equal(json_object_get(spec, "clusterIP"), json_object_get(old_spec, "clusterIP"))) {
        const char *drop[] = {"clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"};
        for (size_t i = 0; i < 4; i++)
            json_object_del(spec, drop[i]);
    }
}

int eng_service_alloc(struct api_server *s, const struct reg_resource *res, json_t *svc,
                      json_t *old, struct eng_svc_plan *p, struct ck_err *err)
{
    json_t *spec = json_object_get(svc, "spec");
    if (!json_is_object(spec))
        return 0;
    if (p->orig_spec) /* allocating again: from the spec as it was asked for */
        json_object_set_new(svc, "spec", spec = json_deep_copy(p->orig_spec));
    else
        p->orig_spec = json_deep_copy(spec);
    p->nadd = p->ndel = 0;
    p->res = res;
    const char *ns = eng_md_str(svc, "namespace"), *uid = eng_md_str(svc, "uid");
    snprintf(p->name, sizeof(p->name), "%s",
             eng_md_str(svc, "name") ? eng_md_str(svc, "name") : "");
    snprintf(p->owner, sizeof(p->owner), "%s/%s %s", ns ? ns : "", p->name, uid ? uid : "");
    struct eng_svc_key *held = NULL;
    size_t nheld = 0, capheld = 0;
    if (old)
        held_keys(old, &held, &nheld, &capheld);
    json_t *old_spec = old ? json_object_get(old, "spec") : NULL;
    drop_type_dependent(spec, old_spec);
    const char *type = json_string_value(json_object_get(spec, "type"));
    int rc = 0;
    if (!type || strcmp(type, "ExternalName") != 0) {
        struct used u = {ck_calloc(s->sa->ips.max / 8 + 1, 1),
                         ck_calloc((size_t)s->sa->ports.size / 8 + 1, 1)};
        char skip[512] = "";
        if (old) {
            struct ck_buf kb = CK_BUF_INIT(sizeof(skip));
            eng_key(res, ns, p->name, &kb);
            snprintf(skip, sizeof(skip), "%s", kb.data ? kb.data : "");
            ck_buf_release(&kb);
        }
        collect_used(s, old ? skip : NULL, p, &u);
        rc = alloc_ip(s, spec, old_spec, &u, p, err);
        if (rc == 0 && wants_nodeports(spec))
            rc = alloc_ports(s, spec, old_spec, held, nheld, &u, p, err);
        free(u.ips);
        free(u.ports);
    }
    /* released: what the stored Service holds and the new one does not */
    struct eng_svc_key *keep = NULL;
    size_t nkeep = 0, capkeep = 0;
    if (rc == 0 && nheld)
        held_keys(svc, &keep, &nkeep, &capkeep);
    for (size_t i = 0; rc == 0 && i < nheld; i++)
        if (!key_in(keep, nkeep, held[i].key))
            snprintf(key_push(&p->del, &p->ndel, &p->capdel)->key, 96, "%s", held[i].key);
    free(keep);
    free(held);
    return rc;
}

/* ---- committing --------------------------------------------------------------------- */

static int object_failed(const struct store_txn_result *res, const char *key, size_t key_len,
                         int64_t expect, struct ck_err *err)
{
    int kw = key_len > 200 ? 200 : (int)key_len;
    if (expect == STORE_ABSENT)
        return ck_err_set(err, CK_R_ALREADY_EXISTS, "key %.*s already exists", kw, key);
    if (!res->failed_exists)
        return ck_err_set(err, CK_R_NOT_FOUND, "key %.*s not found", kw, key);
    return ck_err_set(err, CK_R_CONFLICT, "key %.*s: expected mod_revision %lld, found %lld", kw,
                      key, (long long)expect, (long long)res->failed_kv.mod_revision);
}

int eng_svc_commit(struct api_server *s, struct eng_svc_plan *p, const char *key, size_t key_len,
                   const char *val, size_t len, int64_t expect, int64_t *rev, struct ck_err *err)
{
    struct store *st = s->cache.st;
    size_t cap = 1 + p->nadd + p->ndel;
    struct store_cmp *cmps = ck_calloc(cap, sizeof(*cmps));
    struct store_op *ops = ck_calloc(cap, sizeof(*ops));
    size_t nc = 0, no = 0;
    size_t vlen = strlen(p->owner);
    if (expect != STORE_ANY)
        cmps[nc++] = (struct store_cmp){key, key_len, expect};
    ops[no++] = val ? (struct store_op){STORE_OP_PUT, key, key_len, val, len}
                    : (struct store_op){STORE_OP_DELETE, key, key_len, NULL, 0};
    for (size_t i = 0; i < p->nadd; i++) {
        const char *k = p->add[i].key;
        cmps[nc++] = (struct store_cmp){k, strlen(k), STORE_ABSENT};
        ops[no++] = (struct store_op){STORE_OP_PUT, k, strlen(k), p->owner, vlen};
    }
    /* a released key goes only when this Service holds it (a value two Services claimed
     * before the keys existed stays with the other one) */
    for (size_t i = 0; i < p->ndel; i++) {
        const char *k = p->del[i].key;
        struct store_kv kv = {0};
        bool found = false;
        struct ck_err e2 = CK_ERR_INIT;
        if (store_get(st, k, strlen(k), 0, &kv, &found, &e2) == 0 && found &&
            kv.value_len == vlen && memcmp(kv.value, p->owner, vlen) == 0)
            ops[no++] = (struct store_op){STORE_OP_DELETE, k, strlen(k), NULL, 0};
        store_kv_release(&kv);
    }
    struct store_txn t = {cmps, nc, ops, no};
    struct store_txn_result res;
    memset(&res, 0, sizeof(res));
    int rc = store_txn(st, &t, &res, err);
    if (rc == 0 && res.succeeded) {
        if (rev)
            *rev = res.revision;
    } else if (rc == 0) {
        size_t at = res.failed_cmp - (expect != STORE_ANY ? 1 : 0);
        if (expect != STORE_ANY && res.failed_cmp == 0) {
            rc = object_failed(&res, key, key_len, expect, err);
        } else if (at < p->nadd && p->add[at].automatic) {
            ck_v(2, "alloc: %s was taken by another API server meanwhile; choosing again",
                 p->add[at].key);
            *key_push(&p->taken, &p->ntaken, &p->captaken) = p->add[at];
            rc = 1;
        } else if (at < p->nadd) {
            eng_invalid(err, p->res, p->name, p->add[at].field, "FieldValueInvalid",
                        p->add[at].detail);
            rc = -1;
        } else {
            rc = ck_err_set(err, CK_R_INTERNAL, "service allocation: unexpected txn failure");
        }
    }
    store_txn_result_release(&res);
    free(cmps);
    free(ops);
    return rc;
}

int eng_obj_delete(struct api_server *s, const struct eng_obj *cur, int64_t *rev,
                   struct ck_err *err)
{
    const struct reg_resource *r = cur->res;
    if (r->group[0] || strcmp(r->plural, "services") != 0)
        return store_delete(s->cache.st, cur->key, cur->key_len, cur->rv, rev, NULL, err);
    json_t *j = eng_obj_json(cur);
    struct eng_svc_plan p;
    memset(&p, 0, sizeof(p));
    if (j)
        held_keys(j, &p.del, &p.ndel, &p.capdel);
    snprintf(p.owner, sizeof(p.owner), "%s/%s %s", cur->ns, cur->name, cur->uid);
    /* no alloc_mu: a release needs no choice (and the update loop may hold it already) */
    int rc = eng_svc_commit(s, &p, cur->key, cur->key_len, NULL, 0, cur->rv, rev, err);
    eng_svc_plan_release(&p);
    json_decref(j);
    return rc;
}

/* ---- repair ------------------------------------------------------------------------- */

static int range_at(struct store *st, const char *prefix, int64_t rev,
                    struct store_range_result *out, struct ck_err *err)
{
    struct store_range_req rq = {.prefix = prefix, .prefix_len = strlen(prefix), .revision = rev};
    memset(out, 0, sizeof(*out));
    return store_range(st, &rq, out, err);
}

static const struct store_kv *find_kv(const struct store_range_result *r, const char *key)
{
    for (size_t i = 0; i < r->nkvs; i++)
        if (strcmp(r->kvs[i].key, key) == 0)
            return &r->kvs[i];
    return NULL;
}

void eng_alloc_repair(struct api_server *s)
{
    struct store *st = s->cache.st;
    const struct reg_resource *svc = reg_find("", "v1", "services");
    struct store_range_result svcs, ips, ports;
    struct ck_err err = CK_ERR_INIT;
    if (range_at(st, svc->key_prefix, 0, &svcs, &err) < 0) {
        ck_warn("alloc repair: %s", err.msg);
        return;
    }
    /* the keys as of the same revision as the Services (both are written in one txn) */
    int rc = range_at(st, ENG_KEY_SVCIPS, svcs.revision, &ips, &err);
    if (rc == 0 && range_at(st, ENG_KEY_NODEPORTS, svcs.revision, &ports, &err) < 0) {
        store_range_result_release(&ips);
        rc = -1;
    }
    if (rc < 0) {
        ck_warn("alloc repair: %s", err.msg);
        store_range_result_release(&svcs);
        return;
    }
    size_t nowners = 0;
    char **owners = ck_calloc(svcs.nkvs + 1, sizeof(*owners));
    int created = 0, dup = 0, leaked = 0;
    for (size_t i = 0; i < svcs.nkvs; i++) {
        json_t *j = json_loadb(svcs.kvs[i].value, svcs.kvs[i].value_len, 0, NULL);
        if (!j)
            continue;
        char owner[400];
        const char *ns = eng_md_str(j, "namespace"), *nm = eng_md_str(j, "name"),
                   *uid = eng_md_str(j, "uid");
        snprintf(owner, sizeof(owner), "%s/%s %s", ns ? ns : "", nm ? nm : "", uid ? uid : "");
        owners[nowners++] = ck_strdup(owner);
        struct eng_svc_key *held = NULL;
        size_t nheld = 0, cap = 0;
        held_keys(j, &held, &nheld, &cap);
        for (size_t k = 0; k < nheld; k++) {
            const struct store_kv *kv = find_kv(&ips, held[k].key);
            if (!kv)
                kv = find_kv(&ports, held[k].key);
            if (kv && kv->value_len == strlen(owner) &&
                memcmp(kv->value, owner, kv->value_len) == 0)
                continue;
            if (kv) {
                ck_warn("alloc repair: %s of Service %s/%s is also held by %.*s; please recreate "
                        "the Service",
                        held[k].key, ns, nm, (int)kv->value_len, (const char *)kv->value);
                dup++;
                continue;
            }
            /* missing (a store written before the keys existed): created while the Service
             * is unchanged */
            struct store_cmp c[2] = {
                {svcs.kvs[i].key, svcs.kvs[i].key_len, svcs.kvs[i].mod_revision},
                {held[k].key, strlen(held[k].key), STORE_ABSENT}};
            struct store_op op = {STORE_OP_PUT, held[k].key, strlen(held[k].key), owner,
                                  strlen(owner)};
            struct store_txn t = {c, 2, &op, 1};
            struct store_txn_result res;
            memset(&res, 0, sizeof(res));
            struct ck_err e2 = CK_ERR_INIT;
            if (store_txn(st, &t, &res, &e2) == 0 && res.succeeded)
                created++;
            else if (e2.reason == 0 && res.failed_cmp == 1) {
                ck_warn("alloc repair: %s of Service %s/%s is allocated to another Service; "
                        "please recreate the Service",
                        held[k].key, ns, nm);
                dup++;
            }
            store_txn_result_release(&res);
        }
        free(held);
        json_decref(j);
    }
    /* leaked: keys of no Service (as of the same revision), deleted unless changed since */
    struct store_range_result *sets[2] = {&ips, &ports};
    for (size_t si = 0; si < 2; si++) {
        for (size_t i = 0; i < sets[si]->nkvs; i++) {
            const struct store_kv *kv = &sets[si]->kvs[i];
            bool owned = false;
            for (size_t o = 0; o < nowners && !owned; o++)
                owned = strlen(owners[o]) == kv->value_len &&
                        memcmp(owners[o], kv->value, kv->value_len) == 0;
            if (owned)
                continue;
            struct store_cmp c = {kv->key, kv->key_len, kv->mod_revision};
            struct store_op op = {STORE_OP_DELETE, kv->key, kv->key_len, NULL, 0};
            struct store_txn t = {&c, 1, &op, 1};
            struct store_txn_result res;
            memset(&res, 0, sizeof(res));
            struct ck_err e2 = CK_ERR_INIT;
            if (store_txn(st, &t, &res, &e2) == 0 && res.succeeded)
                leaked++;
            store_txn_result_release(&res);
        }
    }
    if (created || dup || leaked)
        ck_info("alloc repair: %d allocation keys created, %d leaked released, %d duplicates",
                created, leaked, dup);
    for (size_t o = 0; o < nowners; o++)
        free(owners[o]);
    free(owners);
    store_range_result_release(&svcs);
    store_range_result_release(&ips);
    store_range_result_release(&ports);
}
