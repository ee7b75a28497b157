"""LASPS — a Korean-equity (KOSPI/KOSDAQ) quant research and trading workstation.

Data flows one way: ``cli/service/pipeline -> report -> research/backtest/ml -> alpha -> data -> krx``
(``broker`` uses ``krx`` and ``data`` only); ``tests/test_architecture.py`` checks it.
"""

__version__ = "0.1.0"
