/* SPDX-License-Identifier: Apache-2.0 */
/* Internals shared by the files of src/cni/. */
#ifndef CK_CNI_INT_H
#define CK_CNI_INT_H

#include "cni/cni.h"

#include <errno.h>

struct cni_net {
    char name[132];
    char version[16];
    json_t *plugins; /* array of plugin objects */
    json_t *raw;     /* the document as loaded */
};

int cni_result_from_json(json_t *root, struct cni_result *out, struct ck_err *err);
int cni_net_from_json(json_t *root, struct cni_net **out, struct ck_err *err);
int cni_parse_cidr(const char *s, int *family);

#endif
