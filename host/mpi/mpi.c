/* SPDX-License-Identifier: BSD-3-Clause */
/* MPI support of the extraction (mpi/px_mpi.h): status agreement, the PSF
 * and image broadcast from the rank that read them, and the merge of the
 * ranks' partial frames and model images on one rank.
 *
 * The PSF and the image go over the wire as their parsed structures: the
 * fixed-size struct first (its pointers are meaningless on the receiver and
 * are replaced), then every array it owns. So each file is read and parsed
 * (gzip, CFITSIO, the inverse-trace fit) once, on the root rank only.
 * Large arrays travel in chunks so that no count exceeds an int.
 */
#ifdef PERFEX_HAVE_MPI

#include "mpi/px_mpi.h"

#include "core/profile.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK ((size_t)1 << 28) /* elements per MPI call */

px_status px_mpi_agree(MPI_Comm comm, px_status st)
{
    px_status out = PX_SUCCESS;
    int rank, size, first, code = (int)st, len = 0;
    char msg[1024];
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    first = st != PX_SUCCESS ? rank : size;
    if (MPI_Allreduce(MPI_IN_PLACE, &first, 1, MPI_INT, MPI_MIN, comm) != MPI_SUCCESS) {
        out = px_fail(PX_ERR_MPI, "MPI_Allreduce failed while checking the ranks' status");
        goto cleanup;
    }
    if (first == size) goto cleanup;
    if (rank == first) {
        const char *m = px_last_error();
        snprintf(msg, sizeof msg, "%s", (m && *m) ? m : px_strerror(st));
        len = (int)strlen(msg) + 1;
    }
    MPI_Bcast(&code, 1, MPI_INT, first, comm);
    MPI_Bcast(&len, 1, MPI_INT, first, comm);
    MPI_Bcast(msg, len, MPI_CHAR, first, comm);
    /* the failing rank keeps its own message; the others get it, naming
     * the rank when it is not the one that prints (rank 0) */
    out = (px_status)code;
    if (rank != first && first != 0) out = px_fail((px_status)code, "%s (rank %d)", msg, first);
    if (rank != first && first == 0) out = px_fail((px_status)code, "%s", msg);
cleanup:
    return out;
}

static int bcast_bytes(void *buf, size_t n, int root, MPI_Comm comm)
{
    char *p = buf;
    int rc = MPI_SUCCESS;
    while (n > 0 && rc == MPI_SUCCESS) {
        size_t k = n < CHUNK ? n : CHUNK;
        rc = MPI_Bcast(p, (int)k, MPI_BYTE, root, comm);
        p += k;
        n -= k;
    }
    return rc == MPI_SUCCESS ? 0 : -1;
}

/* Receiver side: allocate *p of n bytes (at least 1); returns -1 on failure. */
static int alloc_recv(void **p, size_t n, int is_root)
{
    if (!is_root) *p = malloc(n ? n : 1);
    return is_root || *p ? 0 : -1;
}

px_status px_mpi_psf_read(MPI_Comm comm, int root, const char *path, px_psf **out)
{
    px_status st = PX_SUCCESS;
    px_psf *psf = NULL;
    int rank, is_root, bad = 0;
    size_t nf;

    *out = NULL;
    MPI_Comm_rank(comm, &rank);
    is_root = rank == root;
    if (is_root) st = px_psf_read(path, &psf);
    st = px_mpi_agree(comm, st);
    if (st) goto cleanup;
    if (!is_root) {
        psf = px_calloc(1, sizeof *psf);
        bad = !psf;
    }
    st = px_mpi_agree(comm, bad ? px_fail(PX_ERR_NOMEM, "%s: out of memory", path) : st);
    if (st) goto cleanup;
    {
        px_psf hdr;
        if (is_root) hdr = *psf;
        bcast_bytes(&hdr, sizeof hdr, root, comm);
        if (!is_root) {
            *psf = hdr;
            psf->param = NULL;
            psf->winv.c = NULL;
            psf->wmin_f = psf->wmax_f = NULL;
        }
    }
    nf = (size_t)psf->nfiber;
    if (!is_root) {
        int np = psf->nparam;
        psf->nparam = 0; /* px_psf_destroy frees param[0 .. nparam) */
        psf->param = px_calloc((size_t)(np > 0 ? np : 1), sizeof *psf->param);
        bad = !psf->param;
        if (!bad) psf->nparam = np;
    }
    st = px_mpi_agree(comm, bad ? px_fail(PX_ERR_NOMEM, "%s: out of memory", path) : PX_SUCCESS);
    if (st) goto cleanup;
    /* the tables' descriptors, then (once allocated everywhere) their coefficients */
    bcast_bytes(psf->param, (size_t)psf->nparam * sizeof *psf->param, root, comm);
    if (!is_root) {
        for (int p = 0; p < psf->nparam; p++)
            psf->param[p].c = NULL;
        for (int p = 0; p < psf->nparam && !bad; p++)
            bad = alloc_recv((void **)&psf->param[p].c,
                             nf * (size_t)psf->param[p].ncoef * sizeof(double), 0);
        if (!bad)
            bad = alloc_recv((void **)&psf->winv.c, nf * (size_t)psf->winv.ncoef * sizeof(double),
                             0) ||
                  alloc_recv((void **)&psf->wmin_f, nf * sizeof(double), 0) ||
                  alloc_recv((void **)&psf->wmax_f, nf * sizeof(double), 0);
    }
    st = px_mpi_agree(comm, bad ? px_fail(PX_ERR_NOMEM, "%s: out of memory", path) : PX_SUCCESS);
    if (st) goto cleanup;
    for (int p = 0; p < psf->nparam; p++)
        bcast_bytes(psf->param[p].c, nf * (size_t)psf->param[p].ncoef * sizeof(double), root, comm);
    bcast_bytes(psf->winv.c, nf * (size_t)psf->winv.ncoef * sizeof(double), root, comm);
    bcast_bytes(psf->wmin_f, nf * sizeof(double), root, comm);
    bcast_bytes(psf->wmax_f, nf * sizeof(double), root, comm);
    *out = psf;
    psf = NULL;
cleanup:
    if (psf) px_psf_destroy(psf);
    return st;
}

