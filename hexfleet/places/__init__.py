"""Places with names: the operator's own list (terminals, stations, hotels, the depot), searched by
name, imported and exported, and the names rides and positions are labelled with.

- ``rules``: what a place may hold (pure, per-field errors)
- ``ranking``: how search results are ordered (pure)
- ``imports`` / ``exports``: CSV and GeoJSON, round-trippable (pure)
- ``labels``: the nearest active place within PLACE_LABEL_RADIUS_M, from an in-memory index (pure)
- ``geocoding``: the geocoder's reverse lookup, cached, never failing its caller
- ``live``: this process's index, refreshed when any process announces a change
- ``queries``: all SQL; ``admin``: changes with their audit entries
"""
