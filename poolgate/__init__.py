"""poolgate: screen auto-lease contracts before they enter a securitization pool.

This package is the command line only (``poolgate ...``); the library lives in the
stage packages ``features``, ``models``, ``training`` and ``scoring``.
"""

__all__ = ["__version__"]
__version__ = "0.1.0"
