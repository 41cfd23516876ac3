#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Which BLAS/LAPACK numpy loaded ($PEER_BLAS: openblas or reference; stops
if it is another) and how fast it runs the peers' kind of work: eigh, solve
and a product of 511 x 511 matrices (a specter patch: 7 fibers x 73
wavelengths), best of 3 rounds of 10, CPU s per call. bench/vs_peers.sh
prints it before timing the peers; run it alone with the same environment to
compare BLAS builds or OPENBLAS_CORETYPE choices:
  PEER_BLAS=openblas LD_LIBRARY_PATH=... OPENBLAS_NUM_THREADS=1 bench/peer_blas.py
"""
import os
import time

import numpy as np
import scipy.linalg

from peer_common import check_blas


def best(f, k=10):
    t = 1e9
    for _ in range(3):
        c0 = time.process_time()
        for _ in range(k):
            f()
        t = min(t, (time.process_time() - c0) / k)
    return t


def main():
    desc = check_blas(os.environ.get("PEER_BLAS", "openblas"))
    n = 511
    a = np.random.default_rng(1).standard_normal((n, 2 * n))
    c = a @ a.T
    print("PEER_BLAS_SPEED n=%d eigh=%.4f solve=%.4f gemm=%.4f (CPU s per call; %s)" % (
        n, best(lambda: np.linalg.eigh(c)), best(lambda: scipy.linalg.solve(c, a[:, :1])),
        best(lambda: a @ a.T), desc.split(" lib=")[0].split(" config=")[0]))


if __name__ == "__main__":
    main()
