/* Internal interfaces shared by the host-layer files of libperfex.
 *
 * Not installed. Holds the error helpers, the layout of the opaque handles
 * (px_context, px_psf), the kernel-program cache, tuning look-up, and small
 * utilities. Files: status.c (errors), device.c (enumeration, selection,
 * contexts), platforms.c (platforms/ tuning data), program.c (building and
 * caching kernel programs), psf_read.c (FITS -> px_psf), psf.c (Legendre
 * traces, inverse trace), spots.c (spot kernel launches).
 */
#ifndef PERFEX_PX_INTERNAL_H
#define PERFEX_PX_INTERNAL_H

#define CL_TARGET_OPENCL_VERSION 120
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>

#include "perfex/perfex.h"

#include "core/tuning_keys.h"

#include <stdarg.h>
#include <stdio.h>

/* ---------------------------------------------------------------- errors */

/* Record a one-line message for px_last_error() and return status, so that a
 * failing check reads: if (bad) { st = px_fail(PX_ERR_IO, "%s: ...", path); goto cleanup; } */
px_status px_fail(px_status status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Same, for an OpenCL call: message "what: CL_ERROR_NAME". Returns the CL code. */
px_status px_fail_cl(cl_int err, const char *what);
/* Same, but for resource exhaustion and lost devices the message names
 * `--device-type cpu` as the way out, and a lost device returns
 * PX_ERR_DEVICE_LOST (clwrap.c, with the fault-injecting call wrappers). */
px_status px_fail_device(cl_int err, const char *what);
void px_clear_error(void);

#define PX_CHECK_CL(err, what)                                                                     \
    do {                                                                                           \
        if ((err) != CL_SUCCESS) {                                                                 \
            st = px_fail_device((err), (what));                                                    \
            goto cleanup;                                                                          \
        }                                                                                          \
    } while (0)

/* --------------------------------------------------------------- devices */

/* Set what the OpenCL runtimes read from the environment before the first OpenCL call
 * (ocl_env.c), once per process: POCL_CACHE_DIR, when unset and PoCL's default cache folder
 * cannot be written, to a private folder under $TMPDIR; POCL_WORK_GROUP_SPECIALIZATION=0 when
 * unset. Then PX_ERR_NOMEM when a virtual-memory limit (ulimit -v) leaves the runtime too
 * little address space to start (PoCL would abort or crash). The device layer calls it before
 * its first OpenCL call. */
px_status px_opencl_env_prepare(void);
/* Bytes of address space a virtual-memory limit (RLIMIT_AS) leaves this
 * process (1e300 without a limit), and PX_ERR_NOMEM ("out of memory for
 * WHAT: the virtual memory limit ... leaves N MiB, and it needs about M
 * MiB") when that is less than need. For sizing and before work that an
 * OpenCL runtime would abort on when its allocations fail (ocl_env.c). */
double px_address_space_left(void);
px_status px_check_address_space(double need, const char *what);

/* "cpu", "gpu", "accelerator" or "any": the words of --device-type (device.c). */
const char *px_device_type_word(px_device_type t);

/* ---------------------------------------------------------------- tuning */

/* Key/value pairs from platforms/, merged default -> type -> vendor -> name
 * over the defaults of the tuning-key schema (core/tuning_keys.h), so every
 * schema key is always set. Keys in capitals are kernel tuning values, passed
 * to every program as -DKEY=VALUE; keys in lower case are host-side values
 * (batch sizes ...). */
#define PX_TUNING_MAX 64
typedef struct px_tuning {
    int n;
    char key[PX_TUNING_MAX][48];
    char value[PX_TUNING_MAX][80];
    char sources[512]; /* the entries applied, e.g. "default, cpu, pocl-cpu" */
} px_tuning;

px_status px_tuning_load(const px_device_info *dev, px_tuning *out);
const char *px_tuning_get(const px_tuning *t, const char *key); /* NULL if unset */
long px_tuning_get_long(const px_tuning *t, const char *key, long dflt);
double px_tuning_get_double(const px_tuning *t, const char *key, double dflt);

/* --------------------------------------------------------------- context */

#define PX_MAX_PROGRAMS 16

struct px_context_s {
    px_device_info info;
    cl_platform_id platform;
    cl_device_id device;
    cl_context cl;
    cl_command_queue queue;
    int profiling;
    px_tuning tuning;
    struct {
        char key[128]; /* program name + extra options */
        cl_program program;
    } programs[PX_MAX_PROGRAMS];
    int nprograms;
    int programs_built;      /* programs compiled from source by this context */
    int programs_from_cache; /* programs loaded from the on-disk binary cache */
};

/* The reference count the last px_context_destroy of this thread saw on its
 * OpenCL context just before releasing it: 1 when nothing else held it (so
 * the release freed it), more when something leaked a reference. */
cl_uint px_context_last_refcount(void);

/* ------------------------------------------------------------- programs */

/* Embedded kernel sources (generated at build time from the kernels folder). */
typedef struct px_kernel_source {
    const char *name; /* file name without .cl */
    const char *text;
} px_kernel_source;
extern const px_kernel_source px_embedded_kernels[];
extern const int px_n_embedded_kernels;
/* The platforms folder .conf files, embedded the same way (name = file name without .conf). */
extern const px_kernel_source px_embedded_platforms[];
extern const int px_n_embedded_platforms;

/* Source text of kernels/NAME.cl: from $PERFEX_KERNEL_DIR when set, else the
 * embedded copy. *text is malloc'ed. */
px_status px_kernel_source_get(const char *name, char **text);
/* A whole file as a NUL-terminated malloc'ed string (program.c); *size may be NULL. */
px_status px_read_text_file(const char *path, char **text, size_t *size);

/* The compile options for a device: the one place for vendor quirks, plus the
 * tuning -D defines, extra (may be NULL) and $PERFEX_BUILD_OPTIONS last.
 * *opts is malloc'ed. px_build_options_for does the same for a described
 * device and its tuning, without a context (the GPU build checks use it). */
px_status px_build_options(const px_context *ctx, const char *extra, char **opts);
px_status px_build_options_for(const px_device_info *dev, const px_tuning *t, const char *extra,
                               char **opts);

/* The source text of the program made of the NULL-terminated list of kernel
 * files, as px_program_get compiles it (joined with #line markers). */
px_status px_program_source(const char *const *sources, char **text);

/* Build (or fetch from the in-memory list, or the on-disk binary cache) the
 * program made of the NULL-terminated list of kernel files concatenated in
 * order, with extra options. The context owns the returned program. On a build
 * failure the message holds the compiler log. PERFEX_NO_CACHE=1 disables the
 * disk cache; PERFEX_CACHE_DIR moves it (default $XDG_CACHE_HOME/perfex or
 * ~/.cache/perfex). */
px_status px_program_get(px_context *ctx, const char *const *sources, const char *extra,
                         cl_program *out);

/* Kernel NAME of the program built from kernels/SOURCE.cl alone, with the
 * work-group size its reqd_work_group_size attribute fixes (a kernel without
 * one is an error: batched kernels size their launches from it). The caller
 * releases the kernel. */
px_status px_kernel_get(px_context *ctx, const char *source, const char *name, cl_kernel *out,
                        size_t *wg);

/* ------------------------------------------------------------------ PSF */

/* A Legendre table: nfiber rows of ncoef coefficients on [wmin, wmax]. */
typedef struct px_legtab {
    double wmin, wmax;
    int ncoef;
    double *c; /* [nfiber][ncoef] */
} px_legtab;

/* Parameter order in px_psf.param; GH-i-j is PX_P_GH + i * (ghdegy + 1) + j. */
enum {
    PX_P_X = 0,
    PX_P_Y,
    PX_P_GHSIGX,
    PX_P_GHSIGY,
    PX_P_TAILAMP,
    PX_P_TAILCORE,
    PX_P_TAILXSCA,
    PX_P_TAILYSCA,
    PX_P_TAILINDE,
    PX_P_GH
};

struct px_psf_s {
    char path[1024];
    int psfver;
    int nfiber, fibermin;
    int npix_x, npix_y;
    int hsizex, hsizey;
    int ghdegx, ghdegy;
    int legdeg;
    char camera[16]; /* CAMERA (primary or PSF table header), "" when absent */
    double psferr;   /* PSFERR, 0.01 when absent */
    int has_tails;   /* any TAIL* parameter present and TAILAMP not all zero */
    int nparam;      /* PX_P_GH + (ghdegx + 1) * (ghdegy + 1) */
    px_legtab *param;
    /* Inverse trace w(f, y) as specter fits it: per fiber Legendre in y. */
    px_legtab winv;
    double *wmin_f, *wmax_f; /* [nfiber] w(f, -0.5), w(f, npix_y - 0.5) */
};

/* Legendre series sum_k c[k] P_k(u), u = 2 (w - wmin) / (wmax - wmin) - 1. */
double px_legval(const px_legtab *t, int fiber, double w);

/* ------------------------------------------------------- image and frame */

/* FITS header cards (80 characters each, not NUL-terminated) carried from
 * the image into the frame: everything but the structural keywords. */
typedef struct px_cards {
    int n;
    char *text; /* [n][80] */
} px_cards;

/* The layouts of the opaque px_image, px_frame and px_truth (perfex/io.h). */
struct px_image_s {
    int nx, ny; /* the CCD */
    /* The pixels held: columns [wx0, wx0 + ww), rows [wy0, wy0 + wh), pixel
     * (x, y) at [(y - wy0) * ww + x - wx0]. The whole CCD, except for an
     * image loaded for one extraction (px_image_load_window), which never
     * leaves the library. */
    int wx0, wy0, ww, wh;
    double *pix;     /* [wh][ww] electrons */
    double *ivar;    /* [wh][ww] weights after the rule above */
    uint32_t *mask;  /* [wh][ww] MASK as read (0 when the file has none) */
    long nmasked;    /* pixels whose weight the rule set to 0 */
    char camera[16]; /* CAMERA keyword, "" when absent */
    px_cards cards;  /* IMAGE header cards to copy into a frame */
    char path[1024];
    /* The file's FIBERMAP HDU, whole (read with the image, so that a
     * gzipped preproc is inflated once); NULL when it has none or it could
     * not be read, fibermap_error then saying why ("" when none). */
    struct px_fibermap_s *fibermap;
    char fibermap_error[512];
    struct px_image_src *src; /* the open file until the pixels are loaded */
};

/* px_image_read in two steps, so that an extraction reads only the pixels
 * its patches cover (a bundle's are a 16th of the CCD; converting and
 * holding the rest as doubles cost more than its solve): open_meta reads
 * the header, cards, CAMERA, FIBERMAP and checks the planes' shapes;
 * load_window reads IMAGE, IVAR and MASK of the window, applies the weight
 * rule and closes the file. Pixels are NULL in between. */
px_status px_image_open_meta(const char *path, px_image **out);
px_status px_image_load_window(px_image *img, int x0, int y0, int w, int h);
struct px_extract_plan_s;
/* The CCD window the plan's patches cover: what px_extract_execute needs of
 * an image. */
void px_extract_plan_window(const struct px_extract_plan_s *xp, int *x0, int *y0, int *w, int *h);
/* px_image_load_window of that window, once the image's shape is checked
 * against the plan's PSF. */
px_status px_image_load_plan_window(px_image *img, const struct px_extract_plan_s *xp);

/* Rows of a DESI FIBERMAP table (perfex/desi.h): the HDU itself, header and
 * the selected rows, kept in an in-memory FITS file (HDU 2 of mem, a
 * fitsfile *) so that a frame writes it back verbatim; the columns perfex
 * uses are read out. */
struct px_fibermap_s {
    void *mem;            /* fitsfile *: primary + FIBERMAP */
    int nrows;            /* rows kept */
    int total_rows;       /* rows of the source table */
    int first_row;        /* 0-based row of the source that is row 0 here */
    int32_t *fiber;       /* [nrows] FIBER */
    int32_t *fiberstatus; /* [nrows] FIBERSTATUS (0 where the column is absent) */
    int has_fiberstatus;
    char (*objtype)[8]; /* [nrows] OBJTYPE ("" where absent) */
    px_cards cards;     /* the FIBERMAP header, non-structural cards */
    char path[1024];
};

#define PX_FRAME_MAX_SCORES 16

struct px_frame_s {
    int nspec, nwave, ndiag;
    int specmin;         /* fiber of row 0 */
    double *wave;        /* [nwave] Angstrom */
    double *flux;        /* [nspec][nwave] electron/Angstrom */
    double *ivar;        /* [nspec][nwave] */
    uint32_t *mask;      /* [nspec][nwave] PX_FRAME_* bits */
    double *resolution;  /* [nspec][2 ndiag + 1][nwave]; NULL when ndiag < 0 */
    double *chi2pix;     /* [nspec][nwave] */
    char in_psf[1024];   /* IN_PSF (written shortened, as desispec does) */
    char in_img[1024];   /* IN_IMG (likewise) */
    char orig_psf[1024]; /* ORIG_PSF ("" when the PSF's header has no IN_PSF) */
    char device[256];    /* PXDEVICE: the device that ran the extraction */
    char opencl[320];    /* DEPVER of OpenCL: platform and driver ("" when unknown) */
    char camera[16];     /* CAMERA */
    px_cards cards;      /* other header keywords (from the image) */
    /* WAVEMIN, WAVEMAX, WAVESTEP as requested (have_request 0: from wave). */
    int have_request;
    double req_wmin, req_wmax, req_dw;
    double heliocor;                /* HELIOCOR (0: no barycentric correction applied) */
    struct px_fibermap_s *fibermap; /* FIBERMAP rows of the spectra (owned), or NULL */
    /* SCORES columns: name, comment, values [nscores][nspec]. */
    int nscores;
    char score_name[PX_FRAME_MAX_SCORES][48];
    char score_comment[PX_FRAME_MAX_SCORES][72];
    double *scores;
};

struct px_truth_s {
    int nspec, nwave, specmin;
    double *phot; /* [nspec][nwave] */
    double *wave; /* [nwave] */
};

/* Write the model image of an extraction (nx x ny), atomically: float64
 * with the frame's FLUX header (px_frame_write_model, io/frame.c). */
px_status px_model_write(const char *path, const double *model, int nx, int ny,
                         const px_frame *frame);

/* ------------------------------------------------------------------ util */

void *px_calloc(size_t n, size_t size); /* NULL on overflow too */
char *px_strdup(const char *s);
/* printf into a growing malloc'ed buffer; returns PX_ERR_NOMEM on failure. */
px_status px_strcat_printf(char **buf, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
