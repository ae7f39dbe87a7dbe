/* SPDX-License-Identifier: Apache-2.0 */
/* `ckube bench <what>`: the benchmarks other than the API server's own (bench.c). */
#ifndef CK_CMD_BENCH_H
#define CK_CMD_BENCH_H

/* `ckube bench scheduler [--nodes N] [--pods P] [--server URL --token T --external]`
 * (bench_scheduler.c); argv[0] is "scheduler". */
int cmd_bench_scheduler(int argc, char **argv);
/* `ckube bench pods [--pods N] [--hollow N] [--server URL --token T --node N]` (bench_pods.c). */
int cmd_bench_pods(int argc, char **argv);
/* `ckube bench exec [--runs N] [--mib M]`: exec round trip and port-forward throughput through
 * the API server (bench_exec.c). */
int cmd_bench_exec(int argc, char **argv);
/* `ckube bench controllers [--nodes N] [--replicas R] [--gc-pods P] [--server URL --token T]`
 * (bench_controllers.c). */
int cmd_bench_controllers(int argc, char **argv);
/* bench_proxy.c: the service proxy's nftables sync at 10,000 Services x 10 endpoints */
int cmd_bench_proxy(int argc, char **argv);
/* bench_dns.c: cluster DNS queries per second */
int cmd_bench_dns(int argc, char **argv);
/* bench_apf.c: priority and fairness: Lease renewals under 100 concurrent full LISTs */
int cmd_bench_apf(int argc, char **argv);

#endif
