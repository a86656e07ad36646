"""Regional geodata, default zones and the demo recording (package data)."""
