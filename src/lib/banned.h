/* SPDX-License-Identifier: Apache-2.0 */
/* Poisons functions that are unsafe (unbounded) or thread-unsafe in a multi-loop server.
 * Include it last in a .c file. */
#ifndef CK_BANNED_H
#define CK_BANNED_H
#pragma GCC poison strcpy strcat sprintf vsprintf strtok gmtime localtime ctime asctime
#endif
