/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Timing helper for bench/run-vm-discovery.sh.
 *
 *   nv-bench-vm-discovery scan RUNS          nv_vm_list_scan() RUNS times in this process
 *   nv-bench-vm-discovery list               the holders' pids, one a line (to compare tools)
 *   nv-bench-vm-discovery exec RUNS CMD...   CMD RUNS times, each a fresh process (output dropped)
 *
 * scan and exec print one line: "median_ms=M min_ms=A max_ms=B max_rss_kb=R" (exec: the
 * largest peak RSS of the children, each forked from this small process; scan: this process's),
 * scan adds "holders=N uninspected=U". "exec RUNS nv-bench-vm-discovery list" times one scan in
 * a fresh process, as fuser and lsof run.
 * A warm-up run comes first and is not counted: every tool then reads a warm dentry cache.
 */
#include <stdint.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#include "util.h"
#include "vm-discovery.h"

static double now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *) a, y = *(const double *) b;
        return (x > y) - (x < y);
}

static void print_times(double *t, size_t n, long max_rss_kb)
{
        double median;

        qsort(t, n, sizeof(double), cmp_double);
        median = n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
        printf("median_ms=%.3f min_ms=%.3f max_ms=%.3f max_rss_kb=%ld", median, t[0], t[n - 1], max_rss_kb);
}

/* This process's peak RSS. Not getrusage(): ru_maxrss survives execve() and would report the
 * shell this was forked from. VmHWM belongs to the address space made by execve(). */
static long peak_rss_kb(void)
{
        _cleanup_fclose_ FILE *f = fopen("/proc/self/status", "re");
        char line[256];
        long kb = -1;

        while (f && fgets(line, sizeof(line), f))
                if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
                        break;
        return kb;
}

static int run_scan(size_t runs)
{
        _cleanup_free_ double *t = calloc(runs, sizeof(double));
        size_t holders = 0, uninspected = 0;

        if (!t)
                return EXIT_FAILURE;
        for (size_t i = 0; i <= runs; i++) {
                NvVmList l = {};
                double start = now_ms();
                int r = nv_vm_list_scan(&l);

                if (r < 0) {
                        fprintf(stderr, "nv_vm_list_scan: %s\n", strerror(-r));
                        return EXIT_FAILURE;
                }
                if (i > 0)
                        t[i - 1] = now_ms() - start;
                holders = l.n_vms;
                uninspected = l.n_uninspected;
                nv_vm_list_done(&l);
        }

        print_times(t, runs, peak_rss_kb());
        printf(" holders=%zu uninspected=%zu\n", holders, uninspected);
        return EXIT_SUCCESS;
}

static int run_list(void)
{
        NvVmList l = {};
        int r = nv_vm_list_scan(&l);

        if (r < 0) {
                fprintf(stderr, "nv_vm_list_scan: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        for (size_t i = 0; i < l.n_vms; i++)
                printf("%d\n", (int) l.vms[i].pid);
        nv_vm_list_done(&l);
        return EXIT_SUCCESS;
}

static int run_exec(size_t runs, char **argv)
{
        _cleanup_free_ double *t = calloc(runs, sizeof(double));
        long max_rss = 0;

        if (!t)
                return EXIT_FAILURE;
        for (size_t i = 0; i <= runs; i++) {
                struct rusage ru;
                double start = now_ms();
                int status;
                pid_t pid;

                fflush(NULL);
                pid = fork();
                if (pid < 0)
                        return EXIT_FAILURE;
                if (pid == 0) {
                        if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
                                _exit(126);
                        execvp(argv[0], argv);
                        _exit(127);
                }
                if (wait4(pid, &status, 0, &ru) != pid)
                        return EXIT_FAILURE;
                if (WIFEXITED(status) && WEXITSTATUS(status) >= 126) {
                        fprintf(stderr, "%s: could not run it\n", argv[0]);
                        return EXIT_FAILURE;
                }
                if (i > 0) {
                        t[i - 1] = now_ms() - start;
                        if (ru.ru_maxrss > max_rss)
                                max_rss = ru.ru_maxrss;
                }
        }

        print_times(t, runs, max_rss);
        printf("\n");
        return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
        unsigned long runs;

        if (argc == 2 && streq(argv[1], "list"))
                return run_list();
        if (argc < 3 || (runs = strtoul(argv[2], NULL, 10)) == 0 || runs > 1000) {
                fprintf(stderr, "usage: %s scan RUNS | list | exec RUNS CMD [ARG...]\n", argv[0]);
                return EXIT_FAILURE;
        }
        if (streq(argv[1], "scan") && argc == 3)
                return run_scan(runs);
        if (streq(argv[1], "exec") && argc >= 4)
                return run_exec(runs, argv + 3);
        fprintf(stderr, "usage: %s scan RUNS | list | exec RUNS CMD [ARG...]\n", argv[0]);
        return EXIT_FAILURE;
}
