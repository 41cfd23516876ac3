/* SPDX-License-Identifier: BSD-3-Clause */
/* The MPI environment of a run (mpi/runner.h): whether a launcher started the
 * process, the world and node ranks, and which devices this rank drives.
 *
 * MPI starts only under a launcher, so that a plain `perfex extract` (or a
 * Python caller) never initialises MPI. The ranks of one node share its
 * devices: by default each rank opens one device, node rank modulo the
 * devices that match the request, so that `srun -n 4` on a node of four GPUs
 * puts one rank on each (a --device text such as "H100" matches them all; a
 * device index names one).
 */
#include "mpi/runner.h"

#include <stdlib.h>
#include <string.h>
#ifdef PERFEX_HAVE_MPI
#include "mpi/px_mpi.h"
#include <mpi.h>
#endif

static struct {
    int mpi; /* MPI initialised here */
    int world_rank, world_size;
    int local_rank, local_size;
} env = {0, 0, 1, 0, 1};

#ifdef PERFEX_HAVE_MPI
/* A launcher started us when one of these is set (OpenMPI, PMI/PMIx as srun
 * and MPICH's hydra set them) or in an srun step of several tasks;
 * PERFEX_MPI=0 or 1 overrides. */
static int launched_by_mpi(void)
{
    static const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE",
                                 "MPI_LOCALNRANKS"};
    const char *force = getenv("PERFEX_MPI");
    int yes = 0;
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        yes |= getenv(vars[i]) != NULL;
    yes |= getenv("SLURM_STEP_NUM_TASKS") && atoi(getenv("SLURM_STEP_NUM_TASKS")) > 1;
    if (force && *force) yes = strcmp(force, "0") != 0;
    return yes;
}
#endif

px_status px_env_start(int *argc, char ***argv)
{
    px_status st = PX_SUCCESS;
#ifdef PERFEX_HAVE_MPI
    MPI_Comm node;
    int already = 0;
    if (env.mpi || !launched_by_mpi()) goto cleanup;
    MPI_Initialized(&already);
    if (!already && MPI_Init(argc, argv) != MPI_SUCCESS) {
        st = px_fail(PX_ERR_MPI, "MPI_Init failed");
        goto cleanup;
    }
    env.mpi = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &env.world_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &env.world_size);
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, env.world_rank, MPI_INFO_NULL, &node);
    MPI_Comm_rank(node, &env.local_rank);
    MPI_Comm_size(node, &env.local_size);
    MPI_Comm_free(&node);
cleanup:
#else
    (void)argc;
    (void)argv;
#endif
    return st;
}

void px_env_stop(void)
{
#ifdef PERFEX_HAVE_MPI
    if (env.mpi) MPI_Finalize();
#endif
    env.mpi = 0;
    env.world_rank = env.local_rank = 0;
    env.world_size = env.local_size = 1;
}

int px_env_mpi(void)
{
    return env.mpi;
}

int px_env_world_rank(void)
{
    return env.world_rank;
}

int px_env_world_size(void)
{
    return env.world_size;
}

int px_env_local_rank(void)
{
    return env.local_rank;
}

int px_env_local_size(void)
{
    return env.local_size;
}

px_status px_env_share(px_status st, void *buf, int bytes)
{
#ifdef PERFEX_HAVE_MPI
    if (env.mpi) {
        st = px_mpi_agree(MPI_COMM_WORLD, st);
        if (!st && bytes > 0) MPI_Bcast(buf, bytes, MPI_BYTE, 0, MPI_COMM_WORLD);
    }
#else
    (void)buf;
    (void)bytes;
#endif
    return st;
}

void px_env_sum(double *v, int n)
{
#ifdef PERFEX_HAVE_MPI
    if (env.mpi) MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
#else
    (void)v;
    (void)n;
#endif
}

/* The devices of a --devices list ("all", or indices and name parts
 * separated by commas), each resolved as --device would be. */
static px_status devices_listed(const px_device_request *req, const char *list,
                                const px_device_info *devs, int ndev, int *idx, int max, int *n)
{
    px_status st = PX_SUCCESS;
    char buf[512], *save = NULL;
    *n = 0;
    if (!strcmp(list, "all")) {
        px_device_request any = *req;
        any.device = NULL;
        return px_select_devices(&any, devs, ndev, idx, max, n);
    }
    snprintf(buf, sizeof buf, "%s", list);
    for (char *t = strtok_r(buf, ",", &save); t && !st; t = strtok_r(NULL, ",", &save)) {
        px_device_request one = *req;
        int pick = -1;
        one.device = t;
        st = px_select_device(&one, devs, ndev, &pick);
        if (st) break;
        for (int k = 0; k < *n; k++)
            if (idx[k] == pick) {
                st = px_fail(PX_ERR_INVALID_ARG, "--devices %s names device %d (%s) twice", list,
                             pick, devs[pick].name);
                break;
            }
        if (!st && *n < max) idx[(*n)++] = pick;
    }
    if (!st && *n == 0) st = px_fail(PX_ERR_INVALID_ARG, "--devices '%s' names no device", list);
    return st;
}

px_status px_env_devices(const px_device_request *req, const char *devices, int *idx, int max,
                         int *n)
{
    px_status st;
    px_device_info *devs = NULL;
    int ndev = 0, ncand = 0, *cand = NULL, nl = env.local_size, me = env.local_rank;
    *n = 0;
    st = px_list_devices(&devs, &ndev);
    if (st) goto cleanup;
    cand = malloc((size_t)(ndev > 0 ? ndev : 1) * sizeof *cand);
    if (!cand) {
        st = px_fail(PX_ERR_NOMEM, "out of memory listing devices");
        goto cleanup;
    }
    if (devices && *devices)
        st = devices_listed(req, devices, devs, ndev, cand, ndev, &ncand);
    else
        st = px_select_devices(req, devs, ndev, cand, ndev, &ncand);
    if (st) goto cleanup;
    if (!devices || !*devices) {
        /* one device: this rank's among the candidates (the first alone) */
        if (max > 0) idx[0] = cand[env.mpi && nl > 1 ? me % ncand : 0];
        *n = 1;
    } else if (env.mpi && nl > 1) {
        /* the node's ranks share the listed devices out */
        if (ncand >= nl) {
            for (int k = me; k < ncand; k += nl)
                if (*n < max) idx[(*n)++] = cand[k];
        } else if (max > 0) {
            idx[(*n)++] = cand[me % ncand];
        }
    } else {
        for (int k = 0; k < ncand && k < max; k++)
            idx[(*n)++] = cand[k];
    }
cleanup:
    free(cand);
    free(devs);
    return st;
}
