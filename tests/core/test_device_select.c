/* Device selection without OpenCL: device-type words, PERFEX_DEVICE, and
 * px_select_device on a made-up list of platforms and devices, against the
 * rules of docs/devices.md (the expected index of each case is worked out
 * from those rules by hand, in the comment beside it). */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

static px_device_info mk(int index, int plat, int dev, const char *pname, const char *name,
                         px_device_type type, int fp64)
{
    px_device_info d;
    memset(&d, 0, sizeof d);
    d.index = index;
    d.platform_index = plat;
    d.device_index = dev;
    snprintf(d.platform_name, sizeof d.platform_name, "%s", pname);
    snprintf(d.platform_vendor, sizeof d.platform_vendor, "%s vendor", pname);
    snprintf(d.name, sizeof d.name, "%s", name);
    d.type = type;
    d.fp64 = fp64;
    return d;
}

/* Select with the given request; returns the index, or the negated status. */
static int sel(const px_device_info *devs, int n, px_device_type t, const char *plat,
               const char *dev)
{
    px_device_request r = {t, plat, dev};
    int idx = -1;
    px_status st = px_select_device(&r, devs, n, &idx);
    return st == PX_SUCCESS ? idx : (int)st;
}

int main(void)
{
    px_device_type t;
    px_device_request r;
    px_device_info devs[6];
    int idx;
    px_status st;

    /* Device-type words, any case; anything else is a parse error. */
    EXPECT(px_parse_device_type("cpu", &t) == PX_SUCCESS && t == PX_DEVICE_CPU, "cpu");
    EXPECT(px_parse_device_type("GPU", &t) == PX_SUCCESS && t == PX_DEVICE_GPU, "GPU");
    EXPECT(px_parse_device_type("Accelerator", &t) == PX_SUCCESS && t == PX_DEVICE_ACCELERATOR,
           "Accelerator");
    EXPECT(px_parse_device_type("any", &t) == PX_SUCCESS && t == PX_DEVICE_ANY, "any");
    EXPECT(px_parse_device_type("fpga", &t) == PX_ERR_PARSE, "fpga must be rejected");
    EXPECT(strstr(px_last_error(), "fpga") != NULL, "message names the word: %s", px_last_error());
    EXPECT(px_parse_device_type("", &t) == PX_ERR_PARSE, "empty must be rejected");

    /* PERFEX_DEVICE: "TYPE", "TYPE:DEVICE", "DEVICE"; unset leaves the request. */
    r.type = PX_DEVICE_ANY;
    r.platform = r.device = NULL;
    unsetenv("PERFEX_DEVICE");
    EXPECT(px_device_request_from_env(&r) == PX_SUCCESS && r.type == PX_DEVICE_ANY && !r.device,
           "unset");
    setenv("PERFEX_DEVICE", "gpu", 1);
    EXPECT(px_device_request_from_env(&r) == PX_SUCCESS && r.type == PX_DEVICE_GPU && !r.device,
           "type only");
    r.type = PX_DEVICE_ANY;
    setenv("PERFEX_DEVICE", "cpu:pthread", 1);
    EXPECT(px_device_request_from_env(&r) == PX_SUCCESS && r.type == PX_DEVICE_CPU && r.device &&
               !strcmp(r.device, "pthread"),
           "type:device");
    r.type = PX_DEVICE_ANY;
    r.device = NULL;
    setenv("PERFEX_DEVICE", "Tesla", 1);
    EXPECT(px_device_request_from_env(&r) == PX_SUCCESS && r.type == PX_DEVICE_ANY && r.device &&
               !strcmp(r.device, "Tesla"),
           "device only");
    r.device = NULL;
    setenv("PERFEX_DEVICE", "2", 1);
    EXPECT(px_device_request_from_env(&r) == PX_SUCCESS && r.device && !strcmp(r.device, "2"),
           "index");
    setenv("PERFEX_DEVICE", "dsp:foo", 1);
    EXPECT(px_device_request_from_env(&r) == PX_ERR_PARSE, "bad type before the colon");
    EXPECT(strstr(px_last_error(), "PERFEX_DEVICE") != NULL, "message names the variable: %s",
           px_last_error());
    unsetenv("PERFEX_DEVICE");

    /* Platform 0 "Portable Computing Language": a CPU with fp64.
     * Platform 1 "NVIDIA CUDA": a GPU without fp64, then two with.
     * Platform 2 "Acme": an accelerator with fp64, a CPU without. */
    devs[0] = mk(0, 0, 0, "Portable Computing Language", "pthread-haswell", PX_DEVICE_CPU, 1);
    devs[1] = mk(1, 1, 0, "NVIDIA CUDA", "GeForce GT 1030", PX_DEVICE_GPU, 0);
    devs[2] = mk(2, 1, 1, "NVIDIA CUDA", "NVIDIA H100", PX_DEVICE_GPU, 1);
    devs[3] = mk(3, 1, 2, "NVIDIA CUDA", "NVIDIA A100", PX_DEVICE_GPU, 1);
    devs[4] = mk(4, 2, 0, "Acme", "Acme FPGA", PX_DEVICE_ACCELERATOR, 1);
    devs[5] = mk(5, 2, 1, "Acme", "Acme soft CPU", PX_DEVICE_CPU, 0);

    /* Default: first GPU with fp64 (the GT 1030 has none) -> 2. */
    EXPECT(sel(devs, 6, PX_DEVICE_ANY, NULL, NULL) == 2, "default %d", sel(devs, 6, 0, 0, 0));
    EXPECT(px_select_device(NULL, devs, 6, &idx) == PX_SUCCESS && idx == 2, "NULL request");
    /* Without GPUs the default is the first CPU with fp64 -> 0. */
    EXPECT(sel(devs, 1, PX_DEVICE_ANY, NULL, NULL) == 0, "CPU fallback");
    /* Only the accelerator and the fp64-less CPU: the accelerator -> 4. */
    EXPECT(sel(devs + 4, 2, PX_DEVICE_ANY, NULL, NULL) == 0, "accelerator fallback");
    /* Type filter. */
    EXPECT(sel(devs, 6, PX_DEVICE_CPU, NULL, NULL) == 0, "cpu");
    EXPECT(sel(devs, 6, PX_DEVICE_ACCELERATOR, NULL, NULL) == 4, "accelerator");
    EXPECT(sel(devs, 6, PX_DEVICE_GPU, NULL, NULL) == 2, "gpu skips the fp64-less one");
    /* Global index and name substring, case-insensitive. */
    EXPECT(sel(devs, 6, PX_DEVICE_ANY, NULL, "3") == 3, "index 3");
    EXPECT(sel(devs, 6, PX_DEVICE_ANY, NULL, "a100") == 3, "substring a100");
    EXPECT(sel(devs, 6, PX_DEVICE_ANY, NULL, "PTHREAD") == 0, "substring PTHREAD");
    /* Platform by index or name; a device index is then inside the platform. */
    EXPECT(sel(devs, 6, PX_DEVICE_ANY, "1", NULL) == 2, "platform 1");
    EXPECT(sel(devs, 6, PX_DEVICE_ANY, "portable", NULL) == 0, "platform 'portable'");
    EXPECT(sel(devs, 6, PX_DEVICE_ANY, "nvidia", "2") == 3, "platform nvidia, device 2");
    EXPECT(sel(devs, 6, PX_DEVICE_ANY, "2", "0") == 4, "platform 2, device 0");
    EXPECT(sel(devs, 6, PX_DEVICE_ANY, "acme vendor", NULL) == 4, "platform by vendor");
    /* Combined type and platform: platform 2's CPU lacks fp64. */
    EXPECT(sel(devs, 6, PX_DEVICE_CPU, "acme", NULL) == PX_ERR_NO_FP64, "acme cpu");

    /* Nothing matches: PX_ERR_NO_DEVICE and every device listed. */
    st = (px_status)sel(devs, 6, PX_DEVICE_ANY, NULL, "nosuch");
    EXPECT(st == PX_ERR_NO_DEVICE, "nosuch -> %d", (int)st);
    EXPECT(strstr(px_last_error(), "'nosuch'") != NULL, "names the request: %s", px_last_error());
    EXPECT(strstr(px_last_error(), "[0] pthread-haswell") != NULL &&
               strstr(px_last_error(), "[5] Acme soft CPU") != NULL,
           "lists the devices: %s", px_last_error());
    EXPECT(strchr(px_last_error(), '\n') == NULL, "one line: %s", px_last_error());
    EXPECT(sel(devs, 6, PX_DEVICE_ANY, NULL, "9") == PX_ERR_NO_DEVICE, "index out of range");
    EXPECT(sel(devs, 6, PX_DEVICE_ANY, "7", NULL) == PX_ERR_NO_DEVICE, "platform out of range");
    EXPECT(sel(devs, 1, PX_DEVICE_GPU, NULL, NULL) == PX_ERR_NO_DEVICE, "no GPU");
    EXPECT(strstr(px_last_error(), "--device-type gpu") != NULL, "names the type: %s",
           px_last_error());
    EXPECT(sel(devs, 0, PX_DEVICE_ANY, NULL, NULL) == PX_ERR_NO_DEVICE, "empty list");
    EXPECT(strstr(px_last_error(), "pocl-opencl-icd") != NULL, "empty list hint: %s",
           px_last_error());

    /* A device without fp64 chosen explicitly: PX_ERR_NO_FP64, listing the devices. */
    st = (px_status)sel(devs, 6, PX_DEVICE_ANY, NULL, "1");
    EXPECT(st == PX_ERR_NO_FP64, "index 1 -> %d", (int)st);
    EXPECT(strstr(px_last_error(), "cl_khr_fp64") && strstr(px_last_error(), "[2] NVIDIA H100"),
           "message: %s", px_last_error());
    EXPECT(sel(devs, 6, PX_DEVICE_ANY, NULL, "GT 1030") == PX_ERR_NO_FP64, "GT 1030");
    /* A substring matching an fp64-less device and a good one takes the good one. */
    EXPECT(sel(devs, 6, PX_DEVICE_GPU, "nvidia", NULL) == 2, "skip to the fp64 GPU");
    /* Only fp64-less devices and no request: PX_ERR_NO_FP64. */
    EXPECT(sel(devs + 5, 1, PX_DEVICE_ANY, NULL, NULL) == PX_ERR_NO_FP64, "only fp64-less");

    return px_test_finish("test_device_select");
}
