"""Test app of restflow-dispatch-dramatiq: models and cached functions for end-to-end tests."""
