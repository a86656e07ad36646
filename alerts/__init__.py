"""Alerts: detectors and the alert book."""
