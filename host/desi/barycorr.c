// SPDX-License-Identifier: BSD-3-Clause
/* The barycentric wavelength factor of DESI's extraction
 * (px_desi_barycentric_factor, px_desi_image_barycentric_factor; see
 * perfex/desi.h), computed with ERFA the way astropy's
 * SkyCoord.radial_velocity_correction (kind "barycentric") computes it for
 * desispec: the observatory's GCRS position and velocity from the CIO-based
 * celestial-to-terrestrial rotation (IAU 2006/2000A), the Earth's
 * barycentric velocity from the built-in ephemeris (epv00), gravitational
 * redshift from the Sun, Jupiter (plan94), the Moon (moon98) and the Earth,
 * and eq. 28 of Wright & Eastman (2014) without the Shapiro delay:
 *   zb = gamma (1 + beta . n) / (1 + gr / c),  factor = 1 + v / c, v = c (zb - 1).
 * Time scales follow astropy's chain (UTC -> TAI -> TT -> TDB, UTC -> UT1),
 * each pair of Julian dates renormalised as astropy's day_frac does, so that
 * the rounding follows astropy's too.
 */
#include "desi/desi_internal.h"
#include "io/cards.h"
#include "io/fitsutil.h"

#include <erfa.h>
#include <erfam.h>
#include <fenv.h>
#include <math.h>
#include <string.h>

/* desispec's Kitt Peak (heliocentric.py). */
#define KPNO_LAT_DEG 31.96403
#define KPNO_LON_DEG -111.59989
#define KPNO_HEIGHT_M 2097.0
/* astropy's constants (CODATA 2018, IAU 2015 nominal values). */
#define C_LIGHT 299792458.0                 /* m/s */
#define AU_M 149597870700.0                 /* m */
#define DAY_S 86400.0                       /* s */
#define GM_SUN 1.3271244e20                 /* m^3/s^2 */
#define GM_JUP 1.2668653e17                 /* m^3/s^2 */
#define GM_EARTH 3.986004e14                /* m^3/s^2 */
#define G_NEWTON 6.67430e-11                /* m^3/(kg s^2) */
#define MOON_MASS 7.34767309e22             /* kg, astropy's value in gravitational_redshift */
#define OMEGA_EARTH_CPD 1.00273781191135448 /* Earth rotation, cycles per day */

/* Error-free sum (Knuth's two_sum), as astropy's time.utils.two_sum. */
static void two_sum(double a, double b, double *s, double *e)
{
    double x = a + b, eb = x - a, ea = x - eb;
    *s = x;
    *e = (b - eb) + (a - ea);
}

/* astropy's day_frac: an integer day and a fraction in [-0.5, 0.5], the
 * rounding half to even as numpy's. */
static void day_frac(double v1, double v2, double *day, double *frac)
{
    double sum, err, extra, f, d, excess;
    two_sum(v1, v2, &sum, &err);
    d = nearbyint(sum);
    two_sum(sum, -d, &extra, &f);
    f += extra + err;
    excess = nearbyint(f);
    d += excess;
    two_sum(sum, -d, &extra, &f);
    f += extra + err;
    *day = d;
    *frac = f;
}

static void mat_vec(double m[3][3], const double v[3], double out[3])
{
    for (int i = 0; i < 3; i++)
        out[i] = m[i][0] * v[0] + m[i][1] * v[1] + m[i][2] * v[2];
}

static double norm3(const double v[3])
{
    return sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
}

static double dist_au_m(const double a[3], const double b[3])
{
    const double d[3] = {(a[0] - b[0]) * AU_M, (a[1] - b[1]) * AU_M, (a[2] - b[2]) * AU_M};
    return norm3(d);
}

