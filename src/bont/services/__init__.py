"""Use cases over the domain: catalogue documents, the knowledge audit. No I/O, no frameworks."""
