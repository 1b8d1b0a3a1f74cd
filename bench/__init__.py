"""Benchmarks of the simulators and the clients."""
