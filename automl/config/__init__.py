"""The configuration: Hydra's composed config turned into experiments, and checked first.

The config nodes made from the registry and the experiments made from a job's config (``nodes``),
how a command line becomes jobs in budget mode (``sweep``), the limits of every setting
(``checks``), and every job of a command line composed and checked before any starts
(``preflight``).
"""
