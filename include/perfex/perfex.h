/* perfex public API.
 *
 * Spectroperfectionism extraction of fiber spectra on any OpenCL device.
 * Every entry point has the px_ prefix, objects are opaque handles with a
 * create -> use -> destroy life cycle, and every fallible call returns a
 * px_status: OpenCL error codes pass through unchanged (0 and negative values
 * down to about -1100), perfex's own codes live in a disjoint range starting
 * at PX_ERR_BASE. px_strerror() names a code; px_last_error() gives the
 * detailed one-line message of the last failure on the calling thread (file
 * name and problem), which is what a command-line tool should print.
 * The library never prints and never exits.
 */
#ifndef PERFEX_PERFEX_H
#define PERFEX_PERFEX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "perfex/version.h"

/* The library's version string (PERFEX_VERSION_STRING when headers and library agree). */
#define PX_VERSION_STRING PERFEX_VERSION_STRING

typedef enum px_status {
    PX_SUCCESS = 0,
    /* OpenCL codes (CL_*) are returned as they are: -1 .. -1100. */
    PX_ERR_BASE = -20000,
    PX_ERR_INVALID_ARG = -20001,  /* a caller passed a bad value */
    PX_ERR_NOMEM = -20002,        /* host allocation failed */
    PX_ERR_IO = -20003,           /* file missing, unreadable, unwritable */
    PX_ERR_FITS = -20004,         /* CFITSIO failure: not FITS, truncated */
    PX_ERR_PSF_FORMAT = -20005,   /* a FITS file that is not a usable PSF */
    PX_ERR_IMAGE_FORMAT = -20006, /* a FITS file that is not a usable image */
    PX_ERR_NO_DEVICE = -20007,    /* device selection matched nothing */
    PX_ERR_NO_FP64 = -20008,      /* selected device lacks cl_khr_fp64 */
    PX_ERR_BUILD = -20009,        /* kernel program failed to build */
    PX_ERR_RANGE = -20010,        /* value outside the valid range */
    PX_ERR_PARSE = -20011,        /* malformed text (options, platforms/) */
    PX_ERR_NUMERIC = -20012,      /* non-finite data where finite is needed */
    PX_ERR_DEVICE_LOST = -20013,  /* device stopped answering */
    PX_ERR_BLAS = -20014,         /* CLBlast call failed */
    PX_ERR_MPI = -20015,          /* MPI failure */
    PX_ERR_INTERNAL = -20016      /* a bug in perfex */
} px_status;

/* Name of a status code ("CL_OUT_OF_RESOURCES", "PX_ERR_PSF_FORMAT", ...). */
PX_API const char *px_strerror(px_status status);

/* Detailed message of the last failure on this thread; "" when none. */
PX_API const char *px_last_error(void);

PX_API const char *px_version(void);

/* ---------------------------------------------------------------- devices */

typedef enum px_device_type {
    PX_DEVICE_ANY = 0,
    PX_DEVICE_CPU = 1,
    PX_DEVICE_GPU = 2,
    PX_DEVICE_ACCELERATOR = 3
} px_device_type;

/* What the user asked for: --device-type, --platform, --device. platform and
 * device are either a decimal index or a case-insensitive substring of the
 * name; NULL or "" means no constraint. */
typedef struct px_device_request {
    px_device_type type;
    const char *platform;
    const char *device;
} px_device_request;

/* Parse "cpu", "gpu", "accelerator", "any" (case-insensitive). */
PX_API px_status px_parse_device_type(const char *text, px_device_type *out);

/* Fill a request from PERFEX_DEVICE ("[type:]DEVICE" or "TYPE"), which the
 * command-line flags then override. Leaves fields untouched when unset. */
PX_API px_status px_device_request_from_env(px_device_request *req);

/* One OpenCL device as perfex sees it. */
typedef struct px_device_info {
    int index;          /* global index over all platforms, 0-based */
    int platform_index; /* index of its platform */
    int device_index;   /* index inside its platform */
    char platform_name[128];
    char platform_vendor[128];
    char name[128];
    char vendor[128];
    char version[128];        /* CL_DEVICE_VERSION */
    char driver_version[128]; /* CL_DRIVER_VERSION */
    char c_version[64];       /* CL_DEVICE_OPENCL_C_VERSION */
    px_device_type type;
    unsigned compute_units;
    uint64_t global_mem;
    uint64_t local_mem;
    uint64_t max_alloc;
    size_t max_work_group;
    int fp64;
    int is_default; /* the device an empty request picks */
} px_device_info;

