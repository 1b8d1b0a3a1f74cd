"""Fault matrix: every service under every fault, through every surface."""
