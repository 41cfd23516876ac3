// SPDX-License-Identifier: BSD-3-Clause
/* The rows of a DESI FIBERMAP table (perfex/desi.h): reading a slice of the
 * table, copying it, and giving it to a frame.
 *
 * The table travels as a FITS HDU, not as parsed columns: a fibermap has a
 * hundred columns whose set changes between surveys, and desispec reads back
 * whatever the frame carries. So the HDU is copied whole into an in-memory
 * FITS file, the rows outside the slice are deleted there (CFITSIO fixes
 * NAXIS2 and the heap), and the frame writer copies the HDU as it is. Only
 * FIBER, FIBERSTATUS and OBJTYPE are read out, for the frame's fiber numbers
 * and the masking rules.
 */
#include "io/fitsutil.h"
#include "perfex/desi.h"

#include <stdlib.h>
#include <string.h>

void px_fibermap_destroy(px_fibermap *fm)
{
    if (!fm) return;
    px_fits_close((fitsfile *)fm->mem);
    free(fm->fiber);
    free(fm->fiberstatus);
    free(fm->objtype);
    px_cards_free(&fm->cards);
    free(fm);
}

/* Read FIBER, FIBERSTATUS and OBJTYPE of the table at the current HDU of fm->mem. */
static px_status read_columns(px_fibermap *fm)
{
    px_status st = PX_SUCCESS;
    fitsfile *fp = (fitsfile *)fm->mem;
    int fstatus = 0, col = 0, anynul = 0;
    char *strs[1];
    size_t n = fm->nrows > 0 ? (size_t)fm->nrows : 1;
    fm->fiber = px_calloc(n, sizeof *fm->fiber);
    fm->fiberstatus = px_calloc(n, sizeof *fm->fiberstatus);
    fm->objtype = px_calloc(n, sizeof *fm->objtype);
    if (!fm->fiber || !fm->fiberstatus || !fm->objtype) {
        st = px_fail(PX_ERR_NOMEM, "%s: out of memory for the FIBERMAP columns", fm->path);
        goto cleanup;
    }
    if (fits_get_colnum(fp, CASEINSEN, "FIBER", &col, &fstatus)) {
        fits_clear_errmsg();
        st = px_fail(PX_ERR_IMAGE_FORMAT, "%s: FIBERMAP has no FIBER column", fm->path);
        goto cleanup;
    }
    if (fm->nrows &&
        fits_read_col(fp, TINT, col, 1, 1, fm->nrows, NULL, fm->fiber, &anynul, &fstatus)) {
        st = px_fits_fail(fstatus, fm->path, "reading the FIBERMAP FIBER column");
        goto cleanup;
    }
    if (fits_get_colnum(fp, CASEINSEN, "FIBERSTATUS", &col, &fstatus) == 0) {
        fm->has_fiberstatus = 1;
        if (fm->nrows && fits_read_col(fp, TINT, col, 1, 1, fm->nrows, NULL, fm->fiberstatus,
                                       &anynul, &fstatus)) {
            st = px_fits_fail(fstatus, fm->path, "reading the FIBERMAP FIBERSTATUS column");
            goto cleanup;
        }
    } else {
        fstatus = 0;
        fits_clear_errmsg();
    }
    if (fits_get_colnum(fp, CASEINSEN, "OBJTYPE", &col, &fstatus) == 0) {
        int typecode = 0;
        long repeat = 0, width = 0;
        char buf[80];
        fits_get_coltype(fp, col, &typecode, &repeat, &width, &fstatus);
        for (int i = 0; i < fm->nrows && typecode == TSTRING && !fstatus; i++) {
            strs[0] = buf;
            buf[0] = '\0';
            if (repeat < (long)sizeof buf &&
                fits_read_col(fp, TSTRING, col, i + 1, 1, 1, NULL, strs, &anynul, &fstatus) == 0)
                snprintf(fm->objtype[i], sizeof fm->objtype[i], "%s", buf);
        }
        if (fstatus) {
            st = px_fits_fail(fstatus, fm->path, "reading the FIBERMAP OBJTYPE column");
            goto cleanup;
        }
    } else {
        fstatus = 0;
        fits_clear_errmsg();
    }
cleanup:
    return st;
}

