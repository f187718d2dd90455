"""``interestlens demo``: the whole job on data generated here, with nothing downloaded.

* :func:`run_demo` — the demo shop: fit, recommend, evaluate against the known interests, report;
* :func:`run_drift_demo` — a drifting year, fitted twice as a service is refitted (``--drift``).
"""

from interestlens.demo.drifting_year import run_drift_demo
from interestlens.demo.shop import run_demo

__all__ = ["run_demo", "run_drift_demo"]