px_status px_desi_barycentric_factor(double ra, double dec, double mjd, const px_eop *eop,
                                     double *factor)
{
    px_status st = PX_SUCCESS;
    const px_eop zero = {0.0, 0.0, 0.0};
    double u1, u2, a1, a2, t1, t2, tt1, tt2, b1, b2, ut11, ut12, n1, n2, day, ut, dtr;
    double pvh[2][3], pvb[2][3], pvmoon[2][3], pvjup[2][3], rc2i[3][3], rpom[3][3], rc2t[3][3];
    double itrs[3], cirs[3], gcrs[3], rot[3], vgcrs[3], beta[3], n[3], sun[3], moon[3], jup[3];
    double omega, bn, b2sum, gamma, gr, zb, v_kms, sp, era, id[3][3];
    int round_mode = fegetround();
    *factor = 1.0;
    if (!eop) eop = &zero;
    if (!isfinite(ra) || !isfinite(dec) || !isfinite(mjd) || dec < -90.0 || dec > 90.0) {
        st = px_fail(PX_ERR_INVALID_ARG, "barycentric correction: RA %g, Dec %g, MJD %g", ra, dec,
                     mjd);
        goto cleanup;
    }
    if (!isfinite(eop->dut1) || !isfinite(eop->xp) || !isfinite(eop->yp)) {
        st = px_fail(PX_ERR_INVALID_ARG, "barycentric correction: Earth orientation not finite");
        goto cleanup;
    }
    fesetround(FE_TONEAREST);
    /* Time(mjd, format='mjd'), UTC. */
    day_frac(mjd, 0.0, &u1, &u2);
    u1 += ERFA_DJM0;
    day_frac(u1, u2, &u1, &u2);
    /* TT and TDB: UTC -> TAI -> TT (-> TDB with TDB - TT at the geocentre,
     * from an approximate UT of the TT date, as astropy takes it). */
    if (eraUtctai(u1, u2, &a1, &a2) < 0 || eraTaitt(a1, a2, &t1, &t2)) {
        st =
            px_fail(PX_ERR_RANGE, "barycentric correction: MJD %.6f outside ERFA's UTC range", mjd);
        goto cleanup;
    }
    day_frac(t1, t2, &tt1, &tt2);
    eraTttai(t1, t2, &n1, &n2);
    eraTaiutc(n1, n2, &n1, &n2);
    day_frac(n1 - 0.5, n2, &day, &ut);
    dtr = eraDtdb(t1, t2, ut, 0.0, 0.0, 0.0);
    eraTttdb(t1, t2, dtr, &b1, &b2);
    day_frac(b1, b2, &b1, &b2);
    if (eraUtcut1(u1, u2, eop->dut1, &ut11, &ut12) < 0) {
        st =
            px_fail(PX_ERR_RANGE, "barycentric correction: MJD %.6f outside ERFA's UT1 range", mjd);
        goto cleanup;
    }
    day_frac(ut11, ut12, &ut11, &ut12);

    /* Kitt Peak on WGS84, metres (EarthLocation.from_geodetic). */
    if (eraGd2gc(ERFA_WGS84, KPNO_LON_DEG * (ERFA_DPI / 180.0), KPNO_LAT_DEG * (ERFA_DPI / 180.0),
                 KPNO_HEIGHT_M, itrs)) {
        st = px_fail(PX_ERR_INTERNAL, "barycentric correction: eraGd2gc failed");
        goto cleanup;
    }
    /* ITRS -> GCRS: the transposes of CIRS->ITRS (polar motion, Earth
     * rotation angle) and of GCRS->CIRS (c2i06a); the velocity is the
     * rotation about the CIP, omega x r. */
    eraC2i06a(tt1, tt2, rc2i);
    sp = eraSp00(tt1, tt2);
    eraPom00(eop->xp, eop->yp, sp, rpom);
    era = eraEra00(ut11, ut12);
    eraIr(id);
    eraC2tcio(id, era, rpom, rc2t);
    {
        double t[3][3], c[3][3];
        eraTr(rc2t, t);
        mat_vec(t, itrs, cirs);
        eraTr(rc2i, c);
        mat_vec(c, cirs, gcrs);
    }
    omega = OMEGA_EARTH_CPD * 2.0 * ERFA_DPI / DAY_S;
    for (int i = 0; i < 3; i++)
        rot[i] = rc2i[2][i] * omega;
    eraPxp(rot, gcrs, vgcrs);

    /* Solar-system bodies, barycentric, au and au/day (TDB). */
    eraEpv00(b1, b2, pvh, pvb);
    eraMoon98(b1, b2, pvmoon);
    eraPlan94(b1, b2, 5, pvjup);
    for (int i = 0; i < 3; i++) {
        sun[i] = pvb[0][i] - pvh[0][i];
        moon[i] = pvmoon[0][i] + pvb[0][i];
        jup[i] = pvjup[0][i] + sun[i];
    }

    /* Observer's velocity over c, and the target direction (ICRS). */
    for (int i = 0; i < 3; i++)
        beta[i] = (pvb[1][i] * (AU_M / DAY_S) + vgcrs[i]) / C_LIGHT;
    eraS2c(ra * (ERFA_DPI / 180.0), dec * (ERFA_DPI / 180.0), n);
    bn = beta[0] * n[0] + beta[1] * n[1] + beta[2] * n[2];
    b2sum = beta[0] * beta[0] + beta[1] * beta[1] + beta[2] * beta[2];
    gamma = 1.0 / sqrt(1.0 - b2sum);
    /* Gravitational redshift at the observatory, m/s, summed from the
     * Earth's term up as astropy sums it. */
    gr = 0.0;
    gr += -GM_EARTH / C_LIGHT / norm3(itrs);
    gr += -(G_NEWTON * MOON_MASS) / C_LIGHT / dist_au_m(moon, pvb[0]);
    gr += -GM_JUP / C_LIGHT / dist_au_m(jup, pvb[0]);
    gr += -GM_SUN / C_LIGHT / dist_au_m(sun, pvb[0]);
    zb = gamma * (1.0 + bn) / (1.0 + gr / C_LIGHT);
    /* desispec: 1 + v[km/s] / c[km/s]. */
    v_kms = (zb - 1.0) * C_LIGHT * 0.001;
    *factor = 1.0 + v_kms / (C_LIGHT * 0.001);
cleanup:
    fesetround(round_mode);
    return st;
}

