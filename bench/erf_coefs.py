import numpy as np, mpmath as mp, sys
mp.mp.dps = 50
W = 0.25; NI = 24; DEG = int(sys.argv[1]); h = W/2
rows = []; worst = 0
for k in range(NI):
    m = mp.mpf(k*W + h)
    # Taylor coefficients of erf about m in t = (x - m)/h
    c = [mp.erf(m)]
    e = mp.exp(-m*m) * 2/mp.sqrt(mp.pi)
    for j in range(1, DEG+1):
        c.append((-1)**(j-1) * mp.hermite(j-1, m) * e * mp.mpf(h)**j / mp.factorial(j))
    p = [float(v) for v in c]
    rows.append(p)
    xt = np.linspace(k*W, k*W+W, 1001)
    t = (xt - float(m)) / h
    v = np.zeros_like(t)
    for q in p[::-1]:
        v = v * t + q
    r = np.array([float(mp.erf(mp.mpf(float(x)))) for x in xt])
    err = np.max(np.abs(v - r)); worst = max(worst, err)
print("deg", DEG, "max abs err", worst, file=sys.stderr)
if len(sys.argv) > 2:
    print("/* erf(x) = sum_j PX_ERF_C[k][j] t^j on [k/4, (k+1)/4), t = 8 x - (2 k + 1):")
    print("   Taylor coefficients about the interval's middle (mpmath, 50 digits). */")
    print("__constant double PX_ERF_C[%d][%d] = {" % (NI, DEG+1))
    for p in rows:
        print("    {" + ", ".join("%.17e" % v for v in p) + "},")
    print("};")
