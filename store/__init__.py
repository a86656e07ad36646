"""Persistence behind one narrow interface."""
