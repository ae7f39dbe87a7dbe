/* SPDX-License-Identifier: Apache-2.0 */
/* Controller expectations: see expect.h. A small linked list per manager is enough: keys
 * live only while a controller has creations or deletions in flight. */
#include "controllers/expect.h"
#include "lib/buf.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

struct exp_item {
    struct exp_item *next;
    char *key;
    int add;
    int64_t ts;
    char **dels; /* pod keys still expected to go */
    int ndels;
};

struct cm_expect {
    pthread_mutex_t mu;
    struct exp_item *head;
};

struct cm_expect *cm_expect_new(void)
{
    struct cm_expect *e = ck_calloc(1, sizeof(*e));
    pthread_mutex_init(&e->mu, NULL);
    return e;
}

static void item_free(struct exp_item *it)
{
    for (int i = 0; i < it->ndels; i++)
        free(it->dels[i]);
    free(it->dels);
    free(it->key);
    free(it);
}

void cm_expect_free(struct cm_expect *e)
{
    if (!e)
        return;
    while (e->head) {
        struct exp_item *n = e->head->next;
        item_free(e->head);
        e->head = n;
    }
    pthread_mutex_destroy(&e->mu);
    free(e);
}

static struct exp_item **find(struct cm_expect *e, const char *key)
{
    struct exp_item **p = &e->head;
    while (*p && strcmp((*p)->key, key))
        p = &(*p)->next;
    return p;
}

static struct exp_item *get_or_make(struct cm_expect *e, const char *key)
{
    struct exp_item **p = find(e, key);
    if (!*p) {
        *p = ck_calloc(1, sizeof(**p));
        (*p)->key = ck_strdup(key);
    }
    return *p;
}

bool cm_expect_satisfied(struct cm_expect *e, const char *key, int64_t now_ns)
{
    pthread_mutex_lock(&e->mu);
    struct exp_item *it = *find(e, key);
    bool ok = !it || (it->add <= 0 && it->ndels <= 0) || now_ns - it->ts > CM_EXPECT_TTL_NS;
    pthread_mutex_unlock(&e->mu);
    return ok;
}

void cm_expect_creations(struct cm_expect *e, const char *key, int n, int64_t now_ns)
{
    pthread_mutex_lock(&e->mu);
    struct exp_item *it = get_or_make(e, key);
    it->add = n;
    for (int i = 0; i < it->ndels; i++)
        free(it->dels[i]);
    it->ndels = 0;
    it->ts = now_ns;
    pthread_mutex_unlock(&e->mu);
}

void cm_expect_deletions(struct cm_expect *e, const char *key, const char *const *pods, int n,
                         int64_t now_ns)
{
    pthread_mutex_lock(&e->mu);
    struct exp_item *it = get_or_make(e, key);
    for (int i = 0; i < it->ndels; i++)
        free(it->dels[i]);
    it->dels = ck_realloc(it->dels, sizeof(char *) * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++)
        it->dels[i] = ck_strdup(pods[i]);
    it->ndels = n;
    it->add = 0;
    it->ts = now_ns;
    pthread_mutex_unlock(&e->mu);
}

void cm_expect_creation_observed(struct cm_expect *e, const char *key)
{
    pthread_mutex_lock(&e->mu);
    struct exp_item *it = *find(e, key);
    if (it && it->add > 0)
        it->add--;
    pthread_mutex_unlock(&e->mu);
}

void cm_expect_deletion_observed(struct cm_expect *e, const char *key, const char *pod)
{
    pthread_mutex_lock(&e->mu);
    struct exp_item *it = *find(e, key);
    for (int i = 0; it && i < it->ndels; i++) {
        if (!strcmp(it->dels[i], pod)) {
            free(it->dels[i]);
            it->dels[i] = it->dels[--it->ndels];
            break;
        }
    }
    pthread_mutex_unlock(&e->mu);
}

void cm_expect_delete(struct cm_expect *e, const char *key)
{
    pthread_mutex_lock(&e->mu);
    struct exp_item **p = find(e, key);
    if (*p) {
        struct exp_item *it = *p;
        *p = it->next;
        item_free(it);
    }
    pthread_mutex_unlock(&e->mu);
}
