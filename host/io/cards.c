// SPDX-License-Identifier: BSD-3-Clause
/* Keyword look-up in header cards through an in-memory FITS header (see
 * cards.h). The cards come from files perfex has already read, so a card
 * CFITSIO refuses to write is reported rather than skipped.
 */
#include "io/cards.h"
#include "io/fitsutil.h"

#include <string.h>

px_status px_cards_open_mem(const px_cards *cards, const char *what, fitsfile **out)
{
    px_status st = PX_SUCCESS;
    fitsfile *fp = NULL;
    int fstatus = 0, i;
    char card[81];
    *out = NULL;
    if (fits_create_file(&fp, "mem://", &fstatus) ||
        fits_create_img(fp, BYTE_IMG, 0, NULL, &fstatus)) {
        st = px_fits_fail(fstatus, what, "making an in-memory header");
        fp = NULL;
        goto cleanup;
    }
    for (i = 0; i < cards->n; i++) {
        memcpy(card, cards->text + (size_t)i * 80, 80);
        card[80] = '\0';
        if (fits_write_record(fp, card, &fstatus)) {
            st = px_fits_fail(fstatus, what, "copying a header card");
            goto cleanup;
        }
    }
    *out = fp;
    fp = NULL;
cleanup:
    px_fits_close(fp);
    return st;
}

px_status px_cards_key_double(fitsfile *fp, const char *what, const char *key, int *found,
                              double *value)
{
    px_status st = PX_SUCCESS;
    int fstatus = 0;
    char text[FLEN_VALUE];
    *found = 0;
    if (fits_read_keyword(fp, key, text, NULL, &fstatus)) {
        fits_clear_errmsg();
        goto cleanup;
    }
    *found = 1;
    if (fits_read_key(fp, TDOUBLE, key, value, NULL, &fstatus)) {
        fits_clear_errmsg();
        st = px_fail(PX_ERR_IMAGE_FORMAT, "%s: keyword %s = %s is not a number", what, key, text);
    }
cleanup:
    return st;
}

px_status px_cards_key_string(fitsfile *fp, const char *what, const char *key, int *found,
                              char *out, size_t n)
{
    px_status st = PX_SUCCESS;
    int fstatus = 0;
    char text[FLEN_VALUE], *value = NULL;
    *found = 0;
    out[0] = '\0';
    if (fits_read_keyword(fp, key, text, NULL, &fstatus)) {
        fits_clear_errmsg();
        goto cleanup;
    }
    *found = 1;
    if (fits_read_key_longstr(fp, key, &value, NULL, &fstatus)) {
        fits_clear_errmsg();
        st = px_fail(PX_ERR_IMAGE_FORMAT, "%s: keyword %s = %s is not a string", what, key, text);
        goto cleanup;
    }
    snprintf(out, n, "%s", value);
cleanup:
    if (value) fits_free_memory(value, &fstatus);
    return st;
}

px_status px_fits_write_checksum(fitsfile *fp, const char *path)
{
    px_status st = PX_SUCCESS;
    int fstatus = 0;
    unsigned long datasum = 0, hdusum = 0;
    char text[32], ascii[17];
    /* The standard's procedure, as fits_write_chksum runs it: both cards in
     * place first and the header settled (END written after them), then
     * DATASUM, then the complement of the HDU's sum encoded into CHECKSUM
     * (the encoding keeps the final header's sum at -0). Values change in
     * place, so the header's length does not. */
    if (fits_update_key(fp, TSTRING, "DATASUM", "0", "data unit checksum", &fstatus) ||
        fits_update_key(fp, TSTRING, "CHECKSUM", "0000000000000000", "HDU checksum", &fstatus) ||
        fits_set_hdustruc(fp, &fstatus) || fits_get_chksum(fp, &datasum, &hdusum, &fstatus))
        goto fail;
    snprintf(text, sizeof text, "%lu", datasum);
    if (fits_update_key(fp, TSTRING, "DATASUM", text, "data unit checksum", &fstatus) ||
        fits_get_chksum(fp, &datasum, &hdusum, &fstatus))
        goto fail;
    fits_encode_chksum(hdusum, 1, ascii);
    if (fits_update_key(fp, TSTRING, "CHECKSUM", ascii, "HDU checksum", &fstatus)) goto fail;
    goto cleanup;
fail:
    st = px_fits_fail(fstatus, path, "writing CHECKSUM/DATASUM");
cleanup:
    return st;
}
