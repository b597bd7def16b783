"""Registry analytics at the edge: the DuckDB engine over the analysis dataset (``engine``), the de-identified
export and multi-site combine (``export``) and the plots (``plots``)."""

from bont.interop.registry.engine import DatasetError, RegistryEngine, mean_ci

__all__ = ["DatasetError", "RegistryEngine", "mean_ci"]