px_status px_mpi_image_read(MPI_Comm comm, int root, const char *path, px_image **out)
{
    px_status st = PX_SUCCESS;
    px_image *img = NULL, hdr;
    int rank, is_root, bad = 0;
    size_t npix;

    *out = NULL;
    MPI_Comm_rank(comm, &rank);
    is_root = rank == root;
    if (is_root) st = px_image_read(path, &img);
    st = px_mpi_agree(comm, st);
    if (st) goto cleanup;
    if (is_root) hdr = *img;
    bcast_bytes(&hdr, sizeof hdr, root, comm);
    npix = (size_t)hdr.nx * (size_t)hdr.ny;
    if (!is_root) {
        img = px_calloc(1, sizeof *img);
        if (img) {
            *img = hdr;
            img->pix = img->ivar = NULL;
            img->mask = NULL;
            img->cards.text = NULL;
            img->cards.n = 0;
            bad = alloc_recv((void **)&img->pix, npix * sizeof(double), 0) ||
                  alloc_recv((void **)&img->ivar, npix * sizeof(double), 0) ||
                  alloc_recv((void **)&img->mask, npix * sizeof(uint32_t), 0) ||
                  alloc_recv((void **)&img->cards.text, (size_t)hdr.cards.n * 80, 0);
            if (!bad) img->cards.n = hdr.cards.n;
        } else {
            bad = 1;
        }
    }
    st = px_mpi_agree(comm, bad ? px_fail(PX_ERR_NOMEM, "%s: out of memory", path) : PX_SUCCESS);
    if (st) goto cleanup;
    if (bcast_bytes(img->pix, npix * sizeof(double), root, comm) ||
        bcast_bytes(img->ivar, npix * sizeof(double), root, comm) ||
        bcast_bytes(img->mask, npix * sizeof(uint32_t), root, comm) ||
        bcast_bytes(img->cards.text, (size_t)img->cards.n * 80, root, comm))
        st = px_fail(PX_ERR_MPI, "%s: MPI_Bcast of the image failed", path);
    st = px_mpi_agree(comm, st);
    if (st) goto cleanup;
    *out = img;
    img = NULL;
cleanup:
    if (img) px_image_destroy(img);
    return st;
}

/* Bitwise OR of n 64-bit words onto root (in place there). */
static int reduce_or64(void *buf, size_t n, int root, int rank, MPI_Comm comm)
{
    uint64_t *p = buf;
    int rc = MPI_SUCCESS;
    while (n > 0 && rc == MPI_SUCCESS) {
        size_t k = n < CHUNK ? n : CHUNK;
        rc = rank == root ? MPI_Reduce(MPI_IN_PLACE, p, (int)k, MPI_UINT64_T, MPI_BOR, root, comm)
                          : MPI_Reduce(p, NULL, (int)k, MPI_UINT64_T, MPI_BOR, root, comm);
        p += k;
        n -= k;
    }
    return rc == MPI_SUCCESS ? 0 : -1;
}

