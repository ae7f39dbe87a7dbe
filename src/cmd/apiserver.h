/* SPDX-License-Identifier: Apache-2.0 */
/* Shared runner of `ckube apiserver` and `ckube server`: flag parsing, data dir, token,
 * certificates, store, engine, HTTP front end, signal-driven shutdown. */
#ifndef CK_CMD_APISERVER_H
#define CK_CMD_APISERVER_H

#include <stdbool.h>

/* What a started API server offers, passed to the on_ready hook. */
struct apiserver_ready {
    const char *data_dir; /* absolute */
    const char *token;
    const char *host;  /* host for URLs: "127.0.0.1", "[::1]", ... */
    int secure_port;   /* 0 when off */
    int insecure_port; /* 0 when off */
    /* joinapi: --bind-address as given ("0.0.0.0", "::", an address) */
    const char *bind_address;
};

/* Runs until SIGTERM/SIGINT. default_data_dir NULL makes --data-dir required. on_ready
 * (may be NULL) runs once the listeners are up; a non-zero return stops the server. on_stop
 * (may be NULL) runs on the way out, before the listeners close. Returns the process exit
 * code. */
int apiserver_run(int argc, char **argv, const char *default_data_dir,
                  int (*on_ready)(const struct apiserver_ready *r), void (*on_stop)(void));

#endif