/* The keyword of the first name in keys that the header has. */
static px_status first_key(fitsfile *fp, const char *what, const char *const *keys, int *found,
                           double *value, const char **used)
{
    px_status st = PX_SUCCESS;
    *found = 0;
    for (int i = 0; keys[i] && !*found; i++) {
        st = px_cards_key_double(fp, what, keys[i], found, value);
        if (st != PX_SUCCESS) goto cleanup;
        if (*found && used) *used = keys[i];
    }
cleanup:
    return st;
}

px_status px_desi_header_barycentric_factor(const px_cards *cards, const char *what,
                                            px_desi_bary_header *out)
{
    static const char *const ra_keys[] = {"TARGTRA", "SKYRA", "TELRA", "RA", NULL};
    static const char *const dec_keys[] = {"TARGTDEC", "SKYDEC", "TELDEC", "DEC", NULL};
    static const char *const mjd_keys[] = {"MJD-OBS", "MJD", NULL};
    static const char *const exp_keys[] = {"EXPTIME", NULL};
    px_status st = PX_SUCCESS;
    fitsfile *fp = NULL;
    int found = 0;
    memset(out, 0, sizeof *out);
    st = px_cards_open_mem(cards, what, &fp);
    if (st != PX_SUCCESS) goto cleanup;
    st = first_key(fp, what, ra_keys, &found, &out->ra, &out->ra_key);
    if (st != PX_SUCCESS) goto cleanup;
    if (!found) {
        st = px_fail(PX_ERR_IMAGE_FORMAT,
                     "%s: no TARGTRA, SKYRA, TELRA or RA keyword for the barycentric correction",
                     what);
        goto cleanup;
    }
    st = first_key(fp, what, dec_keys, &found, &out->dec, &out->dec_key);
    if (st != PX_SUCCESS) goto cleanup;
    if (!found) {
        st = px_fail(
            PX_ERR_IMAGE_FORMAT,
            "%s: no TARGTDEC, SKYDEC, TELDEC or DEC keyword for the barycentric correction", what);
        goto cleanup;
    }
    st = first_key(fp, what, mjd_keys, &found, &out->mjd_obs, &out->mjd_key);
    if (st != PX_SUCCESS) goto cleanup;
    if (!found) {
        st = px_fail(PX_ERR_IMAGE_FORMAT,
                     "%s: no MJD-OBS or MJD keyword for the barycentric correction", what);
        goto cleanup;
    }
    st = first_key(fp, what, exp_keys, &found, &out->exptime, NULL);
    if (st != PX_SUCCESS) goto cleanup;
    if (!found) out->exptime = 0.0;
    /* desispec: the centre of the exposure. */
    out->mjd = out->mjd_obs + out->exptime / 2. / 3600. / 24.;
    st = px_desi_barycentric_factor(out->ra, out->dec, out->mjd, NULL, &out->factor);
    if (st != PX_SUCCESS)
        st = px_fail(st, "%s: %s (from %s, %s, %s)", what, px_last_error(), out->ra_key,
                     out->dec_key, out->mjd_key);
cleanup:
    px_fits_close(fp);
    return st;
}

