"""CineLibre: a self-hostable recommendation backend for movies and books."""

import os

# Set before numpy and onnxruntime load: on a small instance one worker serves everything, and
# numerical libraries that start a thread per core spin against the event loop. A deployment
# that wants more sets these itself.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

__version__ = "0.1.0"
SERVICE_NAME = "CineLibre"
