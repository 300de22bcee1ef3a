"""Test doubles: local servers that answer like Azure APIs (never imported by the product)."""
