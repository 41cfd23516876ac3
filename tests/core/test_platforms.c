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
    int i;

    unsetenv("PERFEX_TUNING_AS");
    snprintf(dir, sizeof dir, "/tmp/px_platforms_XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    /* Key SPOT_WG (A) is set by every level, LINALG_WG (B) by all but the
     * name entry, BLAS_WG (C) by type and default, EX_WG (D) by default only:
     * each key shows one level of precedence. */
    put("default.conf",
        "# every device\nSPOT_WG = 2\nLINALG_WG = 2\nBLAS_WG = 2\nEX_WG = 2\nspot_item_wg = 5\n");
    put("zz-gpu.conf", "match.type = gpu\nSPOT_WG = 4\nLINALG_WG = 4\nBLAS_WG = 4\n");
    put("aa-nvidia.conf", "match.vendor = nvidia\nSPOT_WG = 8\nLINALG_WG = 8\n");
    put("mm-v100.conf", "match.device = V100 | P100  # two alternatives\nSPOT_WG = 16\n");
    put("cpu.conf", "match.type = cpu\nBLAS_WG = 32\n");
    put("pocl.conf", "match.platform = portable computing\nmatch.type = cpu\nLINALG_WG = 64\n");
    setenv("PERFEX_PLATFORM_DIR", dir, 1);

    /* File names sort the other way round from precedence on purpose. */
    EXPECT(!strcmp(get(&gpu, "SPOT_WG", src, sizeof src), "16"), "name wins: %s",
           get(&gpu, "SPOT_WG", 0, 0));
    EXPECT(!strcmp(src, "default, zz-gpu, aa-nvidia, mm-v100"), "sources: %s", src);
    EXPECT(!strcmp(get(&gpu, "LINALG_WG", 0, 0), "8"), "vendor beats type");
    EXPECT(!strcmp(get(&gpu, "BLAS_WG", 0, 0), "4"), "type beats default");
    EXPECT(!strcmp(get(&gpu, "EX_WG", 0, 0), "2"), "default");
    EXPECT(!strcmp(get(&gpu2, "SPOT_WG", src, sizeof src), "8"), "no name entry: vendor");
    EXPECT(!strcmp(src, "default, zz-gpu, aa-nvidia"), "sources: %s", src);
    EXPECT(!strcmp(get(&amd, "SPOT_WG", src, sizeof src), "4"), "AMD GPU: type");
    EXPECT(!strcmp(src, "default, zz-gpu"), "sources: %s", src);
    EXPECT(!strcmp(get(&acc, "SPOT_WG", src, sizeof src), "2"), "accelerator: default only");
    EXPECT(!strcmp(src, "default"), "sources: %s", src);
    EXPECT(!strcmp(get(&cpu, "LINALG_WG", src, sizeof src), "64"), "platform match");
    EXPECT(!strcmp(get(&cpu, "BLAS_WG", 0, 0), "32"), "cpu type");
    EXPECT(!strcmp(src, "default, cpu, pocl"), "sources: %s", src);
    EXPECT(!strcmp(get(&cpu, "ZZ", 0, 0), "(unset)"), "a key outside the schema is never set");
    st = px_tuning_load(&cpu, &t);
    EXPECT(st == PX_SUCCESS && px_tuning_get_long(&t, "spot_item_wg", -1) == 5, "host value");
    EXPECT(px_tuning_get_long(&t, "nokey", -7) == -7, "fallback for a key outside the schema");
    /* Keys no entry sets take the schema's default, so the host needs none. */
    for (i = 0; i < px_n_tuning_keys; i++) {
        const char *k = px_tuning_keys[i].key, *v = px_tuning_get(&t, k);
        if (!strcmp(k, "SPOT_WG") || !strcmp(k, "LINALG_WG") || !strcmp(k, "BLAS_WG") ||
            !strcmp(k, "EX_WG") || !strcmp(k, "spot_item_wg"))
            continue;
        EXPECT(v && !strcmp(v, px_tuning_keys[i].dflt), "%s = %s, schema default %s", k,
               v ? v : "(unset)", px_tuning_keys[i].dflt);
    }
    EXPECT(px_tuning_get_double(&t, "mem_fraction", -1) == 0.5, "mem_fraction default");

    st = px_tuning_describe(&gpu, &text);
    EXPECT(st == PX_SUCCESS && text && strstr(text, "SPOT_WG=16  (mm-v100)") &&
               strstr(text, "LINALG_JACOBI_SWEEPS=40  (default)") &&
               strstr(text, "default, zz-gpu, aa-nvidia, mm-v100"),
           "describe: %s", text ? text : "(null)");
    free(text);

    /* PERFEX_TUNING_AS: the accelerator and the CPU tuned as the NVIDIA entry
     * says (its vendor and type replace theirs), then as the V100 entry. */
    setenv("PERFEX_TUNING_AS", "aa-nvidia", 1);
    EXPECT(!strcmp(get(&acc, "SPOT_WG", src, sizeof src), "8"), "as aa-nvidia: %s",
           get(&acc, "SPOT_WG", 0, 0));
    EXPECT(!strcmp(src, "default, aa-nvidia"), "as aa-nvidia (no type line): %s", src);
    EXPECT(!strcmp(get(&cpu, "BLAS_WG", src, sizeof src), "32"), "as aa-nvidia on a CPU");
    EXPECT(!strcmp(src, "default, cpu, aa-nvidia, pocl"), "as aa-nvidia on a CPU: %s", src);
    setenv("PERFEX_TUNING_AS", "mm-v100", 1);
    EXPECT(!strcmp(get(&amd, "SPOT_WG", src, sizeof src), "16"), "as mm-v100 on AMD");
    EXPECT(!strcmp(src, "default, zz-gpu, mm-v100"), "as mm-v100: %s", src);
    setenv("PERFEX_TUNING_AS", "nosuch", 1);
    st = px_tuning_load(&cpu, &t);
    EXPECT(st == PX_ERR_INVALID_ARG && strstr(px_last_error(), "PERFEX_TUNING_AS=nosuch") &&
               strstr(px_last_error(), "mm-v100"),
           "unknown entry: %s", px_last_error());
    unsetenv("PERFEX_TUNING_AS");

    /* Errors name the file and the line. */
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"match.type = gpu\n\nSPOT WG = 3\n", "bad.conf:3: bad key"},
        {"match.type = dsp\n", "bad.conf:1: match.type"},
        {"match.colour = red\n", "match.colour"},
        {"SPOT_WG = 1\n", "no match line"},
        {"match.type = cpu\nSPOT_WG = 1 -DX\n", "bad value"},
        {"match.type = cpu\njust words\n", "KEY = VALUE"},
        {"match.type = cpu\n# ok\nLINALG_WGG = 64\n",
         "bad.conf:3: unknown tuning key 'LINALG_WGG'"},
        {"match.type = cpu\npatch_bach = 64\n", "bad.conf:2: unknown tuning key 'patch_bach'"},
        {"match.type = cpu\nLINALG_WG = 96\n", "bad.conf:2: LINALG_WG = 96 is not a power of two"},
        {"match.type = cpu\nLINALG_WG = 2048\n", "bad.conf:2: LINALG_WG = 2048 is outside 1..1024"},
        {"match.type = cpu\nEX_MCHUNK = 0\n", "bad.conf:2: EX_MCHUNK = 0 is outside 1..256"},
        {"match.type = cpu\nEX_MCHUNK = 8.5\n", "bad.conf:2: EX_MCHUNK = 8.5 is not an integer"},
        {"match.type = cpu\ndecorr_blas = yes\n", "bad.conf:2: decorr_blas = yes is not 0 or 1"},
        {"match.type = cpu\nmem_fraction = 0\n", "bad.conf:2: mem_fraction = 0 is outside (0, 1]"},
        {"match.type = cpu\nmem_fraction = 1.5\n", "mem_fraction = 1.5 is outside (0, 1]"},
        {"match.type = cpu\nmem_fraction = half\n", "mem_fraction = half is not a number"},
        {"match.type = cpu\nPSF_HSIZEX = 8\n", "unknown tuning key 'PSF_HSIZEX'"},
    };
    for (i = 0; i < (int)(sizeof bad / sizeof bad[0]); i++) {
        put("bad.conf", bad[i].text);
        st = px_tuning_load(&cpu, &t);
        EXPECT(st == PX_ERR_PARSE && strstr(px_last_error(), bad[i].want), "want '%s', got: %s",
               bad[i].want, px_last_error());
    }
    /* The largest values in range are accepted. */
    put("bad.conf", "match.type = cpu\nLINALG_WG = 1024\nmem_fraction = 1\nex_local = 0\n");
    EXPECT(px_tuning_load(&cpu, &t) == PX_SUCCESS, "edges of the ranges: %s", px_last_error());
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
    EXPECT(!strcmp(px_tuning_get(&t, "SPOT_WG"), "1"), "PoCL: one work-item per spot");
    gpu = info("NVIDIA CUDA", "NVIDIA Corporation", "NVIDIA H100 80GB HBM3", PX_DEVICE_GPU);
    st = px_tuning_load(&gpu, &t);
    EXPECT(st == PX_SUCCESS, "embedded: %s", px_last_error());
    EXPECT(!strcmp(t.sources, "default, gpu, nvidia-gpu"), "NVIDIA GPU entries: %s", t.sources);
    EXPECT(px_tuning_get_long(&t, "SPOT_WG", 1) > 1, "NVIDIA: cooperative spots");
    EXPECT(px_tuning_get_long(&t, "LINALG_QL_CHUNK", 128) == 1, "NVIDIA: QL chunk 1");
    st = px_tuning_describe(&gpu, &text);
    EXPECT(st == PX_SUCCESS && text && strstr(text, "(nvidia-gpu)"), "describe: %s",
           text ? text : "(null)");
    free(text);
    /* The Oclgrind device (vendor Oclgrind, a GPU) tuned as an NVIDIA GPU. */
    {
        px_device_info og = info("Oclgrind", "Oclgrind", "Oclgrind Simulator", PX_DEVICE_GPU);
        px_tuning as;
        setenv("PERFEX_TUNING_AS", "nvidia-gpu", 1);
        st = px_tuning_load(&og, &as);
        unsetenv("PERFEX_TUNING_AS");
        EXPECT(st == PX_SUCCESS && !strcmp(as.sources, "default, gpu, nvidia-gpu"),
               "Oclgrind as nvidia-gpu: %s", st == PX_SUCCESS ? as.sources : px_last_error());
        for (i = 0; i < t.n && st == PX_SUCCESS; i++)
            EXPECT(!strcmp(px_tuning_get(&as, t.key[i]), t.value[i]),
                   "%s: %s as nvidia-gpu, %s on an H100", t.key[i], px_tuning_get(&as, t.key[i]),
                   t.value[i]);
    }
    return px_test_finish("test_platforms");
}
