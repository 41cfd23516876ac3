/* platforms/ lookup: precedence device name > vendor/platform > type > default
 * on entries written for the test into a PERFEX_PLATFORM_DIR, syntax errors
 * named by file and line, and the shipped entries resolving for a PoCL CPU
 * and an NVIDIA GPU. No OpenCL needed. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[256];

static void put(const char *name, const char *text)
{
    char path[512];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
}

static void drop(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    remove(path);
}

static px_device_info info(const char *plat, const char *vendor, const char *name,
                           px_device_type type)
{
    px_device_info d;
    memset(&d, 0, sizeof d);
    snprintf(d.platform_name, sizeof d.platform_name, "%s", plat);
    snprintf(d.platform_vendor, sizeof d.platform_vendor, "%s", plat);
    snprintf(d.vendor, sizeof d.vendor, "%s", vendor);
    snprintf(d.name, sizeof d.name, "%s", name);
    d.type = type;
    d.fp64 = 1;
    return d;
}

static const char *get(const px_device_info *d, const char *key, char *sources, size_t n)
{
    static px_tuning t;
    px_status st = px_tuning_load(d, &t);
    if (st != PX_SUCCESS) {
        fprintf(stderr, "px_tuning_load: %s\n", px_last_error());
        return "(error)";
    }
    if (sources) snprintf(sources, n, "%s", t.sources);
    return px_tuning_get(&t, key) ? px_tuning_get(&t, key) : "(unset)";
}

int main(void)
{
    px_device_info gpu = info("Vendor CUDA", "NVIDIA Corporation", "Tesla V100", PX_DEVICE_GPU);
    px_device_info gpu2 = info("Vendor CUDA", "NVIDIA Corporation", "GeForce", PX_DEVICE_GPU);
    px_device_info amd = info("AMD APP", "Advanced Micro Devices", "gfx90a", PX_DEVICE_GPU);
    px_device_info cpu =
        info("Portable Computing Language", "GenuineIntel", "pthread-x", PX_DEVICE_CPU);
    px_device_info acc = info("Acme", "Acme", "fpga", PX_DEVICE_ACCELERATOR);
    px_tuning t;
    char src[512], *text = NULL;
    px_status st;

    snprintf(dir, sizeof dir, "/tmp/px_platforms_XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    /* Key A is set by every level, B by all but the name entry, C by type and
     * default, D by default only: each key shows one level of precedence. */
    put("default.conf", "# every device\nA = 0\nB = 0\nC = 0\nD = 0\nhost_key = 5\n");
    put("zz-gpu.conf", "match.type = gpu\nA = 1\nB = 1\nC = 1\n");
    put("aa-nvidia.conf", "match.vendor = nvidia\nA = 2\nB = 2\n");
    put("mm-v100.conf", "match.device = V100 | P100  # two alternatives\nA = 3\n");
    put("cpu.conf", "match.type = cpu\nC = 11\n");
    put("pocl.conf", "match.platform = portable computing\nmatch.type = cpu\nB = 12\n");
    setenv("PERFEX_PLATFORM_DIR", dir, 1);

    /* File names sort the other way round from precedence on purpose. */
    EXPECT(!strcmp(get(&gpu, "A", src, sizeof src), "3"), "name wins: A=%s", get(&gpu, "A", 0, 0));
    EXPECT(!strcmp(src, "default, zz-gpu, aa-nvidia, mm-v100"), "sources: %s", src);
    EXPECT(!strcmp(get(&gpu, "B", 0, 0), "2"), "vendor beats type");
    EXPECT(!strcmp(get(&gpu, "C", 0, 0), "1"), "type beats default");
    EXPECT(!strcmp(get(&gpu, "D", 0, 0), "0"), "default");
    EXPECT(!strcmp(get(&gpu2, "A", src, sizeof src), "2"), "no name entry: vendor");
    EXPECT(!strcmp(src, "default, zz-gpu, aa-nvidia"), "sources: %s", src);
    EXPECT(!strcmp(get(&amd, "A", src, sizeof src), "1"), "AMD GPU: type");
    EXPECT(!strcmp(src, "default, zz-gpu"), "sources: %s", src);
    EXPECT(!strcmp(get(&acc, "A", src, sizeof src), "0"), "accelerator: default only");
    EXPECT(!strcmp(src, "default"), "sources: %s", src);
    EXPECT(!strcmp(get(&cpu, "B", src, sizeof src), "12"), "platform match");
    EXPECT(!strcmp(get(&cpu, "C", 0, 0), "11"), "cpu type");
    EXPECT(!strcmp(src, "default, cpu, pocl"), "sources: %s", src);
    EXPECT(!strcmp(get(&cpu, "ZZ", 0, 0), "(unset)"), "unset key");
    st = px_tuning_load(&cpu, &t);
    EXPECT(st == PX_SUCCESS && px_tuning_get_long(&t, "host_key", -1) == 5, "host value");
    EXPECT(px_tuning_get_long(&t, "nokey", -7) == -7, "default for a missing key");

    st = px_tuning_describe(&gpu, &text);
    EXPECT(st == PX_SUCCESS && text && strstr(text, "A=3  (mm-v100)") &&
               strstr(text, "default, zz-gpu, aa-nvidia, mm-v100"),
           "describe: %s", text ? text : "(null)");
    free(text);

    /* Errors name the file and the line. */
    put("bad.conf", "match.type = gpu\n\nSPOT WG = 3\n");
    st = px_tuning_load(&cpu, &t);
    EXPECT(st == PX_ERR_PARSE && strstr(px_last_error(), "bad.conf:3"), "bad key: %s",
           px_last_error());
    put("bad.conf", "match.type = dsp\n");
    EXPECT(px_tuning_load(&cpu, &t) == PX_ERR_PARSE && strstr(px_last_error(), "bad.conf:1"),
           "bad type: %s", px_last_error());
    put("bad.conf", "match.colour = red\n");
    EXPECT(px_tuning_load(&cpu, &t) == PX_ERR_PARSE && strstr(px_last_error(), "match.colour"),
           "unknown match: %s", px_last_error());
    put("bad.conf", "X = 1\n");
    EXPECT(px_tuning_load(&cpu, &t) == PX_ERR_PARSE && strstr(px_last_error(), "no match line"),
           "entry without match: %s", px_last_error());
    put("bad.conf", "match.type = cpu\nWG = 1 -DX\n");
    EXPECT(px_tuning_load(&cpu, &t) == PX_ERR_PARSE && strstr(px_last_error(), "bad value"),
           "define with a space: %s", px_last_error());
    put("bad.conf", "match.type = cpu\njust words\n");
    EXPECT(px_tuning_load(&cpu, &t) == PX_ERR_PARSE && strstr(px_last_error(), "KEY = VALUE"),
           "no equals: %s", px_last_error());
    drop("bad.conf");

    /* The shipped entries. */
    drop("default.conf");
    drop("zz-gpu.conf");
    drop("aa-nvidia.conf");
    drop("mm-v100.conf");
    drop("cpu.conf");
    drop("pocl.conf");
    rmdir(dir);
    unsetenv("PERFEX_PLATFORM_DIR");
    cpu = info("Portable Computing Language", "AuthenticAMD", "pthread-skylake-avx512-AMD EPYC",
               PX_DEVICE_CPU);
    snprintf(cpu.platform_vendor, sizeof cpu.platform_vendor, "The pocl project");
    st = px_tuning_load(&cpu, &t);
    EXPECT(st == PX_SUCCESS, "embedded: %s", px_last_error());
    EXPECT(!strcmp(t.sources, "default, cpu, pocl-cpu"), "PoCL CPU entries: %s", t.sources);
    gpu = info("NVIDIA CUDA", "NVIDIA Corporation", "NVIDIA H100 80GB HBM3", PX_DEVICE_GPU);
    st = px_tuning_load(&gpu, &t);
    EXPECT(st == PX_SUCCESS, "embedded: %s", px_last_error());
    EXPECT(!strcmp(t.sources, "default, gpu, nvidia-gpu"), "NVIDIA GPU entries: %s", t.sources);
    st = px_tuning_describe(&gpu, &text);
    EXPECT(st == PX_SUCCESS && text && strstr(text, "(nvidia-gpu)"), "describe: %s",
           text ? text : "(null)");
    free(text);
    /* Every key the code reads resolves to a positive number on both. */
    {
        static const char *keys[] = {"SPOT_WG", "LINALG_WG", "ASSEMBLE_WG", "patch_batch"};
        const px_device_info *ds[2] = {&cpu, &gpu};
        size_t k;
        int i;
        for (i = 0; i < 2; i++) {
            px_tuning_load(ds[i], &t);
            for (k = 0; k < sizeof keys / sizeof keys[0]; k++)
                EXPECT(px_tuning_get_long(&t, keys[k], -1) > 0, "%s on %s", keys[k], ds[i]->name);
            EXPECT(atof(px_tuning_get(&t, "mem_fraction") ? px_tuning_get(&t, "mem_fraction")
                                                          : "0") > 0,
                   "mem_fraction on %s", ds[i]->name);
        }
    }
    return px_test_finish("test_platforms");
}
