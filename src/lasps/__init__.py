"""LASPS — a Korean-equity (KOSPI/KOSDAQ) quant research and trading workstation.

Data flows one way: ``cli/service -> report -> research/backtest/ml -> alpha -> data``.
"""

__version__ = "0.1.0"