/* Whether the header has RA or TARGTRA, desispec's test for using it. */
static px_status has_pointing(const px_cards *cards, const char *what, int *yes)
{
    px_status st;
    fitsfile *fp = NULL;
    char text[FLEN_VALUE];
    int fstatus = 0;
    *yes = 0;
    st = px_cards_open_mem(cards, what, &fp);
    if (st != PX_SUCCESS) goto cleanup;
    if (fits_read_keyword(fp, "RA", text, NULL, &fstatus) == 0) {
        *yes = 1;
        goto cleanup;
    }
    fstatus = 0;
    if (fits_read_keyword(fp, "TARGTRA", text, NULL, &fstatus) == 0) *yes = 1;
    fits_clear_errmsg();
cleanup:
    px_fits_close(fp);
    return st;
}

px_status px_desi_image_barycentric_factor(const px_image *img, const px_fibermap *fm,
                                           double *factor)
{
    px_status st = PX_SUCCESS;
    px_desi_bary_header h;
    char what[1100];
    int yes = 0;
    *factor = 1.0;
    snprintf(what, sizeof what, "%s", img->path[0] ? img->path : "image");
    st = has_pointing(&img->cards, what, &yes);
    if (st != PX_SUCCESS) goto cleanup;
    if (yes) {
        st = px_desi_header_barycentric_factor(&img->cards, what, &h);
        if (st == PX_SUCCESS) *factor = h.factor;
        goto cleanup;
    }
    /* Early commissioning data carry the pointing in the fibermap only. */
    if (fm) {
        snprintf(what, sizeof what, "%s (FIBERMAP)", fm->path);
        st = has_pointing(&fm->cards, what, &yes);
        if (st != PX_SUCCESS) goto cleanup;
    }
    if (!yes) {
        st = px_fail(PX_ERR_IMAGE_FORMAT,
                     "%s: the barycentric correction needs RA or TARGTRA in the IMAGE header%s",
                     img->path[0] ? img->path : "image", fm ? " or the FIBERMAP header" : "");
        goto cleanup;
    }
    st = px_desi_header_barycentric_factor(&fm->cards, what, &h);
    if (st == PX_SUCCESS) *factor = h.factor;
cleanup:
    return st;
}
