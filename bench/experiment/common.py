"""Constants and paths every module of the package uses."""
import os

EXP = os.path.dirname(os.path.abspath(__file__))   # bench/experiment: jobs/, barrier, plots.gp
BENCH = os.path.dirname(EXP)
REPO = os.path.dirname(BENCH)
MIB = 1 << 20
PAGE = 4096
# The fio jobs of bench/experiment/jobs/, in the order they run (warm-up first, not measured).
ALL_JOBS = ["randread-uniform", "randread-zipf", "randrw", "seqread"]
