/* SPDX-License-Identifier: BSD-3-Clause */
/* frame_close A.fits B.fits RTOL: the frames' FLUX, IVAR, RESOLUTION and
 * CHI2PIX images agree within RTOL of each image's largest |value| in B, and
 * MASK exactly; prints per HDU how many values are bit-identical and the
 * largest difference. Exit 0 when they agree, 1 when not (or unreadable).
 * For frames made with other tuning values (another device's reduction
 * orders), which may differ in the last float32 bit. */
#include <fitsio.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double *read_image(fitsfile *fp, const char *name, long *n, int *status)
{
    int naxis = 0, anynul = 0;
    long ax[3] = {1, 1, 1};
    double *v = NULL;
    fits_movnam_hdu(fp, ANY_HDU, (char *)name, 0, status);
    fits_get_img_dim(fp, &naxis, status);
    fits_get_img_size(fp, 3, ax, status);
    if (*status) return NULL;
    *n = ax[0] * (naxis > 1 ? ax[1] : 1) * (naxis > 2 ? ax[2] : 1);
    v = malloc((size_t)(*n ? *n : 1) * sizeof *v);
    if (v) fits_read_img(fp, TDOUBLE, 1, *n, NULL, v, &anynul, status);
    return v;
}

int main(int argc, char **argv)
{
    static const char *hdus[] = {"FLUX", "IVAR", "RESOLUTION", "CHI2PIX", "MASK"};
    fitsfile *a = NULL, *b = NULL;
    int status = 0, rc = 0;
    double rtol;
    if (argc != 4) {
        fprintf(stderr, "usage: frame_close A.fits B.fits RTOL\n");
        return 2;
    }
    rtol = atof(argv[3]);
    fits_open_file(&a, argv[1], READONLY, &status);
    fits_open_file(&b, argv[2], READONLY, &status);
    for (size_t h = 0; h < sizeof hdus / sizeof hdus[0] && !status; h++) {
        long na = 0, nb = 0, same = 0;
        double *x = read_image(a, hdus[h], &na, &status), *y = read_image(b, hdus[h], &nb, &status);
        double mx = 0, d = 0;
        if (status || !x || !y || na != nb) {
            fprintf(stderr, "%s: unreadable or of different sizes\n", hdus[h]);
            rc = 1;
        } else {
            for (long i = 0; i < na; i++) {
                mx = fmax(mx, fabs(y[i]));
                d = fmax(d, isnan(x[i]) || isnan(y[i]) ? INFINITY : fabs(x[i] - y[i]));
                same += x[i] == y[i];
            }
            printf(
                "%-10s %ld of %ld values identical, max |difference| %.3g (%.3g of max |value|)\n",
                hdus[h], same, na, d, mx > 0 ? d / mx : d);
            if (h == 4 ? same != na : d > rtol * mx) rc = 1;
        }
        free(x);
        free(y);
    }
    if (status) {
        fits_report_error(stderr, status);
        rc = 1;
    }
    if (a) fits_close_file(a, &status);
    if (b) fits_close_file(b, &status);
    return rc;
}
