"""Formula mining (``lasps alpha mine``; docs/mining.md): a typed search over the formula language with a
holdout the search never reads and multiple-testing control.

Modules: :mod:`~lasps.research.mining.grammar` (types, operators, random trees, mutation, crossover,
canonical form), :mod:`~lasps.research.mining.scoring` (batches through the alpha engine, daily rank IC,
fingerprints), :mod:`~lasps.research.mining.search` (genetic programming, early stopping, checkpoints),
:mod:`~lasps.research.mining.holdout` (holdout IC, effective number of trials, Šidák threshold, DSR,
paper-alpha correlation), :mod:`~lasps.research.mining.run` (validation, the holdout wall, outputs,
registration).
"""
