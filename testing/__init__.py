"""Test doubles (local servers bound to 127.0.0.1) for the tests and the call-counting scripts; no product module imports them."""