static int reduce_or32(void *buf, size_t n, int root, int rank, MPI_Comm comm)
{
    uint32_t *p = buf;
    int rc = MPI_SUCCESS;
    while (n > 0 && rc == MPI_SUCCESS) {
        size_t k = n < CHUNK ? n : CHUNK;
        rc = rank == root ? MPI_Reduce(MPI_IN_PLACE, p, (int)k, MPI_UINT32_T, MPI_BOR, root, comm)
                          : MPI_Reduce(p, NULL, (int)k, MPI_UINT32_T, MPI_BOR, root, comm);
        p += k;
        n -= k;
    }
    return rc == MPI_SUCCESS ? 0 : -1;
}

/* Model merge: the owner of a pixel is the highest rank whose patches cover
 * it (parts are contiguous in plan order, so that rank ran the last covering
 * patch); every other rank clears the pixel, then an OR merge is exact. */
static px_status merge_model(MPI_Comm comm, int root, int rank, double *model,
                             const unsigned char *cover, size_t npix)
{
    px_status st = PX_SUCCESS;
    int *owner = malloc((npix ? npix : 1) * sizeof *owner);
    st = px_mpi_agree(
        comm, owner ? PX_SUCCESS : px_fail(PX_ERR_NOMEM, "extract: no memory for the model merge"));
    if (st) goto cleanup;
    for (size_t k = 0; k < npix; k++)
        owner[k] = cover[k] ? rank : -1;
    for (size_t off = 0; off < npix && !st; off += CHUNK) {
        size_t k = npix - off < CHUNK ? npix - off : CHUNK;
        if (MPI_Allreduce(MPI_IN_PLACE, owner + off, (int)k, MPI_INT, MPI_MAX, comm) != MPI_SUCCESS)
            st = px_fail(PX_ERR_MPI, "extract: MPI_Allreduce of the model owners failed");
    }
    if (st) goto cleanup;
    for (size_t k = 0; k < npix; k++)
        if (owner[k] != rank) model[k] = 0;
    if (reduce_or64(model, npix, root, rank, comm))
        st = px_fail(PX_ERR_MPI, "extract: MPI_Reduce of the model image failed");
cleanup:
    free(owner);
    return st;
}

px_status px_mpi_extract(MPI_Comm comm, int root, px_context *const *ctxs, int nctx,
                         const px_psf *psf, const px_image *image, const px_extract_options *opt,
                         px_frame **out)
{
    px_status st = PX_SUCCESS;
    px_extract_options o = *opt;
    px_frame *f = NULL;
    unsigned char *cover = NULL;
    size_t npix = (size_t)psf->npix_x * (size_t)psf->npix_y, nfr, nrd;
    int rank, size, bad;
    double t;

    *out = NULL;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    o.part = rank;
    o.nparts = size;
    if (o.model) {
        cover = calloc(npix ? npix : 1, 1);
        if (!cover) st = px_fail(PX_ERR_NOMEM, "extract: no memory for the model coverage");
        o.model_cover = cover;
    }
    if (!st) {
        px_extract_plan *xp = NULL;
        st = px_extract_plan_create_multi(ctxs, nctx, psf, &o, &xp);
        if (!st) st = px_extract_execute(xp, image, rank, size, &f);
        px_extract_plan_destroy(xp);
    }
    /* on the timeline: a rank that finished its share early waits here */
    t = px_profile_now();
    st = px_mpi_agree(comm, st);
    px_prof_mark(opt->profile, "wait: the group's other ranks", "idle", t, px_profile_now(), NULL);
    if (st) goto cleanup;
    t = px_profile_now();
    nfr = (size_t)f->nspec * (size_t)f->nwave;
    nrd = f->resolution ? nfr * (size_t)(2 * f->ndiag + 1) : 0;
    bad = reduce_or64(f->flux, nfr, root, rank, comm) ||
          reduce_or64(f->ivar, nfr, root, rank, comm) ||
          reduce_or64(f->chi2pix, nfr, root, rank, comm) ||
          reduce_or32(f->mask, nfr, root, rank, comm) ||
          reduce_or64(f->resolution, nrd, root, rank, comm);
    st = px_mpi_agree(comm, bad ? px_fail(PX_ERR_MPI, "extract: MPI_Reduce of the frame failed")
                                : PX_SUCCESS);
    if (st) goto cleanup;
    if (o.model) st = merge_model(comm, root, rank, o.model, cover, npix);
    px_prof_mark(opt->profile, "merge frame", "mpi", t, px_profile_now(), NULL);
    if (st) goto cleanup;
    *out = f;
    f = NULL;
cleanup:
    px_frame_destroy(f);
    free(cover);
    return st;
}

#endif
