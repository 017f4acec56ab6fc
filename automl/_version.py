"""The harness's version, in a leaf module that everything may import."""

__version__ = "0.1.0"