/* List every device of every platform. *out is malloc'ed (free with free()). */
PX_API px_status px_list_devices(px_device_info **out, int *count);

/* Resolve a request to one device index of px_list_devices(). On failure the
 * message lists the devices available. */
PX_API px_status px_select_device(const px_device_request *req, const px_device_info *devs,
                                  int count, int *index);

/* Every device the request matches, of the kind px_select_device picks
 * (GPUs, else CPUs, unless a type is asked for), with double precision, in
 * index order: up to max indices in index[], their number in *n. A request
 * naming a device by index matches that one device; with no platform or
 * device text asked for, only the first pick's platform counts (the devices
 * "like the default one"). What MPI ranks and --devices spread over. */
PX_API px_status px_select_devices(const px_device_request *req, const px_device_info *devs,
                                   int count, int *index, int max, int *n);

/* -------------------------------------------------------------- contexts */

/* An opened device: OpenCL context, queue, tuning values, built programs.
 * Threading: a context is used by one thread at a time (its queue and
 * kernels are shared by everything made on it); contexts of different
 * devices may be driven from different threads at once. */
typedef struct px_context_s px_context;

typedef struct px_context_options {
    px_device_request request;
    int by_index; /* 1: open device device_index of px_list_devices, not the request */
    int device_index;
    int profiling; /* enable OpenCL event profiling */
} px_context_options;

/* Defaults (all zero): no device constraint, no profiling. */
PX_API void px_context_options_init(px_context_options *opt);

PX_API px_status px_context_create(const px_context_options *opt, px_context **out);
PX_API void px_context_destroy(px_context *ctx);
PX_API const px_device_info *px_context_device(const px_context *ctx);

/* The platforms/ entries that apply to a device, most general first, and the
 * resulting tuning values as "KEY=VALUE" lines (for `perfex devices -v`).
 * *text is malloc'ed. */
PX_API px_status px_tuning_describe(const px_device_info *dev, char **text);

/* ------------------------------------------------------------------- PSF */

typedef struct px_psf_s px_psf;

typedef struct px_psf_summary {
    int psfver;
    int nfiber;
    int fibermin;
    int npix_x, npix_y;
    int hsizex, hsizey;
    int ghdegx, ghdegy;
    int legdeg;
    double wavemin, wavemax;   /* PSF HDU domain */
    double wmin_all, wmax_all; /* range valid for every fiber */
    double wmin_any, wmax_any; /* range valid for some fiber */
    double psferr;
    int has_tails;
} px_psf_summary;

/* Read a Gauss-Hermite PSF (PSFVER 2 or 3). */
PX_API px_status px_psf_read(const char *path, px_psf **out);
PX_API void px_psf_destroy(px_psf *psf);
PX_API px_status px_psf_summarize(const px_psf *psf, px_psf_summary *out);

/* Trace centre of fiber at wavelength (pixels; 0,0 = centre of first pixel). */
PX_API px_status px_psf_xy(const px_psf *psf, int fiber, double wavelength, double *x, double *y);
/* Inverse trace: wavelength of fiber at CCD row coordinate y (specter's fit). */
PX_API px_status px_psf_wavelength(const px_psf *psf, int fiber, double y, double *wavelength);

/* Spots evaluated on the device for n (fiber, wavelength) pairs. Each spot is
 * the full stamp of (2 HSIZEY + 1) x (2 HSIZEX + 1) pixels, normalised before
 * any cut, with its lower-left pixel (xmin, ymin) before the cut; the CCD-edge
 * cut is described by the nx, ny, xcut, ycut fields. */
typedef struct px_spots {
    int n;
    int stamp_nx, stamp_ny; /* 2 HSIZEX + 1, 2 HSIZEY + 1 */
    double *x, *y;          /* [n] trace centre */
    int *xmin, *ymin;       /* [n] lower-left pixel of the stamp (uncut) */
    int *xcut, *ycut;       /* [n] lower-left pixel after the CCD cut */
    int *nx, *ny;           /* [n] size after the CCD cut (0 if off the CCD) */
    double *spot;           /* [n][stamp_ny][stamp_nx] uncut stamps */
} px_spots;

PX_API px_status px_psf_spots(px_context *ctx, const px_psf *psf, int n, const int *fiber,
                              const double *wavelength, px_spots *out);
PX_API void px_spots_free(px_spots *s);

#ifdef __cplusplus
}
#endif

/* Image, frame, compare and truth interfaces. */
#include "perfex/io.h"

#endif
