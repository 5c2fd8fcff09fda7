"""lcsweep: the Python client of an lcsweep coordinator (docs/python.md).

    import lcsweep
    c = lcsweep.connect("127.0.0.1:50051", token_file="~/.lcsweep-token")
    sweep = c.submit({"name": "rates", "base": {...}, "grid": {...}, "seeds": [0, 1]})
    c.wait(sweep)
    df = c.results(sweep)           # one row per job: axes + result figures
    m = c.metrics(df.job_id[0])     # one row per metric point

The gRPC stubs (lcsweep.v1) are generated from proto/ at build time; run from
<build>/python or an installed copy.
"""
from lcsweep.client import Client, LcsweepError, connect
from lcsweep.flatten import flatten_result

__all__ = ["Client", "LcsweepError", "connect", "flatten_result"]
