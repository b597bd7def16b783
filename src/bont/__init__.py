"""bont: decision support for the therapeutic use of botulinum toxin.

bont is not a prescriber. Every dose, limit, interval and code it shows comes from a cited source in its
knowledge base; the treating clinician decides.
"""

__version__ = "0.1.0"
