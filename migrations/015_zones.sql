-- Zones (issue 18): the operator's areas on the map: where rides are served, the airport and its
-- fees and fixed fares, where drivers must not wait, and any area to watch. The geometry is kept
-- as GeoJSON (the embedded PostgreSQL has no PostGIS): checked by hexfleet/zones/geometry.py before
-- it is stored, and answered from an in-memory H3 cover (hexfleet/zones/cover.py), never by SQL.
CREATE TABLE zones (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 120),
    kind       text NOT NULL CHECK (kind IN ('service_area', 'airport', 'restricted', 'custom')),
    -- A GeoJSON Polygon or MultiPolygon ([lng, lat], holes included), or a circle stored as
    -- {"type": "Circle", "center": [lng, lat], "radius_m": r} (GeoJSON has no circle; in a
    -- FeatureCollection it travels as a Point with a radius_m property).
    geometry   jsonb NOT NULL CHECK (geometry->>'type' IN ('Polygon', 'MultiPolygon', 'Circle')),
    color      text NOT NULL CHECK (color ~ '^#[0-9a-f]{6}$'),
    active     boolean NOT NULL DEFAULT true,
    -- The rules of its kind (hexfleet/zones/rules.py): service_area {allow_dropoff_outside},
    -- airport {pickup_fee_minor, dropoff_fee_minor, fixed_fares}, restricted {wait_minutes}.
    rules      jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(rules) = 'object'),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- One zone per name, whatever its case: an import updates the zone it names, and a fee line
-- on a receipt ("Pickup fee: Airport BER") is never ambiguous.
CREATE UNIQUE INDEX zones_name_key ON zones (lower(name));

-- Geofence events (enter/exit per driver and zone) will reference zones (id) from their own
-- table; a deleted zone keeps its events there (no foreign key), as alerts keep theirs.
