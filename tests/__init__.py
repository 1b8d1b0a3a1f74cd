"""Tests for SmartPlex."""
