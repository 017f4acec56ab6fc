"""The system of record: what the harness keeps in an Optuna storage and beside it.

The keys and typed records of every study and trial attribute, and the one rule of which trials
count against a budget (``records``); storages from URLs (``urls``); every use of Optuna's private
attributes, in one module (``internals``); a study's trials read incrementally, with the budget's
counts (``tally``); arrays kept in Optuna's artifact store (``artifacts``); where a learner's best bag of fold
models is kept between processes (``bag_files``); the versions a result
was made with (``provenance``). Views read the storage through this layer alone.
"""
