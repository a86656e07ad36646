"""Geofences: zones of the regency's waters and crossings."""
