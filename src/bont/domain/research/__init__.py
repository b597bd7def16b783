"""Registry analytics, the pure part: the analysis dataset's dictionary, cohorts, the analyses' results and
methods, disclosure control and de-identification. The engine that computes over the dataset is an adapter
(``bont.interop.registry``)."""
