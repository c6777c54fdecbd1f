"""Zones: the operator's areas on the map (service areas, airports, restricted zones, any other),
and what they do to rides.

- ``geometry``: GeoJSON in, checked, and the exact point test (pure, shapely)
- ``rules``: what a zone may hold per kind (pure, per-field errors)
- ``cover``: the H3 cover and ``ZoneIndex.zones_at`` in microseconds (pure)
- ``pricing``: service areas and airport fees and fixed fares on a quote (pure)
- ``transfer``: FeatureCollection import and export (pure)
- ``live``: this process's cover, rebuilt when any process announces a change
- ``queries``: all SQL; ``admin``: changes with their audit entries
"""
