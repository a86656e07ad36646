"""pantaulaut: AIS maritime monitoring for the Sumenep regency 112 desk.

The stages of the data flow live in subpackages: :mod:`pantaulaut.ingest`
(framing, assembly, decoding), :mod:`pantaulaut.vessels` (vessel state),
:mod:`pantaulaut.geofence` (zones), :mod:`pantaulaut.alerts` (detection),
:mod:`pantaulaut.store` (persistence) and :mod:`pantaulaut.dashboard`.
"""

__version__ = "0.1.0"
