"""Ingest: framing, tag blocks, assembly, decoding and sources."""
