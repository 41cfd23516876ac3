/* fits_data_cmp A.fits B.fits: exit 0 when both files have the same HDUs
 * with bit-identical data units (headers are not compared: they may differ
 * in a date or a path), 1 when not, printing the first difference. The MPI
 * tests use it to check that N ranks write the frame of one rank. */
#include <fitsio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The data unit of HDU hdu, read from the (uncompressed) file itself. */
static int data_bytes(fitsfile *fp, const char *path, int hdu, unsigned char **buf, long long *n,
                      int *status)
{
    FILE *f;
    int ok;
    LONGLONG head, start, end;
    fits_movabs_hdu(fp, hdu, NULL, status);
    fits_get_hduaddrll(fp, &head, &start, &end, status);
    if (*status) return -1;
    *n = end - start;
    *buf = malloc(*n ? (size_t)*n : 1);
    if (!*buf) return -1;
    f = fopen(path, "rb");
    ok = f && fseek(f, (long)start, SEEK_SET) == 0 && fread(*buf, 1, (size_t)*n, f) == (size_t)*n;
    if (f) fclose(f);
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    fitsfile *a = NULL, *b = NULL;
    int status = 0, na = 0, nb = 0, rc = 1;
    if (argc != 3) {
        fprintf(stderr, "usage: fits_data_cmp A.fits B.fits\n");
        return 2;
    }
    fits_open_diskfile(&a, argv[1], READONLY, &status);
    fits_open_diskfile(&b, argv[2], READONLY, &status);
    fits_get_num_hdus(a, &na, &status);
    fits_get_num_hdus(b, &nb, &status);
    if (status) {
        fits_report_error(stderr, status);
        return 2;
    }
    if (na != nb) {
        printf("FAIL: %d HDUs against %d\n", na, nb);
        goto done;
    }
    for (int h = 1; h <= na; h++) {
        unsigned char *da = NULL, *db = NULL;
        long long la = 0, lb = 0;
        int bad = data_bytes(a, argv[1], h, &da, &la, &status) ||
                  data_bytes(b, argv[2], h, &db, &lb, &status);
        if (bad) {
            fits_report_error(stderr, status);
            free(da);
            free(db);
            goto done;
        }
        if (la != lb || memcmp(da, db, (size_t)la)) {
            long long k = 0;
            while (k < la && k < lb && da[k] == db[k])
                k++;
            printf(
                "FAIL: HDU %d data differ (%lld and %lld bytes, first difference at byte %lld)\n",
                h, la, lb, k);
            free(da);
            free(db);
            goto done;
        }
        printf("HDU %d: %lld data bytes identical\n", h, la);
        free(da);
        free(db);
    }
    rc = 0;
done:
    fits_close_file(a, &status);
    fits_close_file(b, &status);
    return rc;
}
