-- Places with names (issue 16): the operator's own list of places (terminals, stations, hotels,
-- hospitals, the depot), searched by name with typos forgiven, and the names rides are labelled with.

-- Trigram matching: "Alexandrplatz" finds Alexanderplatz. Shipped with PostgreSQL (contrib).
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE places (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 120),
    category   text NOT NULL CHECK (category IN
                   ('airport', 'station', 'hotel', 'hospital', 'venue', 'depot', 'landmark', 'other')),
    address    text NOT NULL DEFAULT '' CHECK (char_length(address) <= 300),
    lat        double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lng        double precision NOT NULL CHECK (lng BETWEEN -180 AND 180),
    aliases    text[] NOT NULL DEFAULT '{}' CHECK (cardinality(aliases) <= 20),
    active     boolean NOT NULL DEFAULT true,
    -- What search matches: the name and every alias, lower case (kept by the trigger below, so
    -- no writer can forget it; array_to_string is not immutable, so no generated column).
    search     text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- One place per name (whatever its case): search results and ride labels must not be ambiguous,
-- and an import updates the place it names instead of adding a twin.
CREATE UNIQUE INDEX places_name_key ON places (lower(name));
-- Typo-tolerant and prefix search (word_similarity's <% and ILIKE both use it).
CREATE INDEX places_search_trgm ON places USING gin (search gin_trgm_ops);

CREATE FUNCTION places_search_text() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search := lower(NEW.name || ' ' || array_to_string(NEW.aliases, ' '));
    RETURN NEW;
END
$$;

CREATE TRIGGER places_search BEFORE INSERT OR UPDATE OF name, aliases ON places
    FOR EACH ROW EXECUTE FUNCTION places_search_text();

-- Where rides keep coordinates, the name they were given: the place or address the rider chose,
-- else the nearest place (or the geocoder's answer), so every screen can say "Alexanderplatz, 60 m".
ALTER TABLE quotes ADD COLUMN pickup_label text, ADD COLUMN dropoff_label text;
ALTER TABLE bookings ADD COLUMN pickup_label text, ADD COLUMN dropoff_label text;
