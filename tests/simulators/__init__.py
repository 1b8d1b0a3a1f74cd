"""Contract tests of the service simulators."""
