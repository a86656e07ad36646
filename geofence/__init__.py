"""Geofences: zones of the regency's waters and crossings, and the regional geodata."""