/* A new fibermap holding rows [first, first + n) of the table at the
 * current HDU of src (path for messages). */
static px_status slice(fitsfile *src, const char *path, int total, int first, int n,
                       px_fibermap **out)
{
    px_status st = PX_SUCCESS;
    px_fibermap *fm = NULL;
    fitsfile *mem = NULL;
    int fstatus = 0;
    *out = NULL;
    fm = px_calloc(1, sizeof *fm);
    if (!fm) {
        st = px_fail(PX_ERR_NOMEM, "%s: out of memory for the FIBERMAP", path);
        goto cleanup;
    }
    snprintf(fm->path, sizeof fm->path, "%s", path);
    fm->total_rows = total;
    fm->first_row = first;
    fm->nrows = n;
    if (fits_create_file(&mem, "mem://", &fstatus) ||
        fits_create_img(mem, BYTE_IMG, 0, NULL, &fstatus)) {
        st = px_fits_fail(fstatus, path, "making an in-memory FIBERMAP");
        mem = NULL;
        goto cleanup;
    }
    fm->mem = mem;
    if (fits_copy_hdu(src, mem, 0, &fstatus)) {
        st = px_fits_fail(fstatus, path, "copying the FIBERMAP HDU");
        goto cleanup;
    }
    if (first + n < total && fits_delete_rows(mem, first + n + 1, total - first - n, &fstatus)) {
        st = px_fits_fail(fstatus, path, "slicing the FIBERMAP rows");
        goto cleanup;
    }
    if (first > 0 && fits_delete_rows(mem, 1, first, &fstatus)) {
        st = px_fits_fail(fstatus, path, "slicing the FIBERMAP rows");
        goto cleanup;
    }
    /* The source's checksums no longer hold; writers add their own. */
    fits_delete_key(mem, "CHECKSUM", &fstatus);
    fstatus = 0;
    fits_delete_key(mem, "DATASUM", &fstatus);
    fstatus = 0;
    fits_clear_errmsg();
    st = read_columns(fm);
    if (st != PX_SUCCESS) goto cleanup;
    st = px_cards_read(mem, path, &fm->cards);
    if (st != PX_SUCCESS) goto cleanup;
    *out = fm;
    fm = NULL;
cleanup:
    px_fibermap_destroy(fm);
    return st;
}

px_status px_fibermap_read(const char *path, int specmin, int nspec, int required,
                           px_fibermap **out)
{
    px_status st = PX_SUCCESS;
    fitsfile *fp = NULL;
    int found = 0, fstatus = 0, hdutype = 0, n;
    long nrows = 0;
    *out = NULL;
    if (!path || specmin < 0) {
        st = px_fail(PX_ERR_INVALID_ARG, "fibermap: no path or specmin %d < 0", specmin);
        goto cleanup;
    }
    st = px_fits_open(path, &fp);
    if (st != PX_SUCCESS) goto cleanup;
    st = px_fits_goto(fp, path, "FIBERMAP", &found);
    if (st != PX_SUCCESS) goto cleanup;
    if (!found) {
        if (required) st = px_fail(PX_ERR_IMAGE_FORMAT, "%s: no FIBERMAP HDU", path);
        goto cleanup;
    }
    if (fits_get_hdu_type(fp, &hdutype, &fstatus) || fits_get_num_rows(fp, &nrows, &fstatus)) {
        st = px_fits_fail(fstatus, path, "reading the FIBERMAP HDU");
        goto cleanup;
    }
    if (hdutype != BINARY_TBL) {
        st = px_fail(PX_ERR_IMAGE_FORMAT, "%s: FIBERMAP HDU is not a binary table", path);
        goto cleanup;
    }
    if (specmin >= nrows) {
        st = px_fail(PX_ERR_RANGE, "%s: FIBERMAP has %ld rows, none from row %d (specmin)", path,
                     nrows, specmin);
        goto cleanup;
    }
    n = (int)(nrows - specmin);
    if (nspec > 0 && nspec < n) n = nspec;
    st = slice(fp, path, (int)nrows, specmin, n, out);
cleanup:
    px_fits_close(fp);
    return st;
}

