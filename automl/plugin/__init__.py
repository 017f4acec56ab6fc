"""The plugin API: what a plugin sees, and how plugins are found.

The hooks (``hookspecs``), the types a plugin registers (``types``: ``Dataset``, ``Model``,
``Metric``, ``Data``, ``FitContext``, ``Preprocessing``), search ranges and accepted values
(``space``, ``domain``), tasks (``task``), early stopping's rule for learners that train in
rounds (``stopping``), the user's mistakes (``errors``), the ``Registry`` that collects what
plugins register (``registry``), and the plugin manager that loads them from the entry-point
group (``manager``). The lowest layer: it imports nothing else of the harness, and
``automl`` re-exports what a plugin needs, so that plugins import only ``automl``.
"""
