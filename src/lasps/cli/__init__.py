"""Command-line interface (Typer). Only this package and ``service`` may import everything below."""