/* A copy of fm (the frame keeps its own). */
static px_status fibermap_copy(const px_fibermap *fm, px_fibermap **out)
{
    px_status st = PX_SUCCESS;
    fitsfile *src = (fitsfile *)fm->mem;
    int fstatus = 0;
    *out = NULL;
    if (fits_movabs_hdu(src, 2, NULL, &fstatus)) {
        st = px_fits_fail(fstatus, fm->path, "reading the in-memory FIBERMAP");
        goto cleanup;
    }
    st = slice(src, fm->path, fm->nrows, 0, fm->nrows, out);
    if (st != PX_SUCCESS) goto cleanup;
    (*out)->total_rows = fm->total_rows;
    (*out)->first_row = fm->first_row;
cleanup:
    return st;
}

px_status px_frame_set_fibermap(px_frame *frame, const px_fibermap *fm)
{
    px_status st = PX_SUCCESS;
    px_fibermap *copy = NULL;
    if (fm && fm->nrows != frame->nspec) {
        st = px_fail(PX_ERR_RANGE, "%s: %d FIBERMAP rows for a frame of %d spectra", fm->path,
                     fm->nrows, frame->nspec);
        goto cleanup;
    }
    if (fm) {
        st = fibermap_copy(fm, &copy);
        if (st != PX_SUCCESS) goto cleanup;
    }
    px_fibermap_destroy(frame->fibermap);
    frame->fibermap = copy;
cleanup:
    return st;
}

const px_fibermap *px_frame_fibermap(const px_frame *frame)
{
    return frame->fibermap;
}
int px_fibermap_nrows(const px_fibermap *fm)
{
    return fm->nrows;
}
int px_fibermap_total_rows(const px_fibermap *fm)
{
    return fm->total_rows;
}
const char *px_fibermap_path(const px_fibermap *fm)
{
    return fm->path;
}
const int32_t *px_fibermap_fiber(const px_fibermap *fm)
{
    return fm->fiber;
}
const int32_t *px_fibermap_fiberstatus(const px_fibermap *fm)
{
    return fm->fiberstatus;
}
const char *px_fibermap_objtype(const px_fibermap *fm, int row)
{
    return row >= 0 && row < fm->nrows ? fm->objtype[row] : "";
}

/* For the frame reader: the FIBERMAP HDU at the current HDU of fp, whole. */
px_status px_fibermap_from_hdu(fitsfile *fp, const char *path, px_fibermap **out)
{
    px_status st = PX_SUCCESS;
    int fstatus = 0;
    long nrows = 0;
    if (fits_get_num_rows(fp, &nrows, &fstatus)) {
        st = px_fits_fail(fstatus, path, "reading the FIBERMAP HDU");
        goto cleanup;
    }
    st = slice(fp, path, (int)nrows, 0, (int)nrows, out);
cleanup:
    return st;
}

/* For the frame writer: copy the HDU into out. */
px_status px_fibermap_write_hdu(const px_fibermap *fm, fitsfile *out, const char *path)
{
    px_status st = PX_SUCCESS;
    fitsfile *src = (fitsfile *)fm->mem;
    int fstatus = 0;
    if (fits_movabs_hdu(src, 2, NULL, &fstatus) || fits_copy_hdu(src, out, 0, &fstatus))
        st = px_fits_fail(fstatus, path, "writing the FIBERMAP HDU");
    return st;
}
