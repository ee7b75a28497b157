"""Alpha engine: formula language, operators, catalogue, engine, store."""
