#!/usr/bin/python3
# The reference values of tests/analysis/significance_test.cc, computed
# with Debian's python3-scipy (1.10.1): run `/usr/bin/python3
# tests/analysis/significance_reference.py` and the printed constants are
# what the test holds. Kept in the repository so that each constant's
# source is one command away.
import numpy as np
from scipy import stats, special

A = [0.912, 0.905, 0.918, 0.909]          # seeds 0..3
B = [0.897, 0.901, 0.893, 0.899]          # seeds 0..3
W1 = [0.71, 0.74, 0.69, 0.73, 0.75]       # seeds 0..4
W2 = [0.70, 0.66, 0.72]                   # seeds 10..12

def show(name, v):
    print(f"{name} = {float(v)!r}")

for a, b, x in [(2.5, 0.5, 0.3), (0.5, 7.0, 0.9), (30.0, 0.5, 0.999), (1.5, 2.25, 0.5)]:
    show(f"special.betainc({a}, {b}, {x})", special.betainc(a, b, x))
for q, df in [(0.975, 3), (0.8, 7.3), (0.999999, 2.5), (0.01, 30), (0.975, 1)]:
    show(f"stats.t.ppf({q}, {df})", stats.t.ppf(q, df))
for t, df in [(2.1, 4.5), (-3.7, 1.2)]:
    show(f"stats.t.cdf({t}, {df})", stats.t.cdf(t, df))
show("2 * stats.t.sf(25, 10)", 2 * stats.t.sf(25, 10))

r = stats.ttest_rel(A, B)
d = np.subtract(A, B)
half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
show("ttest_rel(A, B).statistic", r.statistic)
show("ttest_rel(A, B).pvalue", r.pvalue)
show("paired CI low  mean(d) - t.ppf(0.975, 3) * sd(d)/2", d.mean() - half)
show("paired CI high", d.mean() + half)

r = stats.ttest_ind(W1, W2, equal_var=False)
va, vb = np.var(W1, ddof=1) / 5, np.var(W2, ddof=1) / 3
df = (va + vb) ** 2 / (va ** 2 / 4 + vb ** 2 / 2)
half = stats.t.ppf(0.975, df) * np.sqrt(va + vb)
diff = np.mean(W1) - np.mean(W2)
show("ttest_ind(W1, W2, equal_var=False).statistic", r.statistic)
show("ttest_ind(W1, W2, equal_var=False).pvalue", r.pvalue)
show("Welch df", df)
show("Welch CI low", diff - half)
show("Welch CI high", diff + half)

r = stats.ttest_ind_from_stats(np.mean(A), np.std(A, ddof=1), 4, 0.915, 0.003, 4, equal_var=False)
show("ttest_ind_from_stats(mean A, sd A, 4, 0.915, 0.003, 4, equal_var=False).pvalue", r.pvalue)
r = stats.ttest_1samp(A, 0.915)
show("ttest_1samp(A, 0.915).pvalue", r.pvalue)

# Seeds needed: the smallest n >= 2 with n >= ((t.ppf(.975, df) + t.ppf(.8, df)) * sigma / |diff|)^2.
def needed_paired(diff, sd):
    n = 2
    while n < ((stats.t.ppf(0.975, n - 1) + stats.t.ppf(0.8, n - 1)) * sd / abs(diff)) ** 2:
        n += 1
    return n
def needed_welch(diff, var_a, var_b):
    n = 2
    while True:
        df = (var_a / n + var_b / n) ** 2 / ((var_a / n) ** 2 / (n - 1) + (var_b / n) ** 2 / (n - 1))
        if n >= (stats.t.ppf(0.975, df) + stats.t.ppf(0.8, df)) ** 2 * (var_a + var_b) / diff ** 2:
            return n
        n += 1
show("needed_paired(mean(d), sd(d)) for A - B", needed_paired(np.mean(np.subtract(A, B)), np.std(np.subtract(A, B), ddof=1)))
show("needed_welch(W1 - W2)", needed_welch(np.mean(W1) - np.mean(W2), np.var(W1, ddof=1), np.var(W2, ddof=1)))
show("needed_paired(0.002, 0.01)", needed_paired(0.002, 0.01))
show("needed_welch(0.001, 0.004**2, 0.006**2)", needed_welch(0.001, 0.004 ** 2, 0.006 ** 2))

# Bootstrap: SplitMix64 draws as analysis/significance.h describes, numpy's percentile.
M = (1 << 64) - 1
class SplitMix64:
    def __init__(self, seed): self.s = seed & M
    def next(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & M
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
        return z ^ (z >> 31)
    def below(self, n):
        limit = M - M % n
        while True:
            r = self.next()
            if r < limit: return r % n
def mean_of_draws(g, v):
    return sum(v[g.below(len(v))] for _ in v) / len(v)
g = SplitMix64(7)
boot = [mean_of_draws(g, list(d)) for _ in range(2000)]
show("paired bootstrap 2.5% (A - B, seed 7, 2000)", np.percentile(boot, 2.5))
show("paired bootstrap 97.5%", np.percentile(boot, 97.5))
g = SplitMix64(7)
boot = []
for _ in range(2000):
    ma = mean_of_draws(g, W1)
    boot.append(ma - mean_of_draws(g, W2))
show("welch bootstrap 2.5% (W1 - W2, seed 7, 2000)", np.percentile(boot, 2.5))
show("welch bootstrap 97.5%", np.percentile(boot, 97.5))
