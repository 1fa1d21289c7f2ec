"""Models, cached functions and views the benchmarks exercise."""
